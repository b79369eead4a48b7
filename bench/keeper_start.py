#!/usr/bin/env python3
"""The starts of trainingd's executables against a bare spawn.

Spawns the keeper N times with no arguments (it parses them, finds them missing and exits 125:
the whole cost of loading and starting it, none of a job's), and /bin/true N times, the same way
(posix_spawn + waitpid from one process). Reported: mean microseconds per spawn-and-exit of each,
and the ratio keeper / true. The keeper is linked statically; /bin/true is a dynamic executable
of libc, which is what "a bare spawn" costs on this machine. Then the Swift executables, N/10
times each: `jobctl validate` of a small definition (a client's whole run: its start with the
runtime, Foundation and the argument parser, a read and a validation, no daemon) and `trainingd
--help` (about what each staging, Pipe or packaging worker pays before its work).
"""
import argparse, json, os, subprocess, tempfile, time


def spawn_many(path, count, arguments=()):
    devnull = os.open("/dev/null", os.O_WRONLY)
    try:
        start = time.perf_counter()
        for _ in range(count):
            pid = os.posix_spawn(path, [path, *arguments], {}, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
            os.waitpid(pid, 0)
        return (time.perf_counter() - start) / count * 1e6
    finally:
        os.close(devnull)


def linking(path):
    """How an executable is linked: a PIE or not, and the shared libraries it needs (readelf -d)."""
    with open(path, "rb") as f:
        kind = "a PIE" if f.read(18)[16] == 3 else "position-dependent"  # e_type: ET_DYN or ET_EXEC
    needed = [line.split("[", 1)[1].rstrip("]") for line in
              subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout.splitlines() if "(NEEDED)" in line]
    return "%s; loads %s" % (kind, ", ".join(name.split(".so")[0] for name in needed) or "nothing")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--spawns", type=int, default=2000)
    args = parser.parse_args()
    keeper = os.path.join(args.bin, "trainingd-keeper")
    spawn_many(keeper, 50)  # warm the page cache
    spawn_many("/bin/true", 50)
    rounds = [(spawn_many(keeper, args.spawns), spawn_many("/bin/true", args.spawns)) for _ in range(3)]
    keeper_us = sorted(r[0] for r in rounds)[1]
    true_us = sorted(r[1] for r in rounds)[1]
    swift = []
    definition = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"TrainingJobName": "start", "AlgorithmSpecification": {"TrainingImage": "/bin/true", "TrainingInputMode": "File"},
               "OutputDataConfig": {"S3OutputPath": "file:///tmp/out"}, "StoppingCondition": {"MaxRuntimeInSeconds": 60},
               "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}}, definition)
    definition.close()
    for name, arguments in [("jobctl", ["validate", definition.name]), ("trainingd", ["--help"])]:
        path = os.path.join(args.bin, name)
        spawn_many(path, 5, arguments)
        us = sorted(spawn_many(path, max(10, args.spawns // 10), arguments) for _ in range(3))[1]
        swift.append(("%s %s" % (name, " ".join(arguments[:1])), linking(path), us))
    os.unlink(definition.name)
    print("## The starts of trainingd's executables against a bare spawn")
    print()
    print("Command: `python3 bench/keeper_start.py --bin BIN --spawns %d` (from `bench/run.sh`)" % args.spawns)
    print()
    print("| spawned | mean per spawn and exit (us), median of 3 rounds | ratio to /bin/true |")
    print("|---|---|---|")
    print("| trainingd-keeper (static, exits after parsing its arguments) | %.0f | %.2fx |" % (keeper_us, keeper_us / true_us))
    for name, how, us in swift:
        print("| `%s` (Swift, its runtime linked in; %s) | %.0f | %.2fx |" % (name, how, us, us / true_us))
    print("| baseline: /bin/true (dynamic, libc only) | %.0f | 1.00x |" % true_us)


if __name__ == "__main__":
    main()
