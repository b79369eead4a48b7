#!/usr/bin/env python3
"""Packaging a model into model.tar.gz: trainingd against `tar czf` and `tar cf - | pigz`.

The model is --gib GiB of float32 weights (Gaussian values, as a trained network's are: gzip
takes about a tenth off) in 8 files, written once under the work directory. Each round:

- trainingd: one job whose algorithm copies the model into /opt/ml/model; its output goes to a
  file:// location with the default CompressionType (GZIP). Timed: the job's Uploading step,
  from its SecondaryStatusTransitions (the archive written, compressed and delivered);
- baselines: `tar czf` (single-threaded gzip) and `tar cf - | pigz` (gzip on every core) of the
  same directory, writing to the same file system, then `sync FILE`, by wall clock (trainingd's
  archive is fsync'd before it is renamed into place, so both are timed until durable).

Every archive is listed with `tar -tzf` afterwards, so a broken one fails the benchmark. Also
timed: a job with an empty model (its Uploading step), the cost of an ending with nothing to
compress. Reported: medians of --rounds rounds, trainingd's throughput as a ratio to each
baseline, and each archive's size (all three compress at gzip's default level, 6).
"""
import argparse, array, json, os, random, shutil, statistics, subprocess, sys, time
from benchlib import run_to_completion, step_seconds, wait_for_daemon

CHUNK_FLOATS = 1 << 20  # 4 MiB of float32


def write_model(directory, total_bytes, files=8):
    os.makedirs(directory, exist_ok=True)
    generator = random.Random(17)
    blocks = [array.array("f", (generator.gauss(0.0, 0.05) for _ in range(CHUNK_FLOATS))).tobytes() for _ in range(4)]
    per_file = total_bytes // files
    for index in range(files):
        with open(os.path.join(directory, "layer-%02d.bin" % index), "wb") as f:
            written, turn = 0, index
            while written < per_file:
                block = blocks[turn % len(blocks)]
                # A different rotation each time, so that no 32 KiB window repeats a recent one.
                shift = (turn * 4099 * 4) % len(block)
                piece = (block[shift:] + block[:shift])[: per_file - written]
                f.write(piece)
                written += len(piece)
                turn += 1


def timed(command, shell=False):
    start = time.time()
    subprocess.run(command, check=True, shell=shell, stdout=subprocess.DEVNULL)
    return time.time() - start


def run_job(bin_dir, root, work, name, script):
    return run_to_completion(bin_dir, root, {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": script, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "file://%s/td-out/" % work},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 8},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    })


def check_archive(path):
    listing = subprocess.run(["tar", "-tzf", path], check=True, capture_output=True, text=True).stdout.split()
    if not any(entry.endswith(".bin") for entry in listing):
        raise SystemExit("%s holds no model files: %s" % (path, listing[:10]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("pigz"):
        raise SystemExit("pigz is not installed (apt-get install pigz): it is this benchmark's baseline")
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work + "/td-out")
    model = os.path.join(work, "model")
    total = int(args.gib * (1 << 30))
    write_model(model, total)
    copy = os.path.join(work, "copy-model.sh")
    with open(copy, "w") as f:
        f.write("#!/bin/sh\ncp %s/* /opt/ml/model/\n" % model)
    empty = os.path.join(work, "empty-model.sh")
    with open(empty, "w") as f:
        f.write("#!/bin/sh\ntrue\n")
    os.chmod(copy, 0o755)
    os.chmod(empty, 0o755)
    root = os.path.join(work, "daemon")
    os.makedirs(root)
    with open(os.path.join(root, "trainingd.conf"), "w") as config:
        config.write("[jobs]\nvolume_retention_seconds = 0\n")
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root, "--config", root + "/trainingd.conf"],
                              stderr=open(os.path.join(work, "daemon.log"), "w"))
    trainingd, gzip_times, pigz_times, empty_times = [], [], [], []
    sizes = {}
    try:
        wait_for_daemon(root + "/control.sock", work + "/daemon.log")
        for index in range(5):
            empty_times.append(step_seconds(run_job(args.bin, root, work, "empty-%d" % index, empty), "Uploading"))
        archive = os.path.join(work, "baseline.tar.gz")
        for round_index in range(args.rounds):
            name = "model-%d" % round_index
            trainingd.append(step_seconds(run_job(args.bin, root, work, name, copy), "Uploading"))
            check_archive(os.path.join(work, "td-out", name, "output", "model.tar.gz"))
            sizes["trainingd"] = os.path.getsize(os.path.join(work, "td-out", name, "output", "model.tar.gz"))
            os.remove(os.path.join(work, "td-out", name, "output", "model.tar.gz"))
            gzip_times.append(timed("tar czf '%s' -C '%s' . && sync '%s'" % (archive, model, archive), shell=True))
            check_archive(archive)
            sizes["gzip"] = os.path.getsize(archive)
            os.remove(archive)
            pigz_times.append(timed("tar cf - -C '%s' . | pigz > '%s' && sync '%s'" % (model, archive, archive), shell=True))
            check_archive(archive)
            sizes["pigz"] = os.path.getsize(archive)
            os.remove(archive)
            print(json.dumps({"round": round_index, "trainingd": trainingd[-1], "tar_czf": gzip_times[-1], "tar_pigz": pigz_times[-1]}),
                  file=sys.stderr, flush=True)
    finally:
        daemon.terminate()
        daemon.wait(timeout=120)
    mib = total / float(1 << 20)
    td, gz, pz = statistics.median(trainingd), statistics.median(gzip_times), statistics.median(pigz_times)
    print("## Packaging a model into model.tar.gz")
    print()
    print("Command: `python3 bench/packaging.py --bin BIN --work %s --gib %g --rounds %d` (from `bench/run.sh`)" % (args.work, args.gib, args.rounds))
    print()
    print("| %.0f MiB of float32 weights in 8 files | median of %d (s) | throughput (MiB/s) | ratio (throughput trainingd / this) | archive (MiB) |" % (mib, args.rounds))
    print("|---|---|---|---|---|")
    print("| trainingd: the job's Uploading step (file:// output, GZIP) | %.2f | %.0f | | %.1f |" % (td, mib / td, sizes["trainingd"] / 1048576.0))
    print("| baseline: `tar czf`, `sync` | %.2f | %.0f | %.2fx | %.1f |" % (gz, mib / gz, gz / td, sizes["gzip"] / 1048576.0))
    print("| baseline: `tar cf - \\| pigz` (%d cores), `sync` | %.2f | %.0f | %.2fx | %.1f |" % (os.cpu_count(), pz, mib / pz, pz / td, sizes["pigz"] / 1048576.0))
    print()
    print("An empty model's Uploading step: %.1f ms median of %d jobs (%s ms)." %
          (statistics.median(empty_times) * 1000, len(empty_times), ", ".join("%.1f" % (t * 1000) for t in empty_times)))
    print()
    print("Target of issue 17, at least 1.0x `tar cf - | pigz`: %s (%.2fx)." % ("met" if pz / td >= 1.0 else "NOT met", pz / td))


if __name__ == "__main__":
    main()
