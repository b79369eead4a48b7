#!/usr/bin/env python3
"""The queue at scale: N trivial jobs dropped into the spool at once.

For each N (100, 1000, 10000 by default) a fresh daemon is started, N definitions of a job
that runs /bin/true are renamed into spool/incoming/ as fast as Python can, and the run is
timed until every job has Completed. Reported per N: spool intake (files accepted per second,
until the last file is out of incoming/ and .claimed/), jobs completed per second, and the
daemon's own CPU time per job (utime + stime of the daemon process, children excluded).

Baseline: N = 100. The ratios say how throughput holds up as the queue grows. A second run
with max_concurrent 8 shows what more slots give on the same machine, and (as root) a third
runs it with the daemon's root on a tmpfs and on fresh ext4 file systems with and without a journal (loop-mounted): the share of
the daemon's CPU that is the file system's (creating and removing each job's directories)
rather than trainingd's.
"""
import argparse, json, os, shutil, sqlite3, subprocess, sys, time
from benchlib import wait_for_daemon

TICKS = os.sysconf("SC_CLK_TCK")


def daemon_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def count(db, status):
    try:
        with sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


CONFIG_EXTRA = ""


def run(bin_dir, work, jobs, slots, timeout):
    root = os.path.join(work, "queue-%d-%d" % (jobs, slots))
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root + "/prepared")
    os.makedirs(root + "/output")
    with open(root + "/trainingd.conf", "w") as config:
        config.write("[jobs]\nmax_concurrent = %d\nvolume_retention_seconds = 0\n" % slots)
        config.write(CONFIG_EXTRA.replace("\\n", "\n") + "\n")
    for index in range(jobs):
        name = "q%05d" % index
        with open("%s/prepared/%s.json" % (root, name), "w") as f:
            json.dump({
                "TrainingJobName": name,
                "AlgorithmSpecification": {"TrainingImage": "/bin/true", "TrainingInputMode": "File"},
                "OutputDataConfig": {"S3OutputPath": "file://%s/output/" % root},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            }, f)
    daemon = subprocess.Popen([bin_dir + "/trainingd", "--root", root, "--config", root + "/trainingd.conf"],
                              stderr=open(root + "/daemon.log", "w"))
    try:
        wait_for_daemon(root + "/control.sock", root + "/daemon.log")
        cpu_before = daemon_cpu_seconds(daemon.pid)
        start = time.time()
        for name in sorted(os.listdir(root + "/prepared")):
            os.rename(root + "/prepared/" + name, root + "/spool/incoming/" + name)
        intake_done = None
        db = root + "/state/trainingd.db"
        while True:
            now = time.time()
            if intake_done is None and not os.listdir(root + "/spool/incoming") and not os.listdir(root + "/spool/.claimed"):
                intake_done = now
            completed = count(db, "Completed")
            if completed + count(db, "Failed") >= jobs and intake_done is not None:
                break
            if now - start > timeout:
                raise SystemExit("N=%d: only %d of %d jobs completed in %d s" % (jobs, completed, jobs, timeout))
            time.sleep(0.2)
        elapsed = time.time() - start
        failed = count(db, "Failed")
        if failed:
            raise SystemExit("N=%d: %d jobs failed; see %s" % (jobs, failed, root))
        cpu = daemon_cpu_seconds(daemon.pid) - cpu_before
        result = {"jobs": jobs, "slots": slots, "intake_per_s": jobs / (intake_done - start), "jobs_per_s": jobs / elapsed,
                  "cpu_ms_per_job": 1000 * cpu / jobs, "seconds": elapsed}
        print(json.dumps(result), file=sys.stderr, flush=True)  # progress: each row as it is measured
        return result
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        # Removed at the end of the whole benchmark, not here: on ext4 without a journal, inodes
        # freed in the last minutes slow every allocation in their block group (RESULTS.md), so
        # removing one run's 10,000 trees would be charged to the next run.
        finished_roots.append(root)


finished_roots = []


def unmount(mount_point):
    """Unmounts, retrying for up to a minute: the mount namespaces of the last jobs' keepers are
    released by the kernel some seconds after they exit; then detaches it lazily."""
    for _ in range(600):
        if subprocess.run(["umount", mount_point], stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", mount_point], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--wide-slots", type=int, default=8)
    parser.add_argument("--wide-jobs", type=int, default=1000)
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--config-extra", default="", help="TOML appended to the daemon's configuration")
    parser.add_argument("--disk-only", action="store_true", help="skip the tmpfs and fresh-ext4 rows")
    args = parser.parse_args()
    global CONFIG_EXTRA
    CONFIG_EXTRA = args.config_extra
    work = os.path.abspath(args.work)
    sizes = [int(size) for size in args.sizes.split(",")]
    results = [run(args.bin, work, size, 2, args.timeout) for size in sizes]
    wide = run(args.bin, work, args.wide_jobs, args.wide_slots, args.timeout)
    elsewhere = []
    if os.geteuid() == 0 and not args.disk_only:
        # The same 8-slot run with the daemon's root on a tmpfs, and on a fresh ext4 with and
        # without a journal (a sparse file, loop-mounted): what the file system under the root
        # costs per job, on file systems whose history (what was freed in the last minutes) is
        # only the benchmark's.
        mount_point = os.path.join(work, "mounted")
        os.makedirs(mount_point, exist_ok=True)
        image = os.path.join(work, "ext4.img")
        for kind in ["tmpfs", "ext4 (journal)", "ext4 (no journal)"]:
            if kind == "tmpfs":
                subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4g", "tmpfs", mount_point], check=True)
            else:
                with open(image, "wb") as f:
                    f.truncate(8 << 30)
                features = ["-O", "^has_journal"] if kind == "ext4 (no journal)" else []
                subprocess.run(["mkfs.ext4", "-q", "-F"] + features + [image], check=True)
                subprocess.run(["mount", "-o", "loop", image, mount_point], check=True)
            try:
                result = run(args.bin, mount_point, args.wide_jobs, args.wide_slots, args.timeout)
                result["where"] = kind
                elsewhere.append(result)
            finally:
                # Gone with the file system unmounted now.
                finished_roots[:] = [root for root in finished_roots if not root.startswith(mount_point + "/")]
                unmount(mount_point)
                if os.path.exists(image):
                    os.unlink(image)
    for root in finished_roots:
        shutil.rmtree(root, ignore_errors=True)
    base = results[0]
    print("## The queue at scale: trivial jobs dropped into the spool at once")
    print()
    print("Command: `python3 bench/queue_scale.py --bin BIN --work bench/out/queue --sizes %s --wide-slots %d --wide-jobs %d` "
          "(from `bench/run.sh`)" % (args.sizes, args.wide_slots, args.wide_jobs))
    print()
    print("| jobs | slots | root on | intake (files/s) | completed (jobs/s) | ratio to %d jobs | daemon CPU per job (ms) | total (s) |" % base["jobs"])
    print("|---|---|---|---|---|---|---|---|")
    for r in results + [wide] + elsewhere:
        ratio = "%.2fx" % (r["jobs_per_s"] / base["jobs_per_s"]) if r["slots"] == base["slots"] else ""
        print("| %d | %d | %s | %.0f | %.1f | %s | %.2f | %.1f |" % (r["jobs"], r["slots"], r.get("where", "disk"), r["intake_per_s"],
                                                                    r["jobs_per_s"], ratio, r["cpu_ms_per_job"], r["seconds"]))


if __name__ == "__main__":
    main()
