#!/usr/bin/env python3
"""Control API latency while the spool takes in a flood of definitions.

A daemon (defaults: 2 slots, per-host cgroups and sized volumes) is started, --files trivial
definitions (/bin/true) are prepared, then renamed into spool/incoming/ at once. One client, on
a connection kept open, sends requests back to back in turn: Trainingd.Ping, DescribeTrainingJob
of a job that exists, ListTrainingJobs (MaxResults 10) and CreateTrainingJob of a new job. Each
answer's latency is recorded against whether the intake was still under way (a file left in
incoming/ or .claimed/). Baseline: the same requests, the same way, on the same daemon before
the flood. Also reported: the intake's rate, and how many jobs completed while it lasted (the
queue keeps moving).

The daemon is drained at the end (`jobctl drain`): running jobs are interrupted, and every
process it started ends with it.
"""
import argparse, json, os, shutil, sqlite3, subprocess, time
from benchlib import UnixConnection, call, definition, percentile, wait_for_daemon

KINDS = [
    ("Ping", "Trainingd.Ping"),
    ("DescribeTrainingJob", "SageMaker.DescribeTrainingJob"),
    ("ListTrainingJobs (10)", "SageMaker.ListTrainingJobs"),
    ("CreateTrainingJob", "SageMaker.CreateTrainingJob"),
]


def requests(connection, root, created, latencies, until):
    """Requests in turn until `until()` says stop; latencies[kind] gets each answer's."""
    turn = 0
    while not until():
        label, target = KINDS[turn % len(KINDS)]
        if target == "SageMaker.DescribeTrainingJob":
            body = {"TrainingJobName": "first"}
        elif target == "SageMaker.ListTrainingJobs":
            body = {"MaxResults": 10}
        elif target == "SageMaker.CreateTrainingJob":
            created.append("api-%d" % len(created))
            body = definition(root, created[-1], "/bin/true")
        else:
            body = {}
        elapsed, _ = call(connection, target, body)
        latencies.setdefault(label, []).append(elapsed)
        turn += 1


def completed(root):
    """How many jobs the database has Completed (read-only, as a reader beside the daemon)."""
    try:
        with sqlite3.connect("file:%s/state/trainingd.db?mode=ro" % root, uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM jobs WHERE status = 'Completed'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def unmount_under(root):
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if line.split()[4].startswith(root + "/")]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    root = os.path.join(work, "r")
    os.makedirs(work + "/prepared")
    os.makedirs(work + "/output")
    with open(work + "/trainingd.conf", "w") as config:
        config.write("[jobs]\nmax_concurrent = 2\nvolume_retention_seconds = 0\n")
    for index in range(args.files):
        name = "flood-%05d" % index
        with open("%s/prepared/%s.json" % (work, name), "w") as f:
            json.dump(definition(work, name, "/bin/true"), f)
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root, "--config", work + "/trainingd.conf"],
                              stderr=open(work + "/daemon.log", "w"))
    idle, flooded, created = {}, {}, []
    try:
        wait_for_daemon(root + "/control.sock", work + "/daemon.log")
        connection = UnixConnection(root + "/control.sock")
        call(connection, "SageMaker.CreateTrainingJob", definition(work, "first", "/bin/true"))
        until = time.time() + args.baseline_seconds
        requests(connection, work, created, idle, lambda: time.time() > until)
        incoming, claimed = root + "/spool/incoming", root + "/spool/.claimed"
        completed_before = completed(root)
        start = time.time()
        for name in sorted(os.listdir(work + "/prepared")):
            os.rename(work + "/prepared/" + name, incoming + "/" + name)
        renamed = time.time()

        def intake_done():
            return not os.listdir(incoming) and not os.listdir(claimed)

        requests(connection, work, created, flooded, intake_done)
        intake_seconds = time.time() - start
        completed_during = completed(root) - completed_before
        accepted = 0
        token = None
        while True:
            body = {"MaxResults": 100, "NameContains": "flood-"}
            if token:
                body["NextToken"] = token
            page = call(connection, "SageMaker.ListTrainingJobs", body)[1]
            accepted += len(page.get("TrainingJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                break
        connection.close()
    finally:
        subprocess.run([args.bin + "/jobctl", "--socket", root + "/control.sock", "drain"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
    if accepted != args.files:
        raise SystemExit("only %d of %d flood files became jobs" % (accepted, args.files))
    print("## Control API latency during a spool flood of %d files" % args.files)
    print()
    print("Command: `python3 bench/intake_api.py --bin BIN --work %s --files %d` (from `bench/run.sh`)" % (args.work, args.files))
    print()
    print("| request | no intake: n | p50 (ms) | p99 (ms) | during the intake: n | p50 (ms) | p99 (ms) | max (ms) | p99 / no intake p99 |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for label, _ in KINDS:
        a, b = idle.get(label, [0.0]), flooded.get(label, [0.0])
        worst = max(worst, percentile(b, 99))
        print("| %s | %d | %.2f | %.2f | %d | %.2f | %.2f | %.2f | %.2fx |" % (
            label, len(a), percentile(a, 50), percentile(a, 99), len(b), percentile(b, 50), percentile(b, 99), max(b),
            percentile(b, 99) / percentile(a, 99)))
    print()
    print("Before the flood (\"no intake\"), for %g s, the same requests on the same daemon; the jobs they created run meanwhile, "
          "as the flood's do during the intake." % args.baseline_seconds)
    print()
    print("The %d files were renamed in %.2f s and taken in within %.2f s (%.0f files/s); every one became a job. "
          "Jobs completed during the intake: %d (the queue keeps moving while it lasts)." % (
              args.files, renamed - start, intake_seconds, args.files / intake_seconds, completed_during))
    print()
    print("Target of issue 17, API p99 under 50 ms during the intake: %s (worst p99 %.2f ms)." % ("met" if worst < 50 else "NOT met", worst))


if __name__ == "__main__":
    main()
