#!/usr/bin/env python3
"""S3 transfers: trainingd against `aws s3 cp --recursive` on the same S3 server and data.

The server is moto's (scripts/s3-test-server.sh: 127.0.0.1, signatures checked), keeping the memory
it frees (start_server says why). Two data sets: 64 files of 16 MiB, and one file of 1 GiB (--gib
scales both). For each:

- download: `aws s3 cp --recursive` from the server to a local directory, timed by wall clock,
  against one trainingd job whose File-mode channel is the data set on the server (its
  Downloading step, from its SecondaryStatusTransitions);
- upload: one trainingd job whose algorithm copies the local data set into /opt/ml/model,
  delivered with CompressionType NONE to the server (its Uploading step), against `aws s3 cp
  --recursive` of a copy of the data set made the same way just before (untimed), each with the
  server holding the same objects.

Each in --rounds rounds of both clients, in alternating order (trainingd first in even rounds),
after one untimed round: a transfer's time depends on what the server and the machine did just
before (the first upload after a download or a large write was up to 25% slower than the next,
whichever client made it: bench/notes/s3.md), and each client goes first in half of the timed
rounds (an even number by default); the medians of the rounds are compared.

Reported: seconds and MiB/s each way, and trainingd's throughput as a ratio to the AWS CLI's.
Needs the release build, and the AWS CLI in .build/test-tools/awscli (installed from PyPI if
missing).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time
from benchlib import run_to_completion, step_seconds, wait_for_daemon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, ".build", "test-tools")


def aws_cli():
    aws = os.path.join(TOOLS, "awscli", "bin", "aws")
    if not os.path.exists(aws):
        subprocess.run(["/usr/bin/python3", "-m", "venv", os.path.join(TOOLS, "awscli")], check=True)
        subprocess.run([os.path.join(TOOLS, "awscli", "bin", "pip"), "install", "--quiet", "awscli"], check=True)
    return aws


def start_server():
    # The server keeps the memory it frees, for its next requests, rather than handing it back to
    # the kernel: objects and parts in its heap (not spilled to temporary files), one malloc arena,
    # no mmap'd chunks, no trimming. On a virtual machine whose host takes freed pages back (free
    # page reporting, as on the machines these figures come from), memory touched again costs
    # first-touch faults at 400-650 MiB/s against 2.4 GB/s for memory kept; moto's assembly of a
    # 1 GiB multipart upload touches a few GiB, and took 3-9 s by that chance, whichever client
    # had sent the parts, against 0.7 s with its memory kept (bench/notes/s3.md, 2026-12-07).
    # The stand-in for a remote S3 should cost the clients being compared as little as it can.
    tunables = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=%d" % (1 << 40)
    server_env = dict(os.environ, MOTO_S3_DEFAULT_KEY_BUFFER_SIZE=str(1 << 40),
                      GLIBC_TUNABLES=":".join(filter(None, [os.environ.get("GLIBC_TUNABLES"), tunables])))
    subprocess.run([os.path.join(ROOT, "scripts", "s3-test-server.sh"), "start"], check=True, stdout=subprocess.DEVNULL, env=server_env)
    settings = {}
    with open(os.path.join(TOOLS, "s3-server.env")) as f:
        for line in f:
            name, value = line.strip().removeprefix("export ").split("=", 1)
            settings[name] = value
    return settings["TRAININGD_TEST_S3_ENDPOINT"], settings["TRAININGD_TEST_S3_ACCESS_KEY_ID"], settings["TRAININGD_TEST_S3_SECRET_ACCESS_KEY"]


def write_data(directory, files, size):
    os.makedirs(directory, exist_ok=True)
    chunk = os.urandom(1 << 20)
    for index in range(files):
        with open(os.path.join(directory, "part-%03d.bin" % index), "wb") as f:
            for offset in range(0, size, len(chunk)):
                f.write(chunk[: min(len(chunk), size - offset)])
                chunk = chunk[1:] + chunk[:1]  # not the same MiB twice


def run_job(bin_dir, root, name, script, channels):
    """One job of `script` with `channels` (File mode), its output delivered uncompressed to s3://bench/td-out/."""
    definition = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": script, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bench/td-out/", "CompressionType": "NONE"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    if channels:
        definition["InputDataConfig"] = channels
    return run_to_completion(bin_dir, root, definition)


def timed(command, env):
    start = time.time()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=4,
                        help="timed rounds of each transfer (each: one trainingd job and one CLI command), after one untimed round")
    parser.add_argument("--sets", default="many,one", help="which data sets: many (64 files), one (a single file)")
    parser.add_argument("--directions", default="download,upload",
                        help="download, upload or both (an investigation of one direction skips the other)")
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    aws = aws_cli()
    endpoint, key, secret = start_server()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1")
    total = int(args.gib * (1 << 30))
    sets = [("64 files of %d MiB" % (total // 64 >> 20), "many", 64, total // 64), ("1 file of %d MiB" % (total >> 20), "one", 1, total)]
    sets = [entry for entry in sets if entry[1] in args.sets.split(",")]
    directions = args.directions.split(",")
    daemon = None
    try:
        subprocess.run([aws, "--endpoint-url", endpoint, "s3", "mb", "s3://bench"], check=True, env=env, stdout=subprocess.DEVNULL)
        root = os.path.join(work, "daemon")
        os.makedirs(root)
        with open(os.path.join(root, "trainingd.conf"), "w") as config:
            config.write('[jobs]\nvolume_retention_seconds = 0\n[s3]\nendpoint = "%s"\naccess_key_id = "%s"\nsecret_access_key = "%s"\n'
                         % (endpoint, key, secret))
        nothing, copy = os.path.join(work, "nothing.sh"), os.path.join(work, "copy.sh")
        with open(nothing, "w") as script:
            script.write("#!/bin/sh\ntrue\n")
        os.chmod(nothing, 0o755)
        daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root, "--config", root + "/trainingd.conf"],
                                  stderr=open(os.path.join(work, "daemon.log"), "w"))
        wait_for_daemon(root + "/control.sock", os.path.join(work, "daemon.log"))
        rows = []

        def compare(label, direction, mib, trainingd_run, cli_run):
            """`trainingd_run` and `cli_run` (each given its run's number, each returning its
            seconds) in one untimed round, then --rounds timed ones, alternating which goes first."""
            times = {"trainingd": [], "aws": []}
            clients = [("trainingd", trainingd_run), ("aws", cli_run)]
            for round_index in range(-1, args.rounds):
                for client, run in (clients if round_index % 2 == 0 else clients[::-1]):
                    seconds = run(round_index + 1)
                    if round_index >= 0:
                        times[client].append(seconds)
            rows.append((label, direction, statistics.median(times["trainingd"]), statistics.median(times["aws"]), mib,
                         "trainingd %s; CLI %s" % tuple(", ".join("%.2f" % t for t in times[c]) for c in ("trainingd", "aws"))))
            print(json.dumps({"set": label, "direction": direction, **times}), file=sys.stderr, flush=True)

        for label, name, files, size in sets:
            local = os.path.join(work, "data", name)
            write_data(local, files, size)
            mib = files * size / float(1 << 20)
            # The channel's data, put there by the CLI (this upload is not the one compared: see below).
            timed([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", local, "s3://bench/src/%s/" % name], env)
            remove = lambda prefix: subprocess.run([aws, "--endpoint-url", endpoint, "s3", "rm", "--recursive", "s3://bench/%s" % prefix],
                                                   check=True, env=env, stdout=subprocess.DEVNULL)
            if "download" in directions:
                channel = {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/src/%s/" % name}}}

                def trainingd_download(number):
                    job = run_job(args.bin, root, "td-%s-down-%d" % (name, number), nothing, [channel])
                    remove("td-out/")
                    return step_seconds(job, "Downloading")

                def cli_download(number):
                    seconds = timed([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", "s3://bench/src/%s/" % name,
                                     os.path.join(work, "aws-down", name)], env)
                    shutil.rmtree(os.path.join(work, "aws-down"), ignore_errors=True)
                    return seconds

                compare(label, "download", mib, trainingd_download, cli_download)
            if "upload" in directions:
                with open(copy, "w") as script:
                    script.write("#!/bin/sh\ncp %s/* /opt/ml/model/\n" % local)
                os.chmod(copy, 0o755)

                def trainingd_upload(number):
                    job = run_job(args.bin, root, "td-%s-up-%d" % (name, number), copy, [])
                    remove("td-out/")
                    return step_seconds(job, "Uploading")

                def cli_upload(number):
                    # The CLI uploads a copy written just before, as the job's algorithm writes its
                    # model just before trainingd's upload: the same files uploaded from a long-cached
                    # directory went up about 2 s faster per GiB (bench/notes/s3.md, 2026-12-06).
                    fresh = os.path.join(work, "aws-up", name)
                    os.makedirs(fresh)
                    subprocess.run(["cp"] + [os.path.join(local, entry) for entry in sorted(os.listdir(local))] + [fresh], check=True)
                    seconds = timed([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", fresh, "s3://bench/aws-out/%s/" % name], env)
                    shutil.rmtree(fresh)
                    remove("aws-out/")
                    return seconds

                compare(label, "upload", mib, trainingd_upload, cli_upload)
            remove("src/")
            shutil.rmtree(local, ignore_errors=True)
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(timeout=60)
        subprocess.run([os.path.join(ROOT, "scripts", "s3-test-server.sh"), "stop"], check=False)
    print("## S3 transfers against `aws s3 cp --recursive` (moto's server, signatures checked)")
    print()
    print("Command: `python3 bench/s3_transfer.py --bin BIN --work bench/out/s3 --gib %g --rounds %d` (from `bench/run.sh`)" % (args.gib, args.rounds))
    print()
    print("Each figure: the median of %d rounds in alternating order, after one untimed round (each timed round's times in the last column)." % args.rounds)
    print()
    print("| data | direction | trainingd (s) | aws s3 cp (s) | trainingd (MiB/s) | aws s3 cp (MiB/s) | ratio (throughput trainingd / aws) | rounds (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, direction, td, baseline, mib, rounds in rows:
        print("| %s | %s | %.2f | %.2f | %.0f | %.0f | %.2fx | %s |" % (label, direction, td, baseline, mib / td, mib / baseline, baseline / td, rounds))


if __name__ == "__main__":
    main()
