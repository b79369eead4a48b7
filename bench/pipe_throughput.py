#!/usr/bin/env python3
"""Pipe-mode throughput: one epoch of a 2 GiB channel read by a consumer that discards the bytes.

trainingd: a job whose channel `train` is in Pipe mode over one 2 GiB file; its algorithm times
`dd if=/opt/ml/input/data/train_0 of=/dev/null bs=1M` (from its first byte to EOF).
Baseline: `cat FILE > FIFO` into a FIFO of our own, read by the same dd, timed the same way.
Both read the same file from the page cache (it is read once before), in the same run; the
median of ROUNDS rounds is reported, and the ratio trainingd / baseline of throughputs.
"""
import argparse, json, os, shutil, subprocess, time

ROUNDS = int(os.environ.get("ROUNDS", "3"))


def timed_dd(fifo):
    start = time.perf_counter()
    subprocess.run(["dd", "if=" + fifo, "of=/dev/null", "bs=1M"], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def baseline(work, data):
    fifo = os.path.join(work, "baseline.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", 'cat "$0" > "$1"', data, fifo])
    seconds = timed_dd(fifo)
    writer.wait()
    os.unlink(fifo)
    return seconds


def trainingd(bin_dir, work, data, round_number):
    root = os.path.join(work, "root")
    os.makedirs(os.path.join(work, "output"), exist_ok=True)
    script = os.path.join(work, "consume.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nstart=$(date +%s%N)\ndd if=/opt/ml/input/data/train_0 of=/dev/null bs=1M 2>/dev/null\n"
                "end=$(date +%s%N)\necho \"nanoseconds=$((end - start))\"\n")
    os.chmod(script, 0o755)
    name = "pipe-%d" % round_number
    definition = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": script, "TrainingInputMode": "Pipe"},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "file://" + os.path.dirname(data) + "/"}}}],
        "OutputDataConfig": {"S3OutputPath": "file://%s/output/" % work},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(definition, f)
    result = subprocess.run([bin_dir + "/jobctl", "--root", root, "submit", "--wait", path], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("the Pipe job failed: %s %s" % (result.stdout, result.stderr))
    with open(os.path.join(root, "logs", name, "algo-1.log")) as log:
        for line in log:
            if "nanoseconds=" in line:
                return int(line.rsplit("nanoseconds=", 1)[1]) / 1e9
    raise SystemExit("the Pipe job printed no timing; see %s/logs/%s" % (root, name))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--gib", type=float, default=2)
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "data"))
    data = os.path.join(work, "data", "channel.bin")
    size = int(args.gib * (1 << 30))
    with open(data, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    subprocess.run(["cat", data], stdout=subprocess.DEVNULL, check=True)  # into the page cache
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", os.path.join(work, "root")], stderr=open(os.path.join(work, "daemon.log"), "w"))
    try:
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(work, "root", "control.sock")):
            if time.time() > deadline:
                raise SystemExit("the daemon did not start")
            time.sleep(0.05)
        ours, theirs = [], []
        for round_number in range(ROUNDS):
            theirs.append(baseline(work, data))
            ours.append(trainingd(args.bin, work, data, round_number))
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    mib = size / (1 << 20)
    ours_s, theirs_s = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
    print("## Pipe-mode throughput: one epoch of a %.0f GiB channel, read and discarded" % args.gib)
    print()
    print("Command: `python3 bench/pipe_throughput.py --bin BIN --work bench/out/pipe --gib %g` (from `bench/run.sh`)" % args.gib)
    print()
    print("| | median of %d (s) | throughput (MiB/s) |" % ROUNDS)
    print("|---|---|---|")
    print("| trainingd Pipe mode (`<channel>_0` read by dd) | %.3f | %.0f |" % (ours_s, mib / ours_s))
    print("| baseline: `cat file > fifo`, read by the same dd | %.3f | %.0f |" % (theirs_s, mib / theirs_s))
    print("| ratio (throughput trainingd / baseline) | | %.2fx |" % (theirs_s / ours_s))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
