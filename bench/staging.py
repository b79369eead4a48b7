#!/usr/bin/env python3
"""File-mode staging of a data set against `cp -r` of the same data, on the same disk.

trainingd: the staging worker (`trainingd _worker stage`), the code that copies a File-mode
channel into a job's volume, with the request the daemon would write. Baseline: `cp -r`.
Each runs ROUNDS times (default 7), alternating which goes first, with `sync` and a
page-cache drop (when root) before each run. A run is timed until its copy is durable
(a `sync` after the copy is inside the timing), because without it a single copy on this
virtual disk varies by 2-5x with the writeback of earlier runs. Medians are compared; the
best runs are shown too.
"""
import argparse, json, os, shutil, statistics, subprocess, time


def drop_caches():
    subprocess.run(["sync"])
    if os.geteuid() == 0:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    data = root + "/data/train"
    os.makedirs(data)
    total = int(args.gib * (1 << 30))
    file_size = 16 << 20
    block = os.urandom(1 << 20)
    for i in range(max(1, total // file_size)):
        with open("%s/part-%04d.bin" % (data, i), "wb") as f:
            for _ in range(file_size >> 20):
                f.write(block)
    trainingd_times, cp_times = [], []

    def run_trainingd(attempt):
        volume = "%s/volume-%d" % (root, attempt)
        request = {
            "volume": {"root": volume},
            "configFiles": {},
            "copiedChannels": [{"name": "train", "source": {"prefix": {"_0": data + "/"}}, "distribution": "FullyReplicated", "rank": 0, "hostCount": 1}],
            "mountPoints": [], "readableDirectories": [], "pipeChannels": [], "awaitedMounts": [],
            "locations": {"buckets": {"directories": {}}, "bucketS3": {}},
        }
        os.makedirs(volume)  # the daemon makes the volume before it stages into it
        with open(root + "/request.json", "w") as f:
            json.dump(request, f)
        # The worker writes its result into a file that exists (the daemon makes it; a worker cannot create files in .work).
        open(root + "/result.json", "w").close()
        drop_caches()
        start = time.monotonic()
        subprocess.run([args.bin + "/trainingd", "_worker", "stage", root + "/request.json", root + "/result.json"], check=True)
        subprocess.run(["sync"])
        trainingd_times.append(time.monotonic() - start)
        result = json.load(open(root + "/result.json"))
        if not result.get("ok"):
            raise SystemExit("staging failed: %s" % result)
        shutil.rmtree(volume)

    def run_cp(attempt):
        drop_caches()
        start = time.monotonic()
        subprocess.run(["cp", "-r", data, "%s/cp-%d" % (root, attempt)], check=True)
        subprocess.run(["sync"])
        cp_times.append(time.monotonic() - start)
        shutil.rmtree("%s/cp-%d" % (root, attempt))

    rounds = int(os.environ.get("ROUNDS", "7"))
    for attempt in range(rounds):
        for run in ((run_trainingd, run_cp) if attempt % 2 == 0 else (run_cp, run_trainingd)):
            run(attempt)
    median, baseline = statistics.median(trainingd_times), statistics.median(cp_times)
    gib = total / float(1 << 30)
    print("## File-mode staging of %.2f GiB (%d files of 16 MiB), until durable" % (gib, total // file_size))
    print()
    print("Command: `python3 bench/staging.py --bin BIN --work bench/out/staging --gib %g` (from `bench/run.sh`)" % args.gib)
    print()
    print("| | median of %d (s) | best (s) | median throughput (MiB/s) |" % rounds)
    print("|---|---|---|---|")
    print("| trainingd staging worker | %.3f | %.3f | %.0f |" % (median, min(trainingd_times), total / median / (1 << 20)))
    print("| baseline: cp -r | %.3f | %.3f | %.0f |" % (baseline, min(cp_times), total / baseline / (1 << 20)))
    print("| ratio (throughput trainingd / cp -r) | %.2fx | %.2fx | |" % (baseline / median, min(cp_times) / min(trainingd_times)))
    print()
    print("Target: at least 0.9x cp -r (medians): %s." % ("met" if baseline / median >= 0.9 else "NOT met"))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
