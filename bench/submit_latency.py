#!/usr/bin/env python3
"""Submit-to-exec and submit-to-Completed latency of a no-data job, through each door, against
spawning the same command.

trainingd, one job at a time, through the spool (from the rename of a definition into
spool/incoming/), the socket (from the CreateTrainingJob request on a connection already open)
and `jobctl submit` (from its spawn): until the algorithm's first command runs (it writes
CLOCK_REALTIME in nanoseconds), and until the job's status is Completed in the database
(its LastModifiedTime, read back with DescribeTrainingJob). Baseline: from posix_spawn of the
same script, with the same environment size, to the same moment.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, time
from benchlib import UnixConnection, call, definition, percentile, submit_to_spool, wait_for_daemon


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


def wait_for_completed(connection, name, timeout=30.0):
    """The job's LastModifiedTime (ns) once DescribeTrainingJob says Completed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        _, job = call(connection, "SageMaker.DescribeTrainingJob", {"TrainingJobName": name})
        if job["TrainingJobStatus"] == "Completed":
            return int(job["LastModifiedTime"] * 1e9)
        if job["TrainingJobStatus"] in ("Failed", "Stopped"):
            raise SystemExit("%s ended %s: %s" % (name, job["TrainingJobStatus"], job.get("FailureReason")))
        time.sleep(0.002)
    raise SystemExit("timed out waiting for %s to complete" % name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--doors", default="spool,socket,jobctl", help="how jobs are submitted, in order: spool, socket, jobctl")
    parser.add_argument("--rcu-expedited", action="store_true",
                        help="run with /sys/kernel/rcu_expedited set to 1 (root; the earlier value is put back)")
    parser.add_argument("--volume-size-gb", type=int, default=0,
                        help="give each definition ResourceConfig.VolumeSizeInGB (as SageMaker's API requires): a sized volume, a loop-mounted ext4, per host")
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

    expedited = "/sys/kernel/rcu_expedited"
    earlier = open(expedited).read().strip() if args.rcu_expedited else None
    if args.rcu_expedited:
        with open(expedited, "w") as f:
            f.write("1")
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root + "/r", "--config", root + "/trainingd.conf"],
                              stderr=open(root + "/daemon.log", "w"))
    doors = [door for door in args.doors.split(",") if door]
    exec_latencies = {door: [] for door in doors}
    done_latencies = {door: [] for door in doors}
    extra = {"Environment": {"MARK_DIR": root + "/marks"}}
    if args.volume_size_gb:
        extra["ResourceConfig"] = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": args.volume_size_gb}
    try:
        wait_for_daemon(root + "/r/control.sock", root + "/daemon.log")
        time.sleep(0.5)
        connection = UnixConnection(root + "/r/control.sock")
        for door in doors:
            for i in range(args.jobs + 5):
                name = "%s-%d" % (door, i)
                if door == "spool":
                    temporary, final = submit_to_spool(root, name, script, extra)
                    start = time.time_ns()
                    os.rename(temporary, final)
                elif door == "socket":
                    body = definition(root, name, script, extra)
                    start = time.time_ns()
                    call(connection, "SageMaker.CreateTrainingJob", body)
                else:
                    path = "%s/%s.json" % (root, name)
                    with open(path, "w") as f:
                        json.dump(definition(root, name, script, extra), f)
                    start = time.time_ns()
                    subprocess.run([args.bin + "/jobctl", "--socket", root + "/r/control.sock", "submit", path],
                                   check=True, stdout=subprocess.DEVNULL)
                stamped = wait_for("%s/marks/%s" % (root, name))
                completed = wait_for_completed(connection, name)
                if i >= 5:  # the first few warm the page cache
                    exec_latencies[door].append((stamped - start) / 1e6)
                    done_latencies[door].append((completed - start) / 1e6)
                time.sleep(0.05)  # let the previous job's volume go, so each one finds a free slot
        connection.close()
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
        if earlier is not None:
            with open(expedited, "w") as f:
                f.write(earlier)

    b50, b99 = percentile(baseline, 50), percentile(baseline, 99)
    described = {"spool": "spool rename", "socket": "CreateTrainingJob on the socket", "jobctl": "`jobctl submit` spawned"}
    limits = {"spool": 5, "socket": 5, "jobctl": 8}
    print("## Submit-to-exec and submit-to-Completed latency (no-data job)")
    print()
    extra_flag = ((" --rcu-expedited" if args.rcu_expedited else "") + (" --volume-size-gb %d" % args.volume_size_gb if args.volume_size_gb else "")
                  + (" --config-extra '%s'" % args.config_extra if args.config_extra else ""))
    print("Command: `python3 bench/submit_latency.py --bin BIN --work %s --jobs %d --doors %s%s` (from `bench/run.sh`)"
          % (args.work, args.jobs, args.doors, extra_flag))
    print()
    print("| from | until | p50 (ms) | p99 (ms) | mean (ms) | p50 / spawn |")
    print("|---|---|---|---|---|---|")
    for door in doors:
        values = exec_latencies[door]
        print("| trainingd: %s | the algorithm runs | %.2f | %.2f | %.2f | %.2fx |"
              % (described[door], percentile(values, 50), percentile(values, 99), statistics.mean(values), percentile(values, 50) / b50))
    for door in doors:
        values = done_latencies[door]
        print("| trainingd: %s | Completed | %.2f | %.2f | %.2f | %.2fx |"
              % (described[door], percentile(values, 50), percentile(values, 99), statistics.mean(values), percentile(values, 50) / b50))
    print("| baseline: spawn the same script directly | it runs | %.2f | %.2f | %.2f | 1.00x |" % (b50, b99, statistics.mean(baseline)))
    print()
    verdicts = ["%s to exec p50 under %d ms: %s (%.2f ms)" % (door, limits[door], "met" if percentile(exec_latencies[door], 50) < limits[door] else "NOT met",
                                                              percentile(exec_latencies[door], 50)) for door in doors]
    done = percentile(done_latencies[doors[0]], 50)
    verdicts.append("%s to Completed p50 under 10 ms: %s (%.2f ms)" % (doors[0], "met" if done < 10 else "NOT met", done))
    print("Targets of issue 17, over %d jobs each: %s." % (args.jobs, "; ".join(verdicts)))


if __name__ == "__main__":
    main()
