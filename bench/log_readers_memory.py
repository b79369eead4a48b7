#!/usr/bin/env python3
"""The daemon's peak memory while many clients read one large log at once.

For each log size, a job whose algorithm writes that much log is run through the spool;
then READERS clients page through the whole log with Trainingd.GetLogs (following
NextToken) while READERS more stream it with Trainingd.FollowLogs, all at once. The
daemon's peak RSS (VmHWM) is read before the readers start and after they finish.

Baseline: the same run with the small log (SMALL_MB). The figure that matters is the
growth of the peak with the large log as a ratio of that with the small one: about 1x
means the memory does not depend on the size of the log.
"""
import argparse, http.client, json, os, shutil, socket, subprocess, threading, time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=600)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def peak_rss_mib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise SystemExit("no VmHWM for pid %d" % pid)


def get_logs_pages(socket_path, job):
    """Pages through the whole log; returns the bytes of lines received."""
    connection = UnixConnection(socket_path)
    token, received = None, 0
    while True:
        body = {"TrainingJobName": job}
        if token:
            body["NextToken"] = token
        connection.request("POST", "/", json.dumps(body), {"X-Amz-Target": "Trainingd.GetLogs"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            raise SystemExit("GetLogs failed: %s" % answer)
        received += sum(len(line) + 1 for line in answer["Lines"])
        token = answer.get("NextToken")
        if not token or not answer["Lines"]:
            return received


def follow_logs(socket_path, job):
    connection = UnixConnection(socket_path)
    connection.request("POST", "/", json.dumps({"TrainingJobName": job}), {"X-Amz-Target": "Trainingd.FollowLogs"})
    response = connection.getresponse()
    received = 0
    while True:
        chunk = response.read(1 << 16)
        if not chunk:
            return received
        received += len(chunk)


def run(bin_dir, work, megabytes, readers):
    root = os.path.join(work, "log-%dmb" % megabytes)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with open(root + "/trainingd.conf", "w") as config:
        config.write('[jobs]\nlog_cap = "%dMiB"\n' % (4 * megabytes + 8))
    script = root + "/chatty.sh"
    with open(script, "w") as f:
        f.write("#!/bin/sh\nyes 'a line of a training log, as an algorithm prints it: epoch=1 loss=0.25' | head -c %d\n"
                % (megabytes * 1000 * 1000))
    os.chmod(script, 0o755)
    daemon = subprocess.Popen([bin_dir + "/trainingd", "--root", root, "--config", root + "/trainingd.conf"],
                              stderr=open(root + "/daemon.log", "w"))
    socket_path = root + "/control.sock"
    try:
        deadline = time.time() + 30
        while not os.path.exists(socket_path):
            if time.time() > deadline:
                raise SystemExit("the daemon did not start; see %s/daemon.log" % root)
            time.sleep(0.05)
        definition = {
            "TrainingJobName": "chatty",
            "AlgorithmSpecification": {"TrainingImage": script, "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "file://%s/output/" % root},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        }
        with open(root + "/spool/incoming/.chatty.json", "w") as f:
            json.dump(definition, f)
        os.rename(root + "/spool/incoming/.chatty.json", root + "/spool/incoming/chatty.json")
        connection = UnixConnection(socket_path)
        while True:
            connection.request("POST", "/", json.dumps({"TrainingJobName": "chatty"}),
                               {"X-Amz-Target": "SageMaker.DescribeTrainingJob"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            if answer.get("TrainingJobStatus") in ("Completed", "Failed", "Stopped"):
                break
            time.sleep(0.2)
        if answer["TrainingJobStatus"] != "Completed":
            raise SystemExit("the job did not complete: %s" % answer.get("FailureReason"))
        log_bytes = sum(os.path.getsize(p) for p in (root + "/logs/chatty/algo-1.log", root + "/logs/chatty/algo-1.log.1")
                        if os.path.exists(p))
        before = peak_rss_mib(daemon.pid)
        results = []
        lock = threading.Lock()

        def reader(function):
            received = function(socket_path, "chatty")
            with lock:
                results.append(received)

        threads = [threading.Thread(target=reader, args=(get_logs_pages,)) for _ in range(readers)]
        threads += [threading.Thread(target=reader, args=(follow_logs,)) for _ in range(readers)]
        start = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.time() - start
        after = peak_rss_mib(daemon.pid)
        if min(results) < log_bytes * 0.99:
            raise SystemExit("a reader got %d of %d bytes" % (min(results), log_bytes))
        return {"log_mib": log_bytes / 1048576.0, "before": before, "after": after, "growth": after - before,
                "seconds": elapsed}
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--small-mb", type=int, default=5)
    parser.add_argument("--large-mb", type=int, default=50)
    parser.add_argument("--readers", type=int, default=16)
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    small = run(args.bin, work, args.small_mb, args.readers)
    large = run(args.bin, work, args.large_mb, args.readers)
    print("## Daemon memory with %d GetLogs and %d FollowLogs readers of one log at once" % (args.readers, args.readers))
    print()
    print("Command: `python3 bench/log_readers_memory.py --bin BIN --work bench/out/logs --small-mb %d --large-mb %d "
          "--readers %d` (from `bench/run.sh`)" % (args.small_mb, args.large_mb, args.readers))
    print()
    print("| log | peak RSS before (MiB) | peak RSS after (MiB) | growth (MiB) | growth / log size | all readers done (s) |")
    print("|---|---|---|---|---|---|")
    for label, r in (("%.0f MiB (baseline)" % small["log_mib"], small), ("%.0f MiB" % large["log_mib"], large)):
        print("| %s | %.1f | %.1f | %.1f | %.2fx | %.1f |" % (label, r["before"], r["after"], r["growth"],
                                                            r["growth"] / r["log_mib"], r["seconds"]))
    ratio = large["growth"] / small["growth"] if small["growth"] > 0 else float("nan")
    print()
    print("Growth with the %.0f MiB log against the %.0f MiB baseline: %.2fx for %.1fx the log. Every reader "
          "received the whole log (%d readers each way)." % (large["log_mib"], small["log_mib"], ratio,
                                                              large["log_mib"] / small["log_mib"], args.readers))


if __name__ == "__main__":
    main()
