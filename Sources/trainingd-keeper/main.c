/*
 * trainingd-keeper: the parent of one job host's algorithm. It sets up the namespaces,
 * mounts and credentials, execs the algorithm, logs its output, forwards signals and
 * records how it ended, and it outlives the daemon so that the exit status is never lost.
 *
 *   trainingd-keeper --token TOKEN --status FILE [--env-fd N]
 *       [--log FILE [--log-cap BYTES]] [--isolation auto|pidns|none]
 *       [--rootfs DIR] [--bind SRC:DST]... [--bind-ro SRC:DST]...
 *       [--uid N] [--gid N] [--groups G1,G2,...] [--cwd DIR] [--hostname NAME]
 *       [--container DIR --layer LAYER... [--container-user USER] [--device NODE]...]
 *       [--cgroup PROCS_FILE]... [--joined 1] -- PROGRAM [ARG...]
 *   trainingd-keeper --warm TOKEN [--cgroup PROCS_FILE]...   (a warm keeper: warm.c)
 *
 * Every flag takes its value as the next argument.
 *   --env-fd     PROGRAM's environment: NUL-terminated KEY=VALUE strings read from
 *                descriptor N (a memfd), which is then closed. It is applied only in the
 *                child, after the credentials are dropped: the keeper itself, which may be
 *                root, never runs with the job's environment (LD_PRELOAD, GCONV_PATH ...).
 *                Without it PROGRAM gets the keeper's own environment. PROGRAM is looked
 *                up with that environment's PATH (inside the job's root), as its user.
 *   --token      opaque; only there so that /proc/PID/cmdline identifies the keeper.
 *   --status     written at the end (via FILE.tmp, fsync, rename): isolation=pidns|pgroup,
 *                then exit_code=N or signal=N, or exec_error=ERRNO + exec_error_message=,
 *                or setup_error=TEXT; algorithm_pid=N (host pid) once exec succeeded;
 *                log_error=TEXT and escaped_killed=N when they apply; forwarded_signal=N
 *                when the keeper passed SIGTERM or SIGINT on to the algorithm.
 *                FILE.started (algorithm_pid=N, isolation=...) appears right after exec (not
 *                fsync'd: it only matters while the keeper lives).
 *   --log        "<ISO 8601 UTC with ms> out|err <line>" per line, 64 KiB max per record.
 *                Without --log the algorithm writes to the keeper's own stdout/stderr.
 *   --log-cap    bytes on disk for FILE + FILE.1 (FILE rotates at half); 0 = unbounded.
 *   --bind, --bind-ro  applied in order in a private mount namespace; split at the LAST
 *                ':' (DST must not contain ':'). DST is in the job's view (under --rootfs).
 *                SRC is opened with the job's credentials (--uid/--gid/--groups), so a job
 *                binds only what its owner can reach. A DST below an earlier bind (inside
 *                the job's own, writable tree) is resolved beneath that bind without
 *                following any symbolic link, and its missing directories are created as
 *                the job's user; any other missing DST is a setup_error.
 *   Files the keeper writes (FILE, FILE.tmp, FILE.started, the log) are opened with
 *   O_NOFOLLOW and created exclusively: their directories must be writable only by the
 *   keeper's user, which the daemon guarantees (docs/architecture.md, the privilege rule).
 *   --uid/--gid/--groups  credentials of the algorithm (setgroups, setgid, setuid);
 *                --uid without --groups clears the supplementary groups.
 *   --cwd        working directory in the job's view; default "/".
 *   --hostname   with pidns isolation: the algorithm gets a UTS namespace of its own whose
 *                host name is NAME (a SageMaker host is `algo-N`); ignored without pidns.
 *   --container  with pidns: the job's root is a container: an overlay of the --layer
 *                directories (an image's, top first; read-only) under DIR/upper (writable,
 *                with DIR/work), mounted at DIR/root, nosuid and nodev. DIR must be the
 *                keeper's user's alone. Inside: a tmpfs /dev with null, zero, full, random,
 *                urandom and tty bound from the host's, /dev/shm, /dev/pts; /proc; /sys
 *                read-only; /etc/hostname (NAME), /etc/resolv.conf (the host's, read-only);
 *                missing bind targets created. The root is switched with pivot_root.
 *   --device     with --container: a device node of the host (its GPUs: /dev/nvidiaN, nvidiactl,
 *                nvidia-uvm) bound into the container's /dev under its own name; the container
 *                gets no other device but the standard ones.
 *   --container-user  the image's User (name, uid, name:group or uid:gid; default root),
 *                looked up in the container's /etc/passwd and /etc/group: after the
 *                credentials are dropped, a user namespace maps that uid and gid onto the
 *                job's (--uid/--gid). HOME defaults to that user's home.
 *   --cgroup     a cgroup.procs file (a root-only directory of the cgroup file system) the
 *                keeper joins before it forks, so that the algorithm starts inside the host's
 *                limits; repeated for each hierarchy (cgroup v1). The keeper spares itself from
 *                the OOM killer (oom_score_adj -1000) and gives the algorithm back 0.
 *   --joined     1: the keeper is inside those cgroups already (it was a warm keeper, warm.c,
 *                whose cgroups the daemon renamed to the host's); it does not join them again.
 *   --isolation  pidns: PID + mount namespace (plus a user namespace mapping the caller's
 *                own uid/gid when unshare is not permitted); none: a process group;
 *                auto (default): pidns if possible, else none (unless binds are given).
 * Exit status: the algorithm's exit code, or 128+signal; 125 for usage and setup errors,
 * 127 when PROGRAM is not found, 126 when it cannot be executed for another reason.
 *
 * Loop, after the fork: wait in poll() on a signalfd (TERM/INT forwarded to the main
 * process, USR1 kills everything, CHLD reaps our one child by pid), the exec-report pipe
 * (EOF = exec succeeded -> FILE.started), and the two output pipes (-> log). Once the main
 * process has exited: kill what is left, drain the pipes (at most 2 s), write FILE, exit.
 */
#define _GNU_SOURCE
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


// ---- The job log (rotated at half the cap, so FILE + FILE.1 stay within it) and
// ---- atomically replaced key=value files.

// A line longer than this is written as several records.
#define KEEPER_LINE_MAX 65536

// One of the algorithm's output pipes and the part of a line not yet written.
struct stream {
    int fd;           // read end, -1 once EOF was seen
    const char *tag;  // "out" or "err"
    size_t len;       // bytes pending in data
    char data[KEEPER_LINE_MAX];
};

// The bounded, rotating log file.
struct log_sink {
    int fd;
    const char *path;
    char *rotated_path;          // path + ".1"
    unsigned long long half_cap; // 0 = unbounded; else each of FILE and FILE.1 stays <= half_cap
    unsigned long long size;     // bytes in the current file, buffered bytes included
    int error;                   // first write/rename errno, 0 if none
    size_t used;
    char buf[2 * KEEPER_LINE_MAX]; // always holds one whole record
};

// "2026-11-28T12:00:00.123Z out " is 29 bytes; the record adds a newline.
#define PREFIX_LEN 29

static int log_open(struct log_sink *log, const char *path, unsigned long long cap) {
    log->path = path;
    log->half_cap = cap / 2;
    log->size = 0;
    log->used = 0;
    log->error = 0;
    if (asprintf(&log->rotated_path, "%s.1", path) < 0) return -1;
    // Appends: a job's later attempts (after an interruption or a retry) continue its log.
    log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
    if (log->fd < 0) return -1;
    struct stat st;
    if (fstat(log->fd, &st) < 0) return -1;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) { // a FIFO, a device, a file someone else made
        close(log->fd);
        errno = EPERM;
        return -1;
    }
    fcntl(log->fd, F_SETFL, O_APPEND);
    log->size = (unsigned long long)st.st_size;
    return 0;
}

static void log_flush(struct log_sink *log) {
    size_t off = 0;
    while (off < log->used) {
        ssize_t n = write(log->fd, log->buf + off, log->used - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { // disk full or similar: drop this batch but keep draining the pipes
            if (!log->error) log->error = n < 0 ? errno : EIO;
            break;
        }
        off += (size_t)n;
    }
    log->used = 0;
}

// Starts a new FILE once the next record would push it past half the cap.
static void rotate_if_needed(struct log_sink *log, size_t record) {
    if (log->half_cap == 0 || log->size == 0 || log->size + record <= log->half_cap) return;
    log_flush(log);
    if (rename(log->path, log->rotated_path) < 0 && !log->error) log->error = errno;
    // The name is free after the rename: create it anew rather than open whatever is there.
    int fd = open(log->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        if (!log->error) log->error = errno;
        return; // keep the old descriptor: better an oversized log than a lost one
    }
    close(log->fd);
    log->fd = fd;
    log->size = 0;
}

static void log_record(struct log_sink *log, const char *tag, const char *line, size_t len) {
    // A record must fit in half the cap, or rotation could not bound the total.
    if (log->half_cap && PREFIX_LEN + len + 1 > log->half_cap) len = log->half_cap - PREFIX_LEN - 1;
    size_t record = PREFIX_LEN + len + 1;
    rotate_if_needed(log, record);
    if (log->used + record > sizeof log->buf) log_flush(log);

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    char *p = log->buf + log->used;
    strftime(p, 20, "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned ms = (unsigned)(now.tv_nsec / 1000000);
    p[19] = '.';
    p[20] = (char)('0' + ms / 100);
    p[21] = (char)('0' + ms / 10 % 10);
    p[22] = (char)('0' + ms % 10);
    memcpy(p + 23, "Z ", 2);
    memcpy(p + 25, tag, 3);
    p[28] = ' ';
    memcpy(p + PREFIX_LEN, line, len);
    p[PREFIX_LEN + len] = '\n';
    log->used += record;
    log->size += record;
}

static long log_read(struct log_sink *log, struct stream *s) {
    ssize_t n = read(s->fd, s->data + s->len, sizeof s->data - s->len);
    if (n <= 0) return (long)n;
    size_t total = s->len + (size_t)n, start = 0;
    char *nl;
    while ((nl = memchr(s->data + start, '\n', total - start)) != NULL) {
        log_record(log, s->tag, s->data + start, (size_t)(nl - (s->data + start)));
        start = (size_t)(nl - s->data) + 1;
    }
    if (start == 0 && total == sizeof s->data) { // 64 KiB without a newline: split here
        log_record(log, s->tag, s->data, total);
        start = total;
    }
    memmove(s->data, s->data + start, total - start);
    s->len = total - start;
    return (long)n;
}

static void log_tail(struct log_sink *log, struct stream *s) {
    if (s->len) log_record(log, s->tag, s->data, s->len);
    s->len = 0;
}

int write_file_atomically(const char *path, const char *content, int durable) {
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) { errno = ENAMETOOLONG; return -1; }
    // Never through a link or into an existing file: a fresh inode, or nothing.
    if (unlink(tmp) < 0 && errno != ENOENT) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    size_t len = strlen(content), off = 0;
    while (off < len) {
        ssize_t n = write(fd, content + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { int e = errno; close(fd); unlink(tmp); errno = e; return -1; }
        off += (size_t)n;
    }
    if ((durable && fsync(fd) < 0) || close(fd) < 0) { int e = errno; unlink(tmp); errno = e; return -1; }
    if (rename(tmp, path) < 0) { int e = errno; unlink(tmp); errno = e; return -1; }
    if (!durable) return 0;
    // The rename itself is only durable once the directory is synced.
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    return 0;
}

// ---- Supervision.

#define DRAIN_MS 2000  // how long escaped writers may keep the log pipes open
#define SWEEP_MS 50    // isolation none: first hunt for escaped pipe holders, then every 4x

static struct job job;
static const char *status_path;
static char status[8192];  // key=value lines collected for FILE
static struct log_sink logsink;

static void status_add(const char *fmt, ...) {
    size_t used = strlen(status);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(status + used, sizeof status - used, fmt, ap);
    va_end(ap);
    for (char *p = status + used; *p; p++) if (*p == '\n') *p = ' '; // one value per line
    used = strlen(status);
    if (used + 1 < sizeof status) { status[used] = '\n'; status[used + 1] = 0; }
}

static void write_status(void) {
    if (status_path && write_file_atomically(status_path, status, 1) < 0)
        fprintf(stderr, "trainingd-keeper: cannot write %s: %s\n", status_path, strerror(errno));
}

// Before the algorithm runs: record what failed and stop.
static void setup_fail(const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "trainingd-keeper: %s\n", msg);
    status_add("setup_error=%s", msg);
    write_status();
    exit(125);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long long parse_number(const char *flag, const char *text) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *text == 0 || *end || *text == '-') setup_fail("usage: %s needs a number, got '%s'", flag, text);
    return v;
}

static void parse_groups(const char *text) {
    job.have_groups = 1;
    if (*text == 0) return;
    job.groups = calloc(strlen(text) / 2 + 1, sizeof(gid_t));
    char *copy = strdup(text), *save = NULL;
    for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save))
        job.groups[job.ngroups++] = (gid_t)parse_number("--groups", g);
    free(copy);
}

// Reads the algorithm's environment from `fd`: NUL-terminated KEY=VALUE strings.
#define ENV_MAX (16 << 20)
static void read_environment(const char *text) {
    int fd = (int)parse_number("--env-fd", text);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= ENV_MAX) setup_fail("--env-fd: the environment is larger than %d bytes", ENV_MAX);
            buf = realloc(buf, cap *= 2);
        }
        ssize_t n = pread(fd, buf + len, cap - len, (off_t)len); // a memfd: read from its start
        if (n < 0 && errno == ESPIPE) n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) setup_fail("--env-fd %d: %s", fd, strerror(errno));
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    size_t count = 0;
    for (size_t k = 0; k < len; k++) if (buf[k] == 0) count++;
    if (len && buf[len - 1] != 0) setup_fail("--env-fd: the environment must end with a NUL byte");
    job.envp = calloc(count + 1, sizeof *job.envp);
    size_t n = 0;
    for (size_t start = 0; start < len; start += strlen(buf + start) + 1) {
        if (!strchr(buf + start, '=')) setup_fail("--env-fd: '%s' is not KEY=VALUE", buf + start);
        job.envp[n++] = buf + start;
    }
}

static void parse_bind(const char *text, int read_only) {
    char *copy = strdup(text), *colon = strrchr(copy, ':');
    if (!colon || colon == copy || colon[1] != '/' || copy[0] != '/')
        setup_fail("usage: --bind%s needs /SRC:/DST, got '%s'", read_only ? "-ro" : "", text);
    *colon = 0;
    char *dst = colon + 1;
    for (size_t n = strlen(dst); n > 1 && dst[n - 1] == '/'; n--) dst[n - 1] = 0;
    struct bind *b = &job.binds[job.nbinds++];
    b->src = copy;
    b->dst = dst;
    b->read_only = read_only;
}

static void parse_args(int argc, char **argv) {
    job.binds = calloc((size_t)argc, sizeof *job.binds);
    job.layers = calloc((size_t)argc, sizeof *job.layers);
    job.cgroups = calloc((size_t)argc, sizeof *job.cgroups);
    job.devices = calloc((size_t)argc, sizeof *job.devices);
    job.isolation = "auto";
    const char *token = NULL, *cap = "0";
    int i = 1;
    // --status first when present, so that usage errors can be reported through it.
    for (int k = 1; k + 1 < argc && strcmp(argv[k], "--") != 0; k++)
        if (strcmp(argv[k], "--status") == 0) status_path = argv[k + 1];
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) setup_fail("usage: %s needs a value", flag);
        if (!strcmp(flag, "--token")) token = value;
        else if (!strcmp(flag, "--status")) status_path = value;
        else if (!strcmp(flag, "--env-fd")) read_environment(value);
        else if (!strcmp(flag, "--log")) job.log_path = value;
        else if (!strcmp(flag, "--log-cap")) cap = value;
        else if (!strcmp(flag, "--isolation")) job.isolation = value;
        else if (!strcmp(flag, "--rootfs")) job.rootfs = value;
        else if (!strcmp(flag, "--bind")) parse_bind(value, 0);
        else if (!strcmp(flag, "--bind-ro")) parse_bind(value, 1);
        else if (!strcmp(flag, "--uid")) { job.have_uid = 1; job.uid = (uid_t)parse_number(flag, value); }
        else if (!strcmp(flag, "--gid")) { job.have_gid = 1; job.gid = (gid_t)parse_number(flag, value); }
        else if (!strcmp(flag, "--groups")) parse_groups(value);
        else if (!strcmp(flag, "--cwd")) job.cwd = value;
        else if (!strcmp(flag, "--hostname")) job.hostname = value;
        else if (!strcmp(flag, "--container")) job.container = value;
        else if (!strcmp(flag, "--container-user")) job.container_user = value;
        else if (!strcmp(flag, "--layer")) job.layers[job.nlayers++] = value;
        else if (!strcmp(flag, "--cgroup")) job.cgroups[job.ncgroups++] = value;
        else if (!strcmp(flag, "--joined")) job.joined = parse_number(flag, value) != 0;
        else if (!strcmp(flag, "--device")) job.devices[job.ndevices++] = value;
        else setup_fail("usage: unknown flag %s", flag);
    }
    if (!token || !status_path) setup_fail("usage: --token and --status are required");
    if (job.container && (job.nlayers == 0 || job.rootfs || job.container[0] != '/'))
        setup_fail("usage: --container needs an absolute DIR, at least one --layer, and no --rootfs");
    if (!job.container && job.nlayers) setup_fail("usage: --layer needs --container");
    if (!job.container && job.ndevices) setup_fail("usage: --device needs --container (an executable sees the host's /dev)");
    for (int k = 0; k < job.ndevices; k++) {
        const char *name = strrchr(job.devices[k], '/');
        if (job.devices[k][0] != '/' || !name || !name[1] || !strcmp(name, "/.") || !strcmp(name, "/.."))
            setup_fail("usage: --device needs an absolute path to a device node, got '%s'", job.devices[k]);
    }
    if (i + 1 >= argc) setup_fail("usage: no program after --");
    if (strcmp(job.isolation, "auto") && strcmp(job.isolation, "pidns") && strcmp(job.isolation, "none"))
        setup_fail("usage: --isolation must be auto, pidns or none, got '%s'", job.isolation);
    job.log_cap = parse_number("--log-cap", cap);
    if (job.log_cap && job.log_cap < 4096) setup_fail("usage: --log-cap must be 0 or at least 4096");
    job.argv = argv + i + 1;
}

// A stray process group or session can keep our log pipes open after the main process
// is gone. Whoever still holds a write end descends from the job: find and kill them.
static int kill_pipe_holders(int fd_a, int fd_b) {
    char want[2][64] = {"", ""};
    struct stat st;
    if (fd_a >= 0 && fstat(fd_a, &st) == 0) snprintf(want[0], sizeof want[0], "pipe:[%lu]", (unsigned long)st.st_ino);
    if (fd_b >= 0 && fstat(fd_b, &st) == 0) snprintf(want[1], sizeof want[1], "pipe:[%lu]", (unsigned long)st.st_ino);
    return kill_processes_holding(want[0], want[1]);
}

int main(int argc, char **argv) {
    // The daemon gives us 0, 1 and 2; make sure, so that pipes never land on them.
    int fd;
    while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd < 3) fcntl(fd, F_SETFD, 0);
    if (fd >= 3) close(fd);

    if (argc > 1 && strcmp(argv[1], "--warm") == 0) warm_keeper_main(argc, argv); // never returns
    keeper_main(argc, argv);
}

void keeper_main(int argc, char **argv) {
    parse_args(argc, argv);

    // Signals arrive through a signalfd; the child unblocks them right before exec.
    sigset_t handled;
    sigemptyset(&handled);
    int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGCHLD, SIGHUP};
    for (size_t k = 0; k < sizeof sigs / sizeof *sigs; k++) sigaddset(&handled, sigs[k]);
    sigprocmask(SIG_BLOCK, &handled, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) setup_fail("signalfd: %s", strerror(errno));

    // The log lives in the keeper's (host) view, opened before any namespace exists.
    if (job.log_path && log_open(&logsink, job.log_path, job.log_cap) < 0)
        setup_fail("cannot open log %s: %s", job.log_path, strerror(errno));

    char why[512] = "";
    int ns = strcmp(job.isolation, "none") ? enter_pid_namespace(why, sizeof why) : -1;
    if (ns == -2) setup_fail("isolation %s: %s", job.isolation, why);
    job.pidns = ns == 0;
    if (!job.pidns && !strcmp(job.isolation, "pidns")) setup_fail("isolation pidns: %s", why);
    status_add("isolation=%s", job.pidns ? "pidns" : "pgroup");
    if (!job.pidns && job.container)
        setup_fail("a container needs a PID and mount namespace, which isolation %s did not give%s%s",
                   job.isolation, *why ? ": " : "", why);
    if (!job.pidns && job.nbinds)
        setup_fail("binds need a mount namespace, which isolation %s did not give%s%s",
                   job.isolation, *why ? ": " : "", why);

    struct stream out = {.fd = -1, .tag = "out"}, err = {.fd = -1, .tag = "err"};
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2];
    if (job.log_path && (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0))
        setup_fail("pipe: %s", strerror(errno));
    if (pipe2(exec_pipe, O_CLOEXEC) < 0) setup_fail("pipe: %s", strerror(errno));

    // Join the host's cgroups before the fork, so that the algorithm and everything it starts
    // are inside them from their first instruction. The keeper counts against them too, but the
    // kernel's OOM killer is told to spare it: it must live to record how the algorithm ended.
    // A warm keeper (warm.c) joined them before the job was handed to it.
    int spared = 0;
    for (int k = 0; k < job.ncgroups && !job.joined; k++) {
        if (write_text(job.cgroups[k], "0") < 0) setup_fail("cannot join cgroup %s: %s", job.cgroups[k], strerror(errno));
    }
    if (job.ncgroups) spared = write_text("/proc/self/oom_score_adj", "-1000") == 0;

    pid_t child = fork();
    if (child < 0) setup_fail("fork: %s", strerror(errno));
    if (child == 0) {
        // Still root here (run_child drops the credentials): the algorithm is an ordinary victim.
        if (spared) write_text("/proc/self/oom_score_adj", "0");
        run_child(&job, out_pipe[1], err_pipe[1], exec_pipe[1]); // never returns
    }

    if (!job.pidns) setpgid(child, child); // also done by the child: whoever runs first wins
    close(exec_pipe[1]);
    int exec_fd = exec_pipe[0];
    if (job.log_path) {
        close(out_pipe[1]);
        close(err_pipe[1]);
        out.fd = out_pipe[0];
        err.fd = err_pipe[0];
        fcntl(out.fd, F_SETFL, O_NONBLOCK);
        fcntl(err.fd, F_SETFL, O_NONBLOCK);
    }

    struct child_report report = {0};
    size_t report_len = 0;
    int child_done = 0, wait_status = 0, escaped = 0, forwarded = 0;
    long long deadline = 0, next_sweep = 0;
    for (;;) {
        struct pollfd pfd[4];
        int n = 0, i_sig = n++, i_exec = -1, i_out = -1, i_err = -1;
        pfd[i_sig] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (exec_fd >= 0) pfd[i_exec = n++] = (struct pollfd){.fd = exec_fd, .events = POLLIN};
        if (out.fd >= 0) pfd[i_out = n++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
        if (err.fd >= 0) pfd[i_err = n++] = (struct pollfd){.fd = err.fd, .events = POLLIN};
        int timeout = -1;
        if (child_done) {
            if (exec_fd < 0 && out.fd < 0 && err.fd < 0) break;
            long long now = now_ms();
            if (now >= deadline) break;
            if (!job.pidns && now >= next_sweep) {
                escaped += kill_pipe_holders(out.fd, err.fd);
                next_sweep = now + 4 * SWEEP_MS;
            }
            long long wake = job.pidns ? deadline : (deadline < next_sweep ? deadline : next_sweep);
            timeout = (int)(wake - now);
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) { // cannot happen; still, never guess
            if (!child_done) waitpid(child, &wait_status, 0);
            break;
        }

        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            int sig = (int)si.ssi_signo;
            if (child_done) continue;
            if (sig == SIGTERM || sig == SIGINT) {
                kill(child, sig); // the main process only, as docker stop does
                if (!forwarded) forwarded = sig;
            } else if (sig == SIGUSR1) {
                kill(job.pidns ? child : -child, SIGKILL); // PID-namespace init, or the group
            } else if (sig == SIGCHLD) {
                // Notice the exit without reaping: the zombie keeps the pid and the
                // process group id from being reused while we kill the group.
                siginfo_t info = {0};
                if (waitid(P_PID, (id_t)child, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == child) {
                    if (!job.pidns) kill(-child, SIGKILL);
                    waitpid(child, &wait_status, 0);
                    child_done = 1;
                    deadline = now_ms() + DRAIN_MS;
                    next_sweep = now_ms() + SWEEP_MS;
                }
            }
        }
        if (i_exec >= 0 && pfd[i_exec].revents) {
            ssize_t r = read(exec_fd, (char *)&report + report_len, sizeof report - report_len);
            if (r > 0) {
                report_len += (size_t)r;
            } else if (r == 0 || errno != EINTR) {
                close(exec_fd);
                exec_fd = -1;
                if (report_len == 0) { // the CLOEXEC pipe closed without a report: exec worked
                    char started[128];
                    snprintf(started, sizeof started, "algorithm_pid=%d\nisolation=%s\n", (int)child,
                             job.pidns ? "pidns" : "pgroup");
                    char path[4096];
                    snprintf(path, sizeof path, "%s.started", status_path);
                    // Not synced: it matters while the keeper lives (to a daemon that adopts it), and
                    // a power loss ends the keeper too. The status file at the end is synced.
                    if (write_file_atomically(path, started, 0) < 0)
                        fprintf(stderr, "trainingd-keeper: cannot write %s: %s\n", path, strerror(errno));
                }
            }
        }
        struct stream *streams[2] = {&out, &err};
        int idx[2] = {i_out, i_err};
        for (int k = 0; k < 2; k++) {
            if (idx[k] < 0 || !pfd[idx[k]].revents) continue;
            long r = log_read(&logsink, streams[k]);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                log_tail(&logsink, streams[k]);
                close(streams[k]->fd);
                streams[k]->fd = -1;
            }
        }
        if (job.log_path) log_flush(&logsink);
    }
    // What the algorithm wrote before it ended is in the pipes already: read it all, even when
    // the deadline passed first (a keeper kept off the CPU, or held up by a slow disk, for the
    // whole drain), without waiting for writers that are left. Bounded: at most 64 MiB more.
    if (job.log_path) {
        struct stream *streams[2] = {&out, &err};
        for (int k = 0; k < 2; k++) {
            for (long total = 0; streams[k]->fd >= 0 && total < (64L << 20);) {
                long r = log_read(&logsink, streams[k]);
                if (r <= 0) break; // EAGAIN: nothing more is there now; 0: EOF
                total += r;
                log_flush(&logsink);
            }
        }
    }
    // Whatever stayed unterminated or unread past the deadline still belongs in the log.
    if (job.log_path) {
        log_tail(&logsink, &out);
        log_tail(&logsink, &err);
        log_flush(&logsink);
    }

    int code;
    if (report_len >= sizeof report.kind + sizeof report.err && report.kind == REPORT_SETUP) {
        status_add("setup_error=%.*s", (int)sizeof report.message, report.message);
        code = 125;
    } else if (report_len >= sizeof report.kind + sizeof report.err && report.kind == REPORT_EXEC) {
        status_add("exec_error=%d", report.err);
        status_add("exec_error_message=%.*s", (int)sizeof report.message, report.message);
        code = report.err == ENOENT ? 127 : 126;
    } else {
        status_add("algorithm_pid=%d", (int)child);
        if (WIFSIGNALED(wait_status)) {
            status_add("signal=%d", WTERMSIG(wait_status));
            code = 128 + WTERMSIG(wait_status);
        } else {
            status_add("exit_code=%d", WEXITSTATUS(wait_status));
            code = WEXITSTATUS(wait_status);
        }
    }
    if (job.log_path && logsink.error) status_add("log_error=%s: %s", job.log_path, strerror(logsink.error));
    if (escaped) status_add("escaped_killed=%d", escaped);
    // Whoever asked: a daemon that did not (it was down, or it is a new one) learns that the
    // algorithm was terminated from outside (system shutdown) rather than finishing.
    if (forwarded) status_add("forwarded_signal=%d", forwarded);
    write_status();
    exit(code);
}
