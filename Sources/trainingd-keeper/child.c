// The namespaces and everything the forked child does between fork and exec, plus the
// /proc sweep that finds processes which escaped a job's process group.
#define _GNU_SOURCE
#include "keeper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int write_proc(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

int enter_pid_namespace(char *why, size_t len) {
    // The keeper itself stays in the host's mount namespace (the child makes its own), so
    // that the log and status paths are never shadowed by the job's binds.
    if (unshare(CLONE_NEWPID) == 0) return 0;
    int first = errno;
    // Not privileged: a user namespace gives us the right to make the others. It maps our
    // own uid and gid to themselves, so files and signals keep working as before.
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0) {
        snprintf(why, len, "unshare(CLONE_NEWPID): %s; unshare(CLONE_NEWUSER|CLONE_NEWPID): %s",
                 strerror(first), strerror(errno));
        return -1;
    }
    char map[64];
    const char *step = "/proc/self/setgroups";
    int ok = write_proc(step, "deny") == 0; // required before an unprivileged gid_map
    snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
    if (ok) ok = write_proc(step = "/proc/self/uid_map", map) == 0;
    snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
    if (ok) ok = write_proc(step = "/proc/self/gid_map", map) == 0;
    if (ok) return 0;
    // We are inside a user namespace without a mapping now: there is no way back.
    snprintf(why, len, "user namespace: writing %s: %s", step, strerror(errno));
    return -2;
}

static const struct job *J;
static int report_fd;

__attribute__((noreturn)) static void fail(int kind, int err, const char *fmt, ...) {
    struct child_report r = {.kind = kind, .err = err};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    if (write(report_fd, &r, sizeof r) < 0) { /* the keeper is gone; nobody to tell */ }
    _exit(kind == REPORT_EXEC ? (err == ENOENT ? 127 : 126) : 125);
}

// Creates the missing directories of `path` below `base` (an existing mount point).
static void make_below(const char *base, const char *path, int last_is_file) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + strlen(base) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) fail(REPORT_SETUP, errno, "mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    int rc = last_is_file ? open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : mkdir(buf, 0755);
    if (rc < 0 && errno != EEXIST) fail(REPORT_SETUP, errno, "create %s: %s", buf, strerror(errno));
    if (last_is_file && rc >= 0) close(rc);
}

static int is_below(const char *path, const char *base) {
    size_t n = strlen(base);
    return strncmp(path, base, n) == 0 && (path[n] == '/' || (n == 1 && base[0] == '/'));
}

static void apply_bind(int index) {
    const struct bind *b = &J->binds[index];
    const char *root = J->rootfs ? J->rootfs : "";
    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s%s", root, b->dst);
    struct stat src_st, dst_st;
    if (stat(b->src, &src_st) < 0) fail(REPORT_SETUP, errno, "bind source %s: %s", b->src, strerror(errno));
    if (stat(target, &dst_st) < 0) {
        if (errno != ENOENT) fail(REPORT_SETUP, errno, "bind target %s: %s", target, strerror(errno));
        // Only inside an earlier bind (the job's own tree); never on the host's root.
        int parent = -1;
        for (int k = 0; k < index; k++) if (is_below(b->dst, J->binds[k].dst)) parent = k;
        if (parent < 0)
            fail(REPORT_SETUP, ENOENT, "bind target %s does not exist: create it, or bind a parent directory first",
                 target);
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%s%s", root, J->binds[parent].dst);
        make_below(base, target, !S_ISDIR(src_st.st_mode));
    }
    if (mount(b->src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(REPORT_SETUP, errno, "bind %s to %s: %s", b->src, target, strerror(errno));
    if (!b->read_only) return;
    // In a user namespace the source's nosuid/nodev/noexec/atime flags are locked and
    // a remount that drops them is refused: carry them over.
    struct statvfs vfs;
    unsigned long keep = 0;
    if (statvfs(target, &vfs) == 0) {
        static const unsigned long map[][2] = {{ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
                                               {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
                                               {ST_RELATIME, MS_RELATIME}};
        for (size_t k = 0; k < sizeof map / sizeof *map; k++) if (vfs.f_flag & map[k][0]) keep |= map[k][1];
    }
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
        fail(REPORT_SETUP, errno, "read-only remount of %s: %s", target, strerror(errno));
}

void run_child(const struct job *job, int out_fd, int err_fd, int fd) {
    J = job;
    report_fd = fd;
    // Default dispositions for every signal (the mask stays blocked until just before exec).
    // Raw syscall: glibc refuses its internal signals 32 and 33, yet an inherited "ignored"
    // on them would survive exec. An all-zero kernel sigaction is SIG_DFL on every arch.
    static const unsigned long dfl[8];
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, dfl, NULL, (NSIG - 1) / 8);
    if (!job->pidns && setpgid(0, 0) < 0) fail(REPORT_SETUP, errno, "setpgid: %s", strerror(errno));

    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0) fail(REPORT_SETUP, errno, "stdin /dev/null: %s", strerror(errno));
    if (out_fd >= 0 && (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0))
        fail(REPORT_SETUP, errno, "dup2: %s", strerror(errno));
    // Nothing but 0, 1, 2 reaches the job; the report pipe is CLOEXEC and closes at exec.
    if (report_fd > 3) close_range(3, (unsigned)report_fd - 1, 0);
    close_range((unsigned)report_fd + 1, ~0U, 0);

    const char *root = job->rootfs ? job->rootfs : "";
    if (job->pidns) {
        if (unshare(CLONE_NEWNS) < 0) fail(REPORT_SETUP, errno, "unshare(CLONE_NEWNS): %s", strerror(errno));
        // Or our mounts would propagate back to the host.
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            fail(REPORT_SETUP, errno, "make / rprivate: %s", strerror(errno));
        // A /proc that shows the job's own PID namespace.
        char proc[PATH_MAX];
        snprintf(proc, sizeof proc, "%s/proc", root);
        if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            fail(REPORT_SETUP, errno, "mount proc on %s: %s", proc, strerror(errno));
    }
    for (int k = 0; k < job->nbinds; k++) apply_bind(k);
    if (job->rootfs && (chroot(job->rootfs) < 0 || chdir("/") < 0))
        fail(REPORT_SETUP, errno, "chroot %s: %s", job->rootfs, strerror(errno));

    // Groups first, uid last: each step needs the privilege the next one drops.
    if (job->have_groups || (job->have_uid && geteuid() == 0)) {
        if (setgroups(job->ngroups, job->groups) < 0) fail(REPORT_SETUP, errno, "setgroups: %s", strerror(errno));
    }
    if (job->have_gid && setgid(job->gid) < 0)
        fail(REPORT_SETUP, errno, "setgid(%u): %s", (unsigned)job->gid, strerror(errno));
    if (job->have_uid && setuid(job->uid) < 0)
        fail(REPORT_SETUP, errno, "setuid(%u): %s", (unsigned)job->uid, strerror(errno));
    const char *cwd = job->cwd ? job->cwd : "/";
    if (chdir(cwd) < 0) fail(REPORT_SETUP, errno, "working directory %s: %s", cwd, strerror(errno));

    // After setuid, which clears it. If the keeper died before this point, the report
    // pipe has no reader left (POLLERR): do not start an unsupervised job.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct pollfd p = {.fd = report_fd, .events = POLLOUT};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) _exit(125);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvpe(job->argv[0], job->argv, environ);
    int e = errno;
    fail(REPORT_EXEC, e, "cannot execute %s: %s", job->argv[0], strerror(e));
}

int kill_processes_holding(const char *a, const char *b) {
    DIR *proc = opendir("/proc");
    if (!proc) return 0;
    int killed = 0;
    pid_t self = getpid();
    struct dirent *d;
    while ((d = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(d->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self) continue;
        char path[64], link[128];
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
        DIR *fds = opendir(path);
        if (!fds) continue;
        struct dirent *f;
        while ((f = readdir(fds)) != NULL) {
            ssize_t n = readlinkat(dirfd(fds), f->d_name, link, sizeof link - 1);
            if (n <= 0) continue;
            link[n] = 0;
            if ((*a && !strcmp(link, a)) || (*b && !strcmp(link, b))) {
                if (kill((pid_t)pid, SIGKILL) == 0) killed++;
                break;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return killed;
}
