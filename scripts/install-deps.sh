#!/bin/sh
# Installs the Debian packages trainingd needs to build, test and run, if any are missing.
# Swift itself (6.x) must already be on PATH: it is not a Debian package.
set -eu

packages="pkg-config libsqlite3-dev libsystemd-dev zlib1g-dev libdeflate-dev systemd python3 python3-venv python3-dev util-linux e2fsprogs curl gcc libc6-dev rclone fuse3 podman buildah busybox-static mmdebstrap"
# e2fsprogs: mkfs.ext4 makes each job host's volume a file system of VolumeSizeInGB.
# rclone and fuse3: FastFile channels on an S3 endpoint are mounted (fetched when read); without them they are downloaded.
# podman: lists the container images of root's containers-storage (docs/images.md); buildah, busybox-static
# and mmdebstrap build the images the tests run (no registry needed).
# --bench: also the benchmarks' baselines (bench/run.sh): pigz for packaging, and a single-node Slurm
# (slurmctld, slurmd, munge) that bench/slurm_compare.py starts on ports and sockets of its own. On a
# systemd machine Debian enables these packages' own services; the benchmark neither uses nor stops them.
# runc: `podman run`, the image benchmark's peer (crun refuses a machine with v1 controllers).
if [ "${1:-}" = "--bench" ]; then
    packages="$packages pigz slurmctld slurmd slurm-client munge runc"
fi
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH; install Swift 6 from swift.org first" >&2; exit 1; }
