#!/usr/bin/env python3
"""Submit-to-exec latency of a no-data job through the spool, against spawning the same command.

trainingd: time from the rename of a definition into spool/incoming/ to the moment the
algorithm's first command runs (it writes CLOCK_REALTIME in nanoseconds). Baseline: time
from posix_spawn of the same script, with the same environment size, to the same moment.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, time
from benchlib import percentile, submit_to_spool


def wait_for(path, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    raise SystemExit("timed out waiting for %s" % path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--config-extra", default="", help="TOML appended to the daemon's configuration (e.g. '[limits]\\nvolume_size = \"none\"')")
    args = parser.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root + "/marks")
    script = root + "/stamp.sh"
    with open(script, "w") as f:
        f.write('#!/bin/sh\ndate +%s%N > "$MARK_DIR/$TRAINING_JOB_NAME"\n')
    os.chmod(script, 0o755)
    with open(root + "/trainingd.conf", "w") as f:
        f.write("[jobs]\nmax_concurrent = 2\nstop_grace_period_seconds = 5\nvolume_retention_seconds = 0\n")
        f.write(args.config_extra.replace("\\n", "\n") + "\n")

    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root + "/r", "--config", root + "/trainingd.conf"],
                              stderr=open(root + "/daemon.log", "w"))
    try:
        while not os.path.isdir(root + "/r/spool/incoming"):
            time.sleep(0.05)
        time.sleep(0.5)
        latencies = []
        for i in range(args.jobs + 5):
            name = "bench-%d" % i
            temporary, final = submit_to_spool(root, name, script, {"Environment": {"MARK_DIR": root + "/marks"}})
            start = time.time_ns()
            os.rename(temporary, final)
            stamped = wait_for("%s/marks/%s" % (root, name))
            if i >= 5:  # the first few warm the page cache
                latencies.append((stamped - start) / 1e6)
            time.sleep(0.05)  # let the previous job finish, so each one finds a free slot
        baseline = []
        environment = dict(os.environ, MARK_DIR=root + "/marks")
        for i in range(args.jobs + 5):
            environment["TRAINING_JOB_NAME"] = "base-%d" % i
            start = time.time_ns()
            child = subprocess.Popen([script], env=environment, close_fds=True)
            stamped = wait_for("%s/marks/base-%d" % (root, i))
            child.wait()
            if i >= 5:
                baseline.append((stamped - start) / 1e6)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()

    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    b50, b99 = percentile(baseline, 50), percentile(baseline, 99)
    print("## Submit-to-exec latency (no-data job, through the spool)")
    print()
    extra = " --config-extra '%s'" % args.config_extra if args.config_extra else ""
    print("Command: `python3 bench/submit_latency.py --bin BIN --work %s --jobs %d%s` (from `bench/run.sh`)" % (args.work, args.jobs, extra))
    print()
    print("| | p50 (ms) | p99 (ms) | mean (ms) |")
    print("|---|---|---|---|")
    print("| trainingd: spool rename -> algorithm runs | %.2f | %.2f | %.2f |" % (p50, p99, statistics.mean(latencies)))
    print("| baseline: spawn the same script directly | %.2f | %.2f | %.2f |" % (b50, b99, statistics.mean(baseline)))
    print("| ratio trainingd / baseline | %.2fx | %.2fx | |" % (p50 / b50, p99 / b99))
    print()
    print("Target: p50 under 20 ms: %s (%.2f ms over %d jobs)." % ("met" if p50 < 20 else "NOT met", p50, len(latencies)))


if __name__ == "__main__":
    main()
