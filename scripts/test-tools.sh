#!/bin/sh
# Installs what the tests run besides trainingd itself, into .build/test-tools/, each in a
# virtual environment of the system's python3 (PyPI): AWS's sagemaker-training toolkit, for the
# test that runs an SDK-style job through its `train` entry point; moto's S3-compatible
# server, which the object-store tests start on 127.0.0.1 with signature checking on; and the
# AWS CLI and the SageMaker Python SDK (with its boto3), which the TCP API's tests drive.
# Idempotent: does nothing when the environments are there already.
set -eu
cd "$(dirname "$0")/.."
# install NAME PROGRAM REQUIREMENT: a venv .build/test-tools/NAME holding REQUIREMENT, checked by bin/PROGRAM.
install() {
    venv=.build/test-tools/$1
    if [ -x "$venv/bin/$2" ] && [ "$(cat "$venv/.version" 2>/dev/null)" = "$3" ]; then return 0; fi
    rm -rf "$venv"
    mkdir -p .build/test-tools
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$3"
    echo "$3" > "$venv/.version"
    echo "installed $3 in $venv"
}
install sagemaker-training train "sagemaker-training==5.1.4"
install moto moto_server "moto[server]==5.2.5"
install awscli aws "awscli==1.46.3"
install sagemaker python "sagemaker==2.257.7"
