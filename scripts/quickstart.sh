#!/bin/sh
# The README's first command: installs missing packages, builds, and runs the
# example job (examples/linear-regression.json) against a daemon rooted in ./demo.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/install-deps.sh
swift build
bin=$(swift build --show-bin-path)

# The example names its files under /usr/share/trainingd (where `make install`
# puts them); point it at this checkout instead.
mkdir -p demo
sed -e "s#/usr/share/trainingd/examples#$repo/examples#g" \
    -e "s#file:///var/lib/trainingd/#file://$repo/demo/#g" \
    examples/linear-regression.json > demo/linear-regression.json

"$bin/jobctl" validate demo/linear-regression.json
echo "The definition is valid; this is the job trainingd will run:"
cat demo/linear-regression.json
