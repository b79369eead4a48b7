#!/bin/sh
# Runs every benchmark on this machine, each with its baseline (the spawn limit, a peer or a
# standard tool) in the same invocation, and rewrites bench/RESULTS.md. The results it replaces
# are kept as bench/history/<the date they were produced>.md, so progress shows; each section's
# standing analysis (why a figure is what it is, the profile of a missed target) is kept in
# bench/notes/<section>.md and printed under the section's new figures.
# Not part of .ci/run: it takes about 20 minutes, needs root for the Slurm comparison and the
# sized volumes, and about 3 GiB of free disk under bench/out/. Everything it starts (daemons,
# Slurm, munge, moto) is stopped before it ends, and bench/out/ removed unless a benchmark failed
# (its log is left there).
set -eu
cd "$(dirname "$0")/.."
began=$(date +%s)
scripts/install-deps.sh --bench
scripts/test-tools.sh
# The release build as `make release` makes it (scripts/release-flags.sh).
release=$(scripts/release-flags.sh)
# shellcheck disable=SC2086 # the flags are words
swift build $release
# shellcheck disable=SC2086
bin=$(swift build $release --show-bin-path)
out=bench/out
# Job volumes (sized file systems, loop-mounted) a benchmark's daemon left behind go before the files.
detach_mounts() {
    awk -v under="$PWD/$out/" 'index($5, under) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r point; do
        umount -l "$point" || true
    done
}
detach_mounts
rm -rf "$out"
mkdir -p "$out"
sections=""
failed=""
durations=""

# section NAME COMMAND...: runs a benchmark, its markdown in $out/NAME.md. One that fails is
# reported in its section (and the run ends with status 1) rather than ending the run.
section() {
    name=$1
    shift
    echo "bench/run.sh: $name" >&2
    started=$(date +%s)
    if ! "$@" > "$out/$name.md" 2> "$out/$name.log"; then
        cat "$out/$name.log" >&2
        { echo "## $name: FAILED"; echo; echo "\`$*\` failed; its last lines:"; echo; echo '```'; tail -15 "$out/$name.log"; echo '```'; } > "$out/$name.md"
        failed="$failed $name"
    fi
    sections="$sections $name"
    durations="$durations $name:$(( $(date +%s) - started ))"
}

section latency python3 bench/submit_latency.py --bin "$bin" --work "$out/latency" --jobs "${JOBS:-100}"
# The same without per-host cgroups and sized volumes ([limits] cgroups and volume_size "none"): what they cost a start.
section latency-unlimited sh -c "python3 bench/submit_latency.py --bin '$bin' --work '$out/latency-unlimited' --jobs '${JOBS:-100}' \
    --config-extra '[limits]\ncgroups = \"none\"\nvolume_size = \"none\"' | sed -e 's/^## Submit-to-exec and submit-to-Completed latency (no-data job)/### The same with [limits] cgroups and volume_size \"none\"/'"
# The same with VolumeSizeInGB, which SageMaker's API requires of every definition: each host's
# volume is a loop-mounted ext4 of that size (docs/configuration.md, "Limits").
section latency-sized-volume sh -c "python3 bench/submit_latency.py --bin '$bin' --work '$out/latency-sized-volume' --jobs '${JOBS:-100}' --volume-size-gb 1 \
    | sed -e 's/^## Submit-to-exec and submit-to-Completed latency (no-data job)/### The same with VolumeSizeInGB = 1 (a sized volume: a loop-mounted ext4)/'"
# The same with the kernel's expedited RCU grace periods (docs/configuration.md, "Limits"), put back after.
section latency-expedited sh -c "python3 bench/submit_latency.py --bin '$bin' --work '$out/latency-expedited' --jobs '${JOBS:-100}' --rcu-expedited \
    | sed -e 's/^## Submit-to-exec and submit-to-Completed latency (no-data job)/### The same with \/sys\/kernel\/rcu_expedited = 1/'"
section keeper python3 bench/keeper_start.py --bin "$bin"
section slurm python3 bench/slurm_compare.py --bin "$bin" --work "$out/slurm"
section intake python3 bench/intake_api.py --bin "$bin" --work "$out/intake" --files "${INTAKE_FILES:-10000}"
section packaging python3 bench/packaging.py --bin "$bin" --work "$out/packaging" --gib "${GIB:-1}" --rounds "${PACKAGING_ROUNDS:-2}"
section staging env ROUNDS="${ROUNDS:-5}" python3 bench/staging.py --bin "$bin" --work "$out/staging" --gib "${GIB:-1}"
section pipe python3 bench/pipe_throughput.py --bin "$bin" --work "$out/pipe"
section s3 python3 bench/s3_transfer.py --bin "$bin" --work "$out/s3" --gib "${GIB:-1}"
section images python3 bench/image_start.py --bin "$bin" --work "$out/images" --jobs "${IMAGE_JOBS:-50}"
section checkpoints python3 bench/checkpoint_sync.py --bin "$bin" --work "$out/checkpoints"
section api python3 bench/api_latency.py --bin "$bin" --work "$out/api" --jobs "${API_JOBS:-100000}" --requests 2000
section logs python3 bench/log_readers_memory.py --bin "$bin" --work "$out/logs"
section queue python3 bench/queue_scale.py --bin "$bin" --work "$out/queue" --sizes 100,1000 --wide-slots 8 --wide-jobs 1000 --disk-only
section scheduler sh -c "echo '## Scheduling decision time with a long queue (100 owners, mixed sizes)'; echo; \
    echo 'Command: \`BIN/trainingd-bench-scheduler --queued 1000,10000,100000 --baseline 100 --rounds 20000\` (from \`bench/run.sh\`)'; echo; \
    '$bin/trainingd-bench-scheduler' --queued 1000,10000,100000 --baseline 100 --rounds 20000"

# The results being replaced go to bench/history/, under the date they were produced.
if [ -f bench/RESULTS.md ]; then
    produced=$(sed -n 's/^Produced by `bench\/run.sh` on \([0-9-]*\).*/\1/p' bench/RESULTS.md | head -1)
    [ -n "$produced" ] || produced=$(git log -1 --format=%ad --date=short -- bench/RESULTS.md 2>/dev/null || true)
    [ -n "$produced" ] || produced=$(date -u +%Y-%m-%d)
    mkdir -p bench/history
    kept="bench/history/$produced.md"
    n=2
    while [ -e "$kept" ]; do kept="bench/history/$produced-$n.md"; n=$((n + 1)); done
    cp bench/RESULTS.md "$kept"
fi
{
    echo "# Benchmark results"
    echo
    echo "Produced by \`bench/run.sh\` on $(date -u +%Y-%m-%d) in $(( ($(date +%s) - began) / 60 )) minutes: $(nproc) cores, $(uname -sr), release build"
    echo "(\`JOBS=${JOBS:-100} GIB=${GIB:-1} INTAKE_FILES=${INTAKE_FILES:-10000} API_JOBS=${API_JOBS:-100000}\`). Each figure is a ratio against"
    echo "the named baseline, run in the same invocation. Earlier results: [bench/history/](history/)."
    echo
    echo "Where the harness's time went (issue 17: under 20 minutes in all), seconds per section:"
    echo "$durations" | tr ' ' '\n' | sed -n 's/^\(.*\):\(.*\)$/\1 \2/p' | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "." }'
    for name in $sections; do
        echo
        cat "$out/$name.md"
        if [ -f "bench/notes/$name.md" ]; then
            echo
            cat "bench/notes/$name.md"
        fi
    done
    echo
    echo "## Earlier results"
    echo
    for kept in $(ls bench/history/*.md 2>/dev/null | sort -r); do
        echo "- [$(basename "$kept" .md)](history/$(basename "$kept"))"
    done
} > "$out/RESULTS.md"
mv "$out/RESULTS.md" bench/RESULTS.md
cat bench/RESULTS.md
detach_mounts
if [ -n "$failed" ]; then
    echo "bench/run.sh: failed:$failed (their logs are in $out/)" >&2
    exit 1
fi
rm -rf "$out"
