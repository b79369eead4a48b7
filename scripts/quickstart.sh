#!/bin/sh
# The README's first command: installs missing packages, builds, starts trainingd on
# ./demo and runs the example job (examples/linear-regression.json) through the spool.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
demo="$repo/demo"

scripts/install-deps.sh
swift build
bin=$(swift build --show-bin-path)

# The example's program is under /usr/share/trainingd (where `make install` puts it): point it
# at this checkout. Its data and outputs are s3:// locations, served from local buckets: with
# --root, bucket NAME is the directory demo/buckets/NAME (docs/configuration.md, [buckets]).
mkdir -p "$demo/buckets/trainingd-output"
ln -sfn "$repo/examples" "$demo/buckets/trainingd-examples"
sed -e "s#/usr/share/trainingd/examples#$repo/examples#g" examples/linear-regression.json > "$demo/linear-regression.json"
"$bin/jobctl" validate "$demo/linear-regression.json"

# A development machine: each host needs a quarter of its instance type's vCPUs and memory (the
# example's ml.m5.large: half a CPU and 2 GiB), so the example runs on a small machine too.
cat > "$demo/trainingd.conf" <<'CONF'
[capacity]
instance_scale = 0.25
CONF
"$bin/trainingd" --root "$demo" --config "$demo/trainingd.conf" 2>>"$demo/trainingd.log" &
daemon=$!
# Each host's volume is a file system of its own (VolumeSizeInGB), mounted while the daemon keeps
# it: once the daemon is gone, detach it too, so that ./demo can be removed like any directory.
detach_volumes() {
    awk -v prefix="$demo/jobs/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r point; do umount -l "$point" 2>/dev/null || true; done
}
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true; detach_volumes' EXIT
sleep 1
kill -0 $daemon 2>/dev/null || { cat "$demo/trainingd.log"; exit 1; }

# Job names are unique: each run of this script submits a new one.
job="linear-regression-$(date +%s)"
artifact="$demo/buckets/trainingd-output/$job/output/model.tar.gz"
# Submitting is dropping the definition into the spool (a rename, so it is never seen half-written).
sed "s#\"linear-regression-example\"#\"$job\"#" "$demo/linear-regression.json" > "$demo/spool/incoming/.$job.json"
mv "$demo/spool/incoming/.$job.json" "$demo/spool/incoming/$job.json"
echo "submitted $job; waiting for it to finish..."
for _ in $(seq 1 600); do
    [ -e "$artifact" ] && break
    if [ -e "$demo/spool/rejected/$job.json.error.json" ]; then cat "$demo/spool/rejected/$job.json.error.json"; exit 1; fi
    sleep 0.2
done
[ -e "$artifact" ] || { echo "no model after 120 s; see $demo/trainingd.log and $demo/logs/$job/"; exit 1; }
echo "--- the algorithm's log ($demo/logs/$job/algo-1.log), last lines:"
tail -n 3 "$demo/logs/$job/algo-1.log"
echo "--- the model: $artifact"
tar -xzOf "$artifact" ./model.json; echo
