#!/usr/bin/env python3
"""Control API latency with a large database: DescribeTrainingJob and ListTrainingJobs
(MaxResults 100) p50/p99 with 1 and with 32 concurrent clients, each against a no-op
request (Trainingd.Ping) on the same socket in the same run.

The database is seeded with JOBS ended jobs through the store library
(trainingd-bench-seed), then the daemon is started on it. Each client keeps one
HTTP/1.1 connection open (keep-alive), as a long-lived tool would.
"""
import argparse, os, random, shutil, signal, subprocess, threading, time
from benchlib import UnixConnection, call, percentile


def measure(socket_path, clients, requests, jobs, kind):
    latencies = []
    lock = threading.Lock()

    def body(rng):
        if kind == "ping":
            return "Trainingd.Ping", {}
        if kind == "describe":
            return "SageMaker.DescribeTrainingJob", {"TrainingJobName": "bench-job-%06d" % rng.randrange(jobs)}
        return "SageMaker.ListTrainingJobs", {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending"}

    def client(seed):
        rng = random.Random(seed)
        connection = UnixConnection(socket_path)
        mine = []
        for _ in range(requests):
            target, payload = body(rng)
            mine.append(call(connection, target, payload)[0])
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--jobs", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root + "/r/state")
    seeded = subprocess.run([args.bin + "/trainingd-bench-seed", root + "/r/state/trainingd.db", str(args.jobs)],
                            check=True, capture_output=True, text=True).stdout.strip()
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root + "/r"], stderr=open(root + "/daemon.log", "w"))
    socket_path = root + "/r/control.sock"
    try:
        while not os.path.exists(socket_path):
            time.sleep(0.05)
        measure(socket_path, 1, 200, args.jobs, "describe")  # warm the caches
        rows = []
        for clients in (1, 32):
            per_client = max(50, args.requests // clients)
            results = {kind: measure(socket_path, clients, per_client, args.jobs, kind) for kind in ("ping", "describe", "list")}
            rows.append((clients, per_client, results))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
    print("## Control API latency with %d jobs in the database" % args.jobs)
    print()
    print("Command: `python3 bench/api_latency.py --bin BIN --work bench/out/api --jobs %d --requests %d` (from `bench/run.sh`); %s."
          % (args.jobs, args.requests, seeded))
    print()
    print("| clients | request | p50 (ms) | p99 (ms) | p50 / ping | p99 / ping |")
    print("|---|---|---|---|---|---|")
    for clients, per_client, results in rows:
        ping50, ping99 = percentile(results["ping"], 50), percentile(results["ping"], 99)
        for kind, label in (("ping", "Trainingd.Ping (baseline)"), ("describe", "DescribeTrainingJob"), ("list", "ListTrainingJobs, MaxResults 100")):
            p50, p99 = percentile(results[kind], 50), percentile(results[kind], 99)
            print("| %d | %s | %.2f | %.2f | %.2fx | %.2fx |" % (clients, label, p50, p99, p50 / ping50, p99 / ping99))
    one = rows[0][2]
    print()
    print("Targets with 1 client: describe p99 under 5 ms: %s (%.2f ms); list p99 under 20 ms: %s (%.2f ms)." % (
        "met" if percentile(one["describe"], 99) < 5 else "NOT met", percentile(one["describe"], 99),
        "met" if percentile(one["list"], 99) < 20 else "NOT met", percentile(one["list"], 99)))


if __name__ == "__main__":
    main()
