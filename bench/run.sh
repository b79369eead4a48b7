#!/bin/sh
# Runs every benchmark on this machine, in one invocation, and rewrites bench/RESULTS.md.
# Not part of .ci/run: it takes minutes and needs about 3 GiB of free disk under bench/out/.
set -eu
cd "$(dirname "$0")/.."
swift build -c release
bin=$(swift build -c release --show-bin-path)
out=bench/out
rm -rf "$out"
mkdir -p "$out"
python3 bench/submit_latency.py --bin "$bin" --work "$out/latency" --jobs "${JOBS:-200}" > "$out/latency.md"
# The same without per-host cgroups and sized volumes ([limits] cgroups and volume_size "none"): what they cost a start.
python3 bench/submit_latency.py --bin "$bin" --work "$out/latency-unlimited" --jobs "${JOBS:-200}" \
    --config-extra '[limits]\ncgroups = "none"\nvolume_size = "none"' | sed -e 's/^## Submit-to-exec latency (no-data job, through the spool)/### The same with [limits] cgroups and volume_size "none"/' > "$out/latency-unlimited.md"
ROUNDS="${ROUNDS:-7}" python3 bench/staging.py --bin "$bin" --work "$out/staging" --gib "${GIB:-1}" > "$out/staging.md"
python3 bench/api_latency.py --bin "$bin" --work "$out/api" --jobs "${API_JOBS:-100000}" --requests 2000 > "$out/api.md"
python3 bench/checkpoint_sync.py --bin "$bin" --work "$out/checkpoints" > "$out/checkpoints.md"
python3 bench/log_readers_memory.py --bin "$bin" --work "$out/logs" > "$out/logs.md"
python3 bench/queue_scale.py --bin "$bin" --work "$out/queue" > "$out/queue.md"
python3 bench/keeper_start.py --bin "$bin" > "$out/keeper.md"
python3 bench/pipe_throughput.py --bin "$bin" --work "$out/pipe" > "$out/pipe.md"
{
    echo "## Scheduling decision time with a long queue (100 owners, mixed sizes)"
    echo
    echo "Command: \`$bin/trainingd-bench-scheduler --queued 1000,10000,100000 --baseline 100 --rounds 20000\` (from \`bench/run.sh\`)"
    echo
    "$bin/trainingd-bench-scheduler" --queued 1000,10000,100000 --baseline 100 --rounds 20000
} > "$out/scheduler.md"
python3 bench/image_start.py --bin "$bin" --work "$out/images" --jobs "${IMAGE_JOBS:-50}" > "$out/images.md"
scripts/test-tools.sh
python3 bench/s3_transfer.py --bin "$bin" --work "$out/s3" --gib "${GIB:-1}" > "$out/s3.md"
{
    echo "# Benchmark results"
    echo
    echo "Produced by \`bench/run.sh\` (\`JOBS=${JOBS:-200} GIB=${GIB:-1} API_JOBS=${API_JOBS:-100000}\`) on $(date -u +%Y-%m-%d), $(nproc) cores,"
    echo "$(uname -sr), release build. Each figure is a ratio against the named baseline, run in the same invocation."
    echo
    cat "$out/latency.md"
    echo
    cat "$out/latency-unlimited.md"
    echo
    cat "$out/staging.md"
    echo
    cat "$out/api.md"
    echo
    cat "$out/checkpoints.md"
    echo
    cat "$out/logs.md"
    echo
    cat "$out/queue.md"
    echo
    cat "$out/scheduler.md"
    echo
    cat "$out/keeper.md"
    echo
    cat "$out/images.md"
    echo
    cat "$out/pipe.md"
    echo
    cat "$out/s3.md"
} > bench/RESULTS.md
cat bench/RESULTS.md
