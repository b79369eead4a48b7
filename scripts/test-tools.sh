#!/bin/sh
# Installs what the end-to-end tests run besides trainingd itself, into .build/test-tools/:
# AWS's sagemaker-training toolkit (PyPI), in a virtual environment of the system's python3,
# for the test that runs an SDK-style job through the toolkit's `train` entry point.
# Idempotent: does nothing when the environment is there already.
set -eu
cd "$(dirname "$0")/.."
venv=.build/test-tools/sagemaker-training
version=5.1.4
if [ -x "$venv/bin/train" ] && [ "$(cat "$venv/.version" 2>/dev/null)" = "$version" ]; then exit 0; fi
rm -rf "$venv"
mkdir -p .build/test-tools
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "sagemaker-training==$version"
echo "$version" > "$venv/.version"
echo "installed sagemaker-training $version in $venv"
