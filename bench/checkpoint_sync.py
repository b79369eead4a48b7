#!/usr/bin/env python3
"""Checkpoint sync latency: from the moment an algorithm finishes a checkpoint file to the
moment its copy at the checkpoint location is durable (fsync'd and renamed into place), for
1 MiB and 256 MiB files, against `cp` + fsync of the same file in the same run.

trainingd: the checkpoint watcher (`trainingd _worker checkpoint-watch`), the process the
daemon runs beside every training host, with the request the daemon writes. Two ways an
algorithm can finish a file are measured:
- renamed into place (written as a temporary file, then renamed; what `torch.save` to a
  temporary name plus `os.replace` does): complete at once;
- written in place: complete once it has stayed closed for the settle time (1 s, the
  daemon's setting), so that a file cut short by a kill is never published.
The latency is taken when the final name appears at the location with the full size (the
watcher renames only after fsync). Baseline: `cp FILE DEST && sync DEST` (coreutils `sync
FILE` is an fsync), timed the same way from the same starting point.
"""
import argparse, json, os, shutil, subprocess, time
from benchlib import percentile


def wait_for(path, size, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.stat(path).st_size == size:
                return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    raise SystemExit("timed out waiting for %s" % path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--rounds-small", type=int, default=50)
    parser.add_argument("--rounds-large", type=int, default=7)
    args = parser.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    local, remote, baseline = root + "/local", root + "/remote", root + "/baseline"
    for directory in (local, remote, baseline):
        os.makedirs(directory)
    status = root + "/algorithm.status"
    request = {"directories": [{"localDirectory": local, "destination": remote, "mirrorsDeletions": True}],
               "algorithmStatusPath": status, "settleSeconds": 1,
               "locations": {"buckets": {"directories": {}}, "bucketS3": {}}}
    with open(root + "/request.json", "w") as f:
        json.dump(request, f)
    open(root + "/result.json", "w").close()  # the worker writes into a result file that exists (the daemon makes it)
    watcher = subprocess.Popen([args.bin + "/trainingd", "_worker", "checkpoint-watch", root + "/request.json", root + "/result.json"])
    time.sleep(0.5)

    results = []
    for label, size, rounds in (("1 MiB", 1 << 20, args.rounds_small), ("256 MiB", 256 << 20, args.rounds_large)):
        payload = os.urandom(size)
        timings = {"renamed": [], "in place": [], "cp": []}
        for i in range(rounds):
            # Renamed into place.
            temporary, final = "%s/.tmp-%d" % (local, i), "%s/renamed-%d.ckpt" % (local, i)
            with open(temporary, "wb") as f:
                f.write(payload)
            start = time.monotonic()
            os.rename(temporary, final)
            timings["renamed"].append(wait_for("%s/renamed-%d.ckpt" % (remote, i), size) - start)
            # Written in place.
            path = "%s/inplace-%d.ckpt" % (local, i)
            with open(path, "wb") as f:
                f.write(payload)
            start = time.monotonic()
            timings["in place"].append(wait_for("%s/inplace-%d.ckpt" % (remote, i), size) - start)
            # Baseline: cp of the same file, made durable.
            start = time.monotonic()
            subprocess.run(["cp", final, "%s/cp-%d.ckpt" % (baseline, i)], check=True)
            subprocess.run(["sync", "%s/cp-%d.ckpt" % (baseline, i)], check=True)
            timings["cp"].append(time.monotonic() - start)
            # Deleting the local files deletes their copies too (the watcher propagates deletions).
            for directory in (local, baseline):
                for name in os.listdir(directory):
                    os.unlink(os.path.join(directory, name))
            deadline = time.monotonic() + 10
            while os.listdir(remote) and time.monotonic() < deadline:
                time.sleep(0.01)
        results.append((label, rounds, timings))

    with open(status, "w") as f:
        f.write("exit_code=0\n")
    watcher.wait(timeout=30)

    command = "python3 bench/checkpoint_sync.py --bin BIN --work bench/out/checkpoints --rounds-small %d --rounds-large %d" % (
        args.rounds_small, args.rounds_large)
    print("## Checkpoint sync latency (file finished -> durable copy at the checkpoint location)")
    print()
    print("Command: `%s` (from `bench/run.sh`)" % command)
    print()
    print("| file | how it was finished | p50 (ms) | p99 (ms) | ratio to cp p50 | ratio to cp p99 |")
    print("|---|---|---|---|---|---|")
    for label, rounds, timings in results:
        cp50, cp99 = percentile(timings["cp"], 50) * 1000, percentile(timings["cp"], 99) * 1000
        for how in ("renamed", "in place"):
            p50, p99 = percentile(timings[how], 50) * 1000, percentile(timings[how], 99) * 1000
            print("| %s (%d rounds) | %s | %.1f | %.1f | %.2fx | %.2fx |" % (label, rounds, how, p50, p99, p50 / cp50, p99 / cp99))
        print("| %s (%d rounds) | baseline: `cp` + `sync FILE` | %.1f | %.1f | 1.00x | 1.00x |" % (label, rounds, cp50, cp99))
    print()
    print("A file renamed into place is copied as soon as inotify reports the rename; one written in")
    print("place waits out the 1 s settle time first (the price of never publishing a file cut short")
    print("by a kill), so its latency is about 1 s plus the copy. Both copies are fsync'd, as the")
    print("baseline's is.")


if __name__ == "__main__":
    main()
