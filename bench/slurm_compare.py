#!/usr/bin/env python3
"""trainingd against a single-node Slurm (22.05) that this script starts on the same machine.

The same job on both (a /bin/sh script appending `date +%s%N` to a mark file named after the
job; each run is checked to have happened exactly once), two at a time: submit-to-exec and
submit-to-done of --jobs jobs one at a time (after 3 warm-up jobs), then a burst of --burst jobs
at once. How each side is timed is printed with the table (see report()). Slurm is its own
munged, slurmctld and slurmd under --work, with the slurm.conf below (named by SLURM_CONF); if
it cannot be started, the section says why and gives no figure.
"""
import argparse, os, random, shutil, signal, socket, sqlite3, subprocess, sys, time
from benchlib import percentile, submit_to_spool

ENV = dict(os.environ)  # the Slurm commands' environment (SLURM_CONF), completed in main()
STARTED = []  # the trainingd daemon, once started
HEADING = "## Against a single-node Slurm"
SCRIPT = """#!/bin/sh
name=${TRAINING_JOB_NAME:-$SLURM_JOB_NAME${SLURM_ARRAY_TASK_ID:+-$SLURM_ARRAY_TASK_ID}}
date +%s%N >> "$MARK_DIR/$name"
"""
SLURM_CONF = """# Written by bench/slurm_compare.py: one node, root only, no accounting, nothing from /etc.
ClusterName=bench
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={work}/munge/socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={work}/slurm/state
SlurmdSpoolDir={work}/slurm/spool
SlurmctldPidFile={work}/slurm/slurmctld.pid
SlurmdPidFile={work}/slurm/slurmd.pid
SlurmctldLogFile={work}/slurm/slurmctld.log
SlurmdLogFile={work}/slurm/slurmd.log
SlurmctldDebug=error
SlurmdDebug=error
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# The default MaxArraySize (1001) would refuse the burst's array.
MaxArraySize={array_size}
MaxJobCount={max_jobs}
# Batch jobs are placed only by the controller's 1 s background loop, when batch_sched_delay
# (default 3 s) has passed since it last did: 0, every tick. No "defer": an epilog-complete message
# runs the scheduler at once, so an epilog makes a job's end free its CPU without waiting for a tick.
SchedulerParameters=batch_sched_delay=0
Epilog=/bin/true
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=bench Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def free_port(preferred):
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
                return s.getsockname()[1]
            except OSError:
                pass


def unmount_all(path):
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    for point in sorted((p for p in points if p.startswith(path + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL, timeout=30)


def stop(process):
    """SIGTERM, then SIGKILL after 15 s."""
    try:
        process.terminate()
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def kill_leftovers(work):
    """Kills what outlived its daemon (a slurmstepd, a job, a keeper): the processes whose
    environment holds this run's marker (given to every daemon it starts) or a job's MARK_DIR."""
    needles = [b"BENCH_SLURM_COMPARE=" + work.encode() + b"\0", b"MARK_DIR=" + work.encode() + b"/"]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if int(pid) != os.getpid() and any(needle in f.read() for needle in needles):
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def wait_until(condition, timeout, what, interval):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError("timed out after %d s waiting for %s" % (timeout, what))


def read_mark(path):
    text = open(path).read() if os.path.exists(path) else ""
    return int(text.split()[0]) if text.endswith("\n") else None


def check_marks(directory, names):
    """Every job's mark exists and holds one line: it ran, once."""
    found = set(os.listdir(directory))
    bad = [n for n in names if n not in found or open(os.path.join(directory, n)).read().count("\n") != 1]
    if bad or len(found) != len(names):
        raise RuntimeError("%s: %d marks for %d jobs; missing or run twice: %s" % (directory, len(found), len(names), bad[:5]))


def slurm(*args, timeout=30):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=ENV)


def start_slurm(work, burst, jobs, processes):
    """Starts munged, slurmctld and slurmd (appended to processes), or raises saying why."""
    for d in ["munge", "slurm/state", "slurm/spool"]:
        os.makedirs(os.path.join(work, d))
    m = work + "/munge/"
    subprocess.run(["dd", "if=/dev/urandom", "bs=1", "count=1024", "of=" + m + "key"],
                   stderr=subprocess.DEVNULL, check=True, timeout=30)
    os.chmod(m + "key", 0o400)
    host = socket.gethostname().split(".")[0]
    with open(ENV["SLURM_CONF"], "w") as f:
        f.write(SLURM_CONF.format(host=host, work=work, cpus=os.cpu_count(), ctld_port=free_port(16817),
                                  slurmd_port=free_port(16818), array_size=burst + 1,
                                  max_jobs=max(10000, 2 * (burst + jobs) + 100)))
    # --force: as root, munged refuses a socket under a directory others may write to (/tmp).
    for name, argv in [("munged", ["munged", "-F", "--force", "--socket=" + m + "socket", "--key-file=" + m + "key",
                                   "--pid-file=" + m + "pid", "--log-file=" + m + "log", "--seed-file=" + m + "seed"]),
                       ("slurmctld", ["slurmctld", "-D"]), ("slurmd", ["slurmd", "-D", "-N", host])]:
        processes.append(subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, start_new_session=True,
                                          stderr=open("%s/slurm/%s.stderr" % (work, name), "w")))
        if name == "munged":
            wait_until(lambda: os.path.exists(m + "socket") or processes[-1].poll() is not None, 10, "munged", 0.05)
        if processes[-1].poll() is not None:
            raise RuntimeError("%s exited with %d" % (name, processes[-1].returncode))
    wait_until(lambda: slurm("sinfo", "-h", "-n", host, "-o", "%t").stdout.strip() == "idle", 30,
               "sinfo to show %s idle" % host, 0.2)


def slurm_failed(work, why):
    print(HEADING + "\n\nSlurm could not be started: %s. Nothing was measured.\n" % why)
    for path in ["slurm/%s.%s" % (d, kind) for d in ["munged", "slurmctld", "slurmd"] for kind in ["log", "stderr"]]:
        tail = open(os.path.join(work, path)).readlines()[-15:] if os.path.exists(os.path.join(work, path)) else []
        if tail:
            print("`%s` (its last lines):\n\n```\n%s```\n" % (path, "".join(tail)))


def query(db, sql, *parameters):
    try:
        with sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5) as connection:
            return connection.execute(sql, parameters).fetchall()
    except sqlite3.OperationalError:
        return []


def one_at_a_time(total, submit, is_done, marks, done_interval, gap):
    """Submits `total` jobs one after another; returns [(exec ms, done ms)] past the warm-up."""
    results = []
    for i in range(total):
        name = "seq-%d" % i
        start, handle = submit(name)
        stamped = wait_until(lambda: read_mark(os.path.join(marks, name)), 30, "the mark of " + name, 0.0005)
        wait_until(lambda: is_done(handle), 30, name + " to be done", done_interval)
        if i >= 3:
            results.append(((stamped - start) / 1e6, (time.time_ns() - start) / 1e6))
        time.sleep(gap())
    return results


def measure(args, work, script):
    td = work + "/td"
    with open(td + "/trainingd.conf", "w") as f:
        f.write("[jobs]\nmax_concurrent = 2\nstop_grace_period_seconds = 5\nvolume_retention_seconds = 0\n")
        f.write(args.config_extra.replace("\\n", "\n") + "\n")
    daemon = subprocess.Popen([args.bin + "/trainingd", "--root", td + "/r", "--config", td + "/trainingd.conf"], start_new_session=True,
                              stderr=open(td + "/daemon.log", "w"), env=dict(os.environ, BENCH_SLURM_COMPARE=work))
    STARTED.append(daemon)
    wait_until(lambda: os.path.exists(td + "/r/control.sock") or daemon.poll() is not None, 30, "trainingd", 0.05)
    if daemon.poll() is not None:
        raise RuntimeError("trainingd exited with %d; see %s/daemon.log" % (daemon.returncode, td))
    time.sleep(0.5)
    db, extra, marks = td + "/r/state/trainingd.db", {"Environment": {"MARK_DIR": td + "/marks"}}, work + "/slurm-marks"

    def td_submit(name):
        temporary, final = submit_to_spool(td, name, script, extra)
        start = time.time_ns()
        os.rename(temporary, final)
        return start, name

    def sbatch(*options):
        out = slurm("sbatch", "--parsable", "-o", "/dev/null", "-D", work, *options, script)
        if out.returncode:
            raise RuntimeError("sbatch: " + out.stderr)
        return out.stdout.strip().split(";")[0]

    td_done = lambda name: query(db, "SELECT status FROM jobs WHERE name = ?", name) == [("Completed",)]
    slurm_done = lambda job: "JobState=COMPLETED" in slurm("scontrol", "-o", "show", "job", job).stdout
    total = args.jobs + 3
    # Slurm's gap is random: a fixed one locks every submission to the same phase of its 1 s tick.
    phases = random.Random(1)
    r = {"td_seq": one_at_a_time(total, td_submit, td_done, td + "/marks", 0.002, lambda: 0.05),
         "slurm_seq": one_at_a_time(total, lambda name: (time.time_ns(), sbatch("-J", name)), slurm_done, marks, 0.01,
                                    lambda: 0.05 + phases.random())}
    names = ["burst-%d" % i for i in range(1, args.burst + 1)]
    for name in names:
        temporary, _ = submit_to_spool(td, name, script, extra)
        os.rename(temporary, "%s/prepared/%s.json" % (td, name))
    finished = "SELECT count(*) FROM jobs WHERE name LIKE 'burst-%' AND status IN ('Completed', 'Failed')"
    timeout, start = max(120, args.burst * 0.15), time.time()
    for name in names:
        os.rename("%s/prepared/%s.json" % (td, name), "%s/r/spool/incoming/%s.json" % (td, name))
    wait_until(lambda: query(db, finished)[0][0] >= args.burst, timeout, "trainingd's burst", 0.1)
    r["td_burst"] = time.time() - start
    if query(db, "SELECT count(*) FROM jobs WHERE status <> 'Completed'")[0][0]:
        raise RuntimeError("trainingd: some jobs did not complete; see %s/daemon.log" % td)
    start = time.time()
    sbatch("-J", "burst", "--array=1-%d" % args.burst)
    wait_until(lambda: len(os.listdir(marks)) >= total + args.burst and not slurm("squeue", "-h", "-o", "%i").stdout.strip(),
               timeout, "Slurm's burst", 0.1)
    r["slurm_burst"] = time.time() - start
    sequential = ["seq-%d" % i for i in range(total)]
    check_marks(td + "/marks", sequential + names)
    check_marks(marks, sequential + names)
    return r


def report(args, r):
    t_exec, t_done = [x[0] for x in r["td_seq"]], [x[1] for x in r["td_seq"]]
    s_exec, s_done = [x[0] for x in r["slurm_seq"]], [x[1] for x in r["slurm_seq"]]
    td_rate, slurm_rate = args.burst / r["td_burst"], args.burst / r["slurm_burst"]
    print(HEADING + "\n")
    extra = " --config-extra '%s'" % args.config_extra if args.config_extra else ""
    print("Command: `python3 bench/slurm_compare.py --bin BIN --work %s --jobs %d --burst %d%s`\n" % (args.work, args.jobs, args.burst, extra))
    print("| | trainingd | Slurm (%s, 1 node, %d CPUs) | Slurm / trainingd |" % (slurm("sinfo", "-V").stdout.strip(), os.cpu_count()))
    print("|---|---|---|---|")
    for label, t, s in [("submit-to-exec", t_exec, s_exec), ("submit-to-done", t_done, s_done)]:
        for p in (50, 99):
            print("| %s p%d (ms, %d jobs one at a time) | %.1f | %.1f | %.1fx |" % (label, p, len(t), percentile(t, p), percentile(s, p),
                                                                             percentile(s, p) / percentile(t, p)))
    print("| burst of %d jobs, until all done (s) | %.1f | %.1f | %.2fx |" % (args.burst, r["td_burst"], r["slurm_burst"], r["slurm_burst"] / r["td_burst"]))
    print("| burst throughput (jobs/s) | %.1f | %.1f | %.2fx (trainingd / Slurm) |" % (td_rate, slurm_rate, td_rate / slurm_rate))
    print("\ntrainingd starts a job %.1fx sooner than Slurm (p50), has it done %.1fx sooner (p50), and runs the burst %.2fx as fast."
          % (percentile(s_exec, 50) / percentile(t_exec, 50), percentile(s_done, 50) / percentile(t_done, 50), td_rate / slurm_rate))
    limits = "`--config-extra` as shown" if args.config_extra else "the default `[limits]` (per-host cgroups, a\nsized volume per job)"
    print("""
Both run the same `/bin/sh` job (it appends `date +%%s%%N` to a mark file named after the job), two at
a time: trainingd with `[jobs] max_concurrent = 2` and %s; Slurm as its own munged, slurmctld and slurmd (one node, `select/cons_tres` with
`CR_CPU` and 1 CPU a job, `proctrack/linuxproc`, `task/none`, no accounting,
`SchedulerParameters=batch_sched_delay=0`, `Epilog=/bin/true`). One at a time (3 warm-up jobs, then %d,
each 50 ms after the previous one was done; for Slurm 50 ms plus a random 0-1 s, as a fixed gap locks
every submission to the same phase of its 1 s tick): trainingd from the rename of a definition into
`spool/incoming/` to the mark's timestamp, and until the job is Completed in the daemon's SQLite
(read-only, polled every 2 ms); Slurm from just before `sbatch` is spawned to the mark's timestamp, and
until `scontrol show job` says COMPLETED (polled every 10 ms; `sbatch --wait` polls every 2 s at best).
Slurm places a batch job only on its controller's once-a-second background loop, never at submit time;
without an epilog a job's end also waited for that loop (2 jobs/s on 2 CPUs), while slurmd's
epilog-complete message runs the scheduler at once. The burst: trainingd's %d definitions prepared,
then renamed into the spool at once, until all are Completed; Slurm's one `sbatch --array=1-%d`, until
every task's mark exists and `squeue` lists no job. Every job of both, warm-up included, was checked to
have run exactly once: its mark exists and holds one line.""" % (limits, args.jobs, args.burst, args.burst))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the directory of trainingd")
    parser.add_argument("--work", required=True, help="removed and made again")
    parser.add_argument("--jobs", type=int, default=50, help="jobs one at a time, each system")
    parser.add_argument("--burst", type=int, default=2000, help="jobs at once, each system")
    parser.add_argument("--config-extra", default="", help="TOML appended to the daemon's configuration")
    args = parser.parse_args()
    args.bin, work = os.path.abspath(args.bin), os.path.abspath(args.work)
    if os.path.isdir(work):
        unmount_all(work)
    shutil.rmtree(work, ignore_errors=True)
    for d in ["td/marks", "td/prepared", "td/output", "slurm-marks"]:
        os.makedirs(os.path.join(work, d))
    script = work + "/stamp.sh"
    with open(script, "w") as f:
        f.write(SCRIPT)
    os.chmod(script, 0o755)
    ENV.update(SLURM_CONF=work + "/slurm.conf", MARK_DIR=work + "/slurm-marks", BENCH_SLURM_COMPARE=work)
    ENV.pop("TRAINING_JOB_NAME", None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    slurm_processes = []
    try:
        try:
            start_slurm(work, args.burst, args.jobs, slurm_processes)
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            return slurm_failed(work, error)
        results = measure(args, work, script)
    finally:
        if slurm_processes:
            try:
                slurm("scancel", "-u", "root", timeout=15)
                wait_until(lambda: not slurm("squeue", "-h", "-o", "%i").stdout.strip(), 15, "scancel", 0.2)
            except (RuntimeError, OSError, subprocess.SubprocessError):
                pass
        for process in STARTED + slurm_processes[::-1]:
            stop(process)
        kill_leftovers(work)
        unmount_all(work)
        shutil.rmtree(work + "/td/r/jobs", ignore_errors=True)
    report(args, results)


if __name__ == "__main__":
    main()
