#!/usr/bin/env python3
"""S3 transfers: trainingd against `aws s3 cp --recursive` on the same S3 server and data.

The server is moto's (scripts/s3-test-server.sh: 127.0.0.1, signatures checked). Two data sets:
64 files of 16 MiB, and one file of 1 GiB (--gib scales both). For each:

- baseline: `aws s3 cp --recursive` from the server to a local directory (download), and from a
  local directory to the server (upload), timed by wall clock, each upload with the server
  holding the same objects as it did for trainingd's (moto keeps everything in memory and slows
  as it fills). The same upload's time depends on what moto did just before (the first upload
  after a download or a large write is up to 25% slower than the next, whichever client makes
  it: bench/notes/s3.md), so the baseline is the CLI's upload made right after the CLI's
  download, as trainingd's job uploads right after its download; the CLI's upload is made once
  more after trainingd's job and reported beside it;
- trainingd: one job whose File-mode channel is the data set on the server (download: the
  job's Downloading step, from its SecondaryStatusTransitions) and whose algorithm moves the
  channel's files into /opt/ml/model, delivered with CompressionType NONE to the server
  (upload: its Uploading step).

Reported: seconds and MiB/s each way, and trainingd's throughput as a ratio to the AWS CLI's.
Needs the release build, and the AWS CLI in .build/test-tools/awscli (installed from PyPI if
missing).
"""
import argparse, json, os, shutil, subprocess, sys, time
from benchlib import step_seconds, wait_for_daemon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, ".build", "test-tools")


def aws_cli():
    aws = os.path.join(TOOLS, "awscli", "bin", "aws")
    if not os.path.exists(aws):
        subprocess.run(["/usr/bin/python3", "-m", "venv", os.path.join(TOOLS, "awscli")], check=True)
        subprocess.run([os.path.join(TOOLS, "awscli", "bin", "pip"), "install", "--quiet", "awscli"], check=True)
    return aws


def start_server():
    subprocess.run([os.path.join(ROOT, "scripts", "s3-test-server.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
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


def timed(command, env):
    start = time.time()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--sets", default="many,one", help="which data sets: many (64 files), one (a single file)")
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
    daemon = None
    try:
        subprocess.run([aws, "--endpoint-url", endpoint, "s3", "mb", "s3://bench"], check=True, env=env, stdout=subprocess.DEVNULL)
        root = os.path.join(work, "daemon")
        os.makedirs(root)
        with open(os.path.join(root, "trainingd.conf"), "w") as config:
            config.write('[jobs]\nvolume_retention_seconds = 0\n[s3]\nendpoint = "%s"\naccess_key_id = "%s"\nsecret_access_key = "%s"\n'
                         % (endpoint, key, secret))
        with open(os.path.join(work, "move.sh"), "w") as script:
            script.write("#!/bin/sh\nmv /opt/ml/input/data/train/* /opt/ml/model/\n")
        os.chmod(os.path.join(work, "move.sh"), 0o755)
        daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root, "--config", root + "/trainingd.conf"],
                                  stderr=open(os.path.join(work, "daemon.log"), "w"))
        wait_for_daemon(root + "/control.sock", os.path.join(work, "daemon.log"))
        rows = []
        for label, name, files, size in sets:
            local = os.path.join(work, "data", name)
            write_data(local, files, size)
            mib = files * size / float(1 << 20)
            # The channel's data, put there by the CLI (this upload is not the one compared: see below).
            timed([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", local, "s3://bench/src/%s/" % name], env)
            aws_down = timed([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", "s3://bench/src/%s/" % name,
                              os.path.join(work, "aws-down", name)], env)
            shutil.rmtree(os.path.join(work, "aws-down"), ignore_errors=True)
            remove = lambda prefix: subprocess.run([aws, "--endpoint-url", endpoint, "s3", "rm", "--recursive", "s3://bench/%s" % prefix],
                                                   check=True, env=env, stdout=subprocess.DEVNULL)
            upload_by_cli = lambda: timed([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", local, "s3://bench/aws-out/%s/" % name], env)
            aws_up = upload_by_cli()  # right after the CLI's download, as trainingd's follows its download
            remove("aws-out/")
            job = "td-" + name
            definition = {
                "TrainingJobName": job,
                "AlgorithmSpecification": {"TrainingImage": os.path.join(work, "move.sh"), "TrainingInputMode": "File"},
                "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": "s3://bench/src/%s/" % name}}}],
                "OutputDataConfig": {"S3OutputPath": "s3://bench/td-out/", "CompressionType": "NONE"},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            }
            with open(os.path.join(root, "spool", "incoming", ".%s.json" % job), "w") as f:
                json.dump(definition, f)
            os.rename(os.path.join(root, "spool", "incoming", ".%s.json" % job), os.path.join(root, "spool", "incoming", job + ".json"))
            describe = None
            deadline = time.time() + 1800
            while time.time() < deadline:
                out = subprocess.run([args.bin + "/jobctl", "--root", root, "describe", job, "--json"], capture_output=True, text=True)
                if out.returncode == 0:
                    describe = json.loads(out.stdout)
                    if describe["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                        break
                time.sleep(0.5)
            if describe is None or describe["TrainingJobStatus"] != "Completed":
                raise SystemExit("%s did not complete: %s" % (job, describe and describe.get("FailureReason")))
            td_down = step_seconds(describe, "Downloading")
            td_up = step_seconds(describe, "Uploading")
            # The CLI's upload again, in the same server state: each upload starts with exactly the
            # channel's data there (trainingd's output is removed first, the CLI's afterwards).
            remove("td-out/")
            aws_up_again = upload_by_cli()
            remove("aws-out/")
            remove("src/")
            rows.append((label, "download", td_down, aws_down, mib, None))
            rows.append((label, "upload", td_up, aws_up, mib, aws_up_again))
            print(json.dumps({"set": label, "trainingd_down": td_down, "aws_down": aws_down, "trainingd_up": td_up, "aws_up": aws_up,
                              "aws_up_again": aws_up_again}),
                  file=sys.stderr, flush=True)
            shutil.rmtree(local, ignore_errors=True)
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(timeout=60)
        subprocess.run([os.path.join(ROOT, "scripts", "s3-test-server.sh"), "stop"], check=False)
    print("## S3 transfers against `aws s3 cp --recursive` (moto's server, signatures checked)")
    print()
    print("Command: `python3 bench/s3_transfer.py --bin BIN --work bench/out/s3 --gib %g` (from `bench/run.sh`)" % args.gib)
    print()
    print("Each upload follows its client's download of the same data; the last column is the CLI's upload made again right")
    print("after trainingd's job (moto is faster for a second upload in a row: bench/notes/s3.md).")
    print()
    print("| data | direction | trainingd (s) | aws s3 cp (s) | trainingd (MiB/s) | aws s3 cp (MiB/s) | ratio (throughput trainingd / aws) | aws s3 cp again (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, direction, td, baseline, mib, again in rows:
        print("| %s | %s | %.2f | %.2f | %.0f | %.0f | %.2fx | %s |" % (label, direction, td, baseline, mib / td, mib / baseline, baseline / td,
                                                                  "%.2f" % again if again else "-"))


if __name__ == "__main__":
    main()
