#!/usr/bin/env python3
"""Submit-to-exec latency of a no-data job from a container image, in the same run as:

- the same job with the same program as a plain executable of the host (trainingd's floor);
- `podman run --rm` of the same image and command (the container engine a SageMaker user would
  otherwise reach for), with the host's network and no pull.

The program is a static `stamp` (built here with gcc) that prints CLOCK_REALTIME in
nanoseconds; the image is busybox-static's applets plus it, committed by buildah. trainingd's
latency runs from the rename of a definition into spool/incoming/ to the stamp (read from the
job's log); podman's from its spawn to the stamp (read from its stdout). Needs root, gcc,
buildah, podman and busybox-static; podman runs with runc when installed (crun refuses this
machine's hybrid cgroups).
"""
import argparse, os, shutil, signal, statistics, subprocess, time
from benchlib import percentile, submit_to_spool

STAMP_C = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    printf("stamp %lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    return 0;
}
"""


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout.strip()


def build_image(work, stamp):
    container = run(["buildah", "from", "scratch"])
    try:
        root = run(["buildah", "mount", container])
        os.makedirs(root + "/bin")
        shutil.copy("/bin/busybox", root + "/bin/busybox")
        os.symlink("busybox", root + "/bin/sh")
        shutil.copy(stamp, root + "/bin/stamp")
        run(["buildah", "umount", container])
        run(["buildah", "config", "--entrypoint", '["/bin/stamp"]', container])
        reference = "localhost/trainingd-bench-stamp:1"
        run(["buildah", "commit", "--quiet", container, reference])
        return reference
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)


def stamp_in_log(path, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                for line in f:
                    if " out stamp " in line:
                        return int(line.rsplit(" ", 1)[1])
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    raise SystemExit("timed out waiting for the stamp in %s" % path)


def trainingd_latencies(bin_dir, root, image, jobs, label):
    latencies = []
    for i in range(jobs + 3):
        name = "%s-%d" % (label, i)
        temporary, final = submit_to_spool(root, name, image)
        start = time.time_ns()
        os.rename(temporary, final)
        stamped = stamp_in_log("%s/r/logs/%s/algo-1.log" % (root, name))
        if i >= 3:  # the first few warm the caches
            latencies.append((stamped - start) / 1e6)
        time.sleep(0.1)  # let the job end, so each one finds a free slot
    return latencies


def podman_latencies(image, jobs):
    soft, hard = [int(x) for x in run(["sh", "-c", "ulimit -Sn; ulimit -Hn"]).split()]
    runtime = ["--runtime", "/usr/sbin/runc"] if os.path.exists("/usr/sbin/runc") else []
    command = ["podman"] + runtime + ["run", "--rm", "--pull", "never", "--network", "host",
                                      "--ulimit", "nofile=%d:%d" % (hard, hard), "--ulimit", "nproc=4096:4096", image]
    latencies = []
    for i in range(jobs + 3):
        start = time.time_ns()
        output = run(command)
        stamped = int(output.split()[-1])
        if i >= 3:
            latencies.append((stamped - start) / 1e6)
    return latencies, " ".join(command)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with open(root + "/stamp.c", "w") as f:
        f.write(STAMP_C)
    stamp = root + "/stamp"
    run(["gcc", "-O2", "-static", "-o", stamp, root + "/stamp.c"])
    image = build_image(root, stamp)
    with open(root + "/trainingd.conf", "w") as f:
        f.write("[jobs]\nmax_concurrent = 2\nstop_grace_period_seconds = 5\nvolume_retention_seconds = 0\n")
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", root + "/r", "--config", root + "/trainingd.conf"],
                              stderr=open(root + "/daemon.log", "w"))
    try:
        while not os.path.exists(root + "/r/control.sock"):
            time.sleep(0.05)
        executable = trainingd_latencies(args.bin, root, stamp, args.jobs, "exe")
        contained = trainingd_latencies(args.bin, root, image, args.jobs, "img")
        podman, podman_command = podman_latencies(image, args.jobs)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
        subprocess.run(["podman", "rmi", "--force", image], capture_output=True)

    rows = [("trainingd, the image (a container of its layers)", contained), ("trainingd, the same program as an executable", executable),
            ("`podman run --rm` of the image", podman)]
    print("## Submit-to-exec latency of a container image")
    print()
    print("Command: `python3 bench/image_start.py --bin BIN --work bench/out/images --jobs %d` (from `bench/run.sh`); podman: `%s`"
          % (args.jobs, podman_command))
    print()
    print("| | p50 (ms) | p99 (ms) | mean (ms) |")
    print("|---|---|---|---|")
    for label, values in rows:
        print("| %s | %.2f | %.2f | %.2f |" % (label, percentile(values, 50), percentile(values, 99), statistics.mean(values)))
    image50 = percentile(contained, 50)
    print("| ratio image / executable | %.2fx | %.2fx | |" % (image50 / percentile(executable, 50), percentile(contained, 99) / percentile(executable, 99)))
    print("| ratio image / podman run | %.2fx | %.2fx | |" % (image50 / percentile(podman, 50), percentile(contained, 99) / percentile(podman, 99)))
    print()
    print("%d jobs each, one at a time, on the same daemon; trainingd's from the spool rename, podman's from its spawn." % len(contained))


if __name__ == "__main__":
    main()
