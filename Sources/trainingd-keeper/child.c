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
#include <linux/openat2.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
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
    int ok = write_text(step, "deny") == 0; // required before an unprivileged gid_map
    snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
    if (ok) ok = write_text(step = "/proc/self/uid_map", map) == 0;
    snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
    if (ok) ok = write_text(step = "/proc/self/gid_map", map) == 0;
    if (ok) return 0;
    // We are inside a user namespace without a mapping now: there is no way back.
    snprintf(why, len, "user namespace: writing %s: %s", step, strerror(errno));
    return -2;
}

static const struct job *J;
static int report_fd;

__attribute__((noreturn)) void child_fail(int kind, int err, const char *fmt, ...) {
    struct child_report r = {.kind = kind, .err = err};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    if (write(report_fd, &r, sizeof r) < 0) { /* the keeper is gone; nobody to tell */ }
    _exit(kind == REPORT_EXEC ? (err == ENOENT ? 127 : 126) : 125);
}

// ---- Binds that nothing the job wrote can redirect.
//
// The keeper is root, and the tree the job's binds land in (its volume) belongs to the job's
// user, who may have replaced any of it with symbolic links. So: a bind's source is opened
// with the user's credentials (the job binds only what its owner can reach); a target below an
// earlier bind is resolved beneath that bind's root with openat2 and no symbolic links at all;
// the mount is made with open_tree/move_mount on those descriptors, never by path.

// The descriptor of each bind's mounted root, for the binds nested below it (-1: none).
static int mounted_root[256];

int child_openat2(int dirfd, const char *path, int flags, unsigned long long resolve) {
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// The job user's identity as the effective one (file-system checks are then that user's),
// and back. Only meaningful for a root keeper that was given credentials.
static int owner_identity(void) { return J->have_uid && getuid() == 0; }

void child_become_owner(void) {
    if (!owner_identity()) return;
    if (setgroups(J->ngroups, J->groups) < 0 || setresgid((gid_t)-1, J->have_gid ? J->gid : 0, (gid_t)-1) < 0
        || setresuid((uid_t)-1, J->uid, (uid_t)-1) < 0)
        child_fail(REPORT_SETUP, errno, "take the job user's identity: %s", strerror(errno));
}

void child_become_keeper(void) {
    if (!owner_identity()) return;
    if (setresuid((uid_t)-1, 0, (uid_t)-1) < 0 || setresgid((gid_t)-1, 0, (gid_t)-1) < 0)
        child_fail(REPORT_SETUP, errno, "return to the keeper's identity: %s", strerror(errno));
}

// Creates the missing directories (and, when `last_is_file`, the final file) of `relative`
// beneath `anchor`, as the job's user and without following links.
static void make_beneath(int anchor, const char *relative, int last_is_file) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", relative);
    child_become_owner();
    int dir = dup(anchor);
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        int last = save == NULL || *save == 0;
        int rc = last && last_is_file ? openat(dir, part, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)
                                      : mkdirat(dir, part, 0755);
        if (rc < 0 && errno != EEXIST) child_fail(REPORT_SETUP, errno, "create %s in the job's tree: %s", relative, strerror(errno));
        if (last && last_is_file) { if (rc >= 0) close(rc); break; }
        int next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) child_fail(REPORT_SETUP, errno, "open %s in the job's tree: %s", relative, strerror(errno));
        close(dir);
        dir = next;
    }
    close(dir);
    child_become_keeper();
}

int path_is_below(const char *path, const char *base) {
    size_t n = strlen(base);
    return strncmp(path, base, n) == 0 && (path[n] == '/' || (n == 1 && base[0] == '/'));
}

// Attaches a detached mount (`tree`) at `target`, a descriptor opened with O_PATH.
void child_attach(int tree, int target, const char *what) {
    if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        child_fail(REPORT_SETUP, errno, "mount %s: %s%s", what, strerror(errno),
             errno == ENOSYS ? " (trainingd needs Linux 5.12 or later)" : "");
    close(tree);
}

static void apply_bind(int index, int root_fd) {
    const struct bind *b = &J->binds[index];
    int parent = -1;
    for (int k = 0; k < index; k++) if (mounted_root[k] >= 0 && path_is_below(b->dst, J->binds[k].dst)) parent = k;
    // Below an earlier bind: the job's own tree, so no link is followed and nothing leaves it.
    // Otherwise the host's (or the image's) tree, where links resolve inside the root.
    int anchor = parent >= 0 ? mounted_root[parent] : root_fd;
    const char *relative = parent >= 0 ? b->dst + strlen(J->binds[parent].dst) : b->dst;
    while (*relative == '/') relative++;
    unsigned long long resolve = parent >= 0 ? RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
                                             : RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    if (*relative == 0) relative = ".";

    // Read access, not just O_PATH's search rights: what the job could not list or read
    // itself, it does not get bound either.
    child_become_owner();
    int source = open(b->src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int source_errno = errno;
    child_become_keeper();
    if (source < 0)
        child_fail(REPORT_SETUP, source_errno, "bind source %s: %s (opened with the job user's rights)", b->src,
             strerror(source_errno));
    struct stat src_st;
    if (fstat(source, &src_st) < 0) child_fail(REPORT_SETUP, errno, "bind source %s: %s", b->src, strerror(errno));
    int is_dir = S_ISDIR(src_st.st_mode);

    int target = child_openat2(anchor, relative, O_PATH, resolve);
    if (target < 0 && errno == ENOENT && parent >= 0) {
        make_beneath(anchor, relative, !is_dir);
        target = child_openat2(anchor, relative, O_PATH, resolve);
    }
    if (target < 0) {
        int e = errno;
        if (e == ENOENT)
            child_fail(REPORT_SETUP, e, "bind target %s does not exist: create it, or bind a parent directory first", b->dst);
        child_fail(REPORT_SETUP, e, "bind target %s: %s%s", b->dst, strerror(e),
             e == ELOOP || e == EXDEV ? " (a symbolic link or a path leaving the job's tree is refused)" : "");
    }

    int tree = (int)open_tree(source, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (tree < 0)
        child_fail(REPORT_SETUP, errno, "bind %s to %s: %s%s", b->src, b->dst, strerror(errno),
             errno == ENOSYS ? " (trainingd needs Linux 5.12 or later)" : "");
    if (b->read_only) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
            child_fail(REPORT_SETUP, errno, "read-only bind of %s: %s", b->src, strerror(errno));
    }
    char what[PATH_MAX + 8];
    snprintf(what, sizeof what, "%s on %s", b->src, b->dst);
    child_attach(tree, target, what);
    close(target);
    close(source);
    // Nested binds go below what was just mounted, reached the same way.
    mounted_root[index] = is_dir ? child_openat2(anchor, relative, O_PATH | O_DIRECTORY, resolve) : -1;
}

// A /proc that shows the job's own PID namespace, at `<root>/proc` resolved inside the root.
static void mount_proc(int root_fd) {
    int fs = fsopen("proc", FSOPEN_CLOEXEC);
    if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        child_fail(REPORT_SETUP, errno, "create a proc file system: %s%s", strerror(errno),
             errno == ENOSYS ? " (trainingd needs Linux 5.12 or later)" : "");
    int tree = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (tree < 0) child_fail(REPORT_SETUP, errno, "mount proc: %s", strerror(errno));
    close(fs);
    int target = child_openat2(root_fd, "proc", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (target < 0) child_fail(REPORT_SETUP, errno, "the job's /proc: %s", strerror(errno));
    child_attach(tree, target, "proc on /proc");
    close(target);
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
    if (!job->pidns && setpgid(0, 0) < 0) child_fail(REPORT_SETUP, errno, "setpgid: %s", strerror(errno));

    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0) child_fail(REPORT_SETUP, errno, "stdin /dev/null: %s", strerror(errno));
    if (out_fd >= 0 && (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0))
        child_fail(REPORT_SETUP, errno, "dup2: %s", strerror(errno));
    // Nothing but 0, 1, 2 reaches the job; the report pipe is CLOEXEC and closes at exec.
    if (report_fd > 3) close_range(3, (unsigned)report_fd - 1, 0);
    close_range((unsigned)report_fd + 1, ~0U, 0);

    struct container_identity identity = {0};
    if (job->pidns) {
        if (unshare(CLONE_NEWNS | (job->hostname ? CLONE_NEWUTS : 0)) < 0)
            child_fail(REPORT_SETUP, errno, "unshare(CLONE_NEWNS%s): %s", job->hostname ? "|CLONE_NEWUTS" : "", strerror(errno));
        if (job->hostname && sethostname(job->hostname, strlen(job->hostname)) < 0)
            child_fail(REPORT_SETUP, errno, "sethostname(%s): %s", job->hostname, strerror(errno));
        // Or our mounts would propagate back to the host.
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            child_fail(REPORT_SETUP, errno, "make / rprivate: %s", strerror(errno));
        int root_fd = job->container ? container_mount_root(job, &identity)
                                     : open(job->rootfs ? job->rootfs : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) child_fail(REPORT_SETUP, errno, "root %s: %s", job->rootfs ? job->rootfs : "/", strerror(errno));
        mount_proc(root_fd);
        if (job->nbinds > (int)(sizeof mounted_root / sizeof *mounted_root))
            child_fail(REPORT_SETUP, E2BIG, "at most %d binds", (int)(sizeof mounted_root / sizeof *mounted_root));
        for (int k = 0; k < job->nbinds; k++) mounted_root[k] = -1;
        for (int k = 0; k < job->nbinds; k++) apply_bind(k, root_fd);
        for (int k = 0; k < job->nbinds; k++) if (mounted_root[k] >= 0) close(mounted_root[k]);
        if (job->container) container_enter_root(root_fd);
        close(root_fd);
    }
    if (job->rootfs && (chroot(job->rootfs) < 0 || chdir("/") < 0))
        child_fail(REPORT_SETUP, errno, "chroot %s: %s", job->rootfs, strerror(errno));

    // Groups first, uid last: each step needs the privilege the next one drops.
    if (job->have_groups || (job->have_uid && geteuid() == 0)) {
        if (setgroups(job->ngroups, job->groups) < 0) child_fail(REPORT_SETUP, errno, "setgroups: %s", strerror(errno));
    }
    if (job->have_gid && setgid(job->gid) < 0)
        child_fail(REPORT_SETUP, errno, "setgid(%u): %s", (unsigned)job->gid, strerror(errno));
    if (job->have_uid && setuid(job->uid) < 0)
        child_fail(REPORT_SETUP, errno, "setuid(%u): %s", (unsigned)job->uid, strerror(errno));
    if (job->container) container_map_identity(&identity);
    const char *cwd = job->cwd ? job->cwd : "/";
    if (chdir(cwd) < 0) child_fail(REPORT_SETUP, errno, "working directory %s: %s", cwd, strerror(errno));

    // After setuid, which clears it. If the keeper died before this point, the report
    // pipe has no reader left (POLLERR): do not start an unsupervised job.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct pollfd p = {.fd = report_fd, .events = POLLOUT};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) _exit(125);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // Only now, as the job's user: its environment, and the lookup with its PATH.
    if (job->envp) environ = job->envp;
    // In a container, HOME is the image user's unless the job or the image set one (as Docker's).
    if (job->container && !getenv("HOME")) setenv("HOME", identity.home, 1);
    execvp(job->argv[0], job->argv);
    int e = errno;
    child_fail(REPORT_EXEC, e, "cannot execute %s: %s", job->argv[0], strerror(e));
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
