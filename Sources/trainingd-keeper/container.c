// A container as SageMaker gives one, built in the algorithm's mount namespace by the child
// while it is still root: the image's layers under a writable layer of this host's own, a real
// /dev, /proc, a read-only /sys, the host name and resolver, then pivot_root. Everything here
// happens before the job runs and inside directories only the keeper's user can reach (the
// image's layers, the daemon's DIR), or inside the new root, which nobody else can see yet.
#define _GNU_SOURCE
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

// The kernel's words on a failed fsconfig (overlayfs says which layer and why).
static const char *fs_log(int fs, char *buf, size_t len) {
    buf[0] = 0;
    ssize_t n = read(fs, buf, len - 1);
    if (n > 0) {
        buf[n] = 0;
        if (buf[n - 1] == '\n') buf[n - 1] = 0;
    }
    return buf;
}

// A new file system of `type` with string options (NULL-terminated name/value pairs), detached.
// `hint` (or NULL) is added to a failure's message: what the user can do about it.
static int new_mount(const char *type, const char *const *options, unsigned attributes, const char *hint) {
    hint = hint ? hint : "";
    int fs = fsopen(type, FSOPEN_CLOEXEC);
    if (fs < 0) child_fail(REPORT_SETUP, errno, "create a %s file system: %s%s", type, strerror(errno), hint);
    char log[512];
    for (const char *const *o = options; o && o[0]; o += 2)
        if (fsconfig(fs, FSCONFIG_SET_STRING, o[0], o[1], 0) < 0)
            child_fail(REPORT_SETUP, errno, "%s option %s=%s: %s %s%s", type, o[0], o[1], strerror(errno), fs_log(fs, log, sizeof log), hint);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        child_fail(REPORT_SETUP, errno, "create the %s mount: %s %s%s", type, strerror(errno), fs_log(fs, log, sizeof log), hint);
    int tree = fsmount(fs, FSMOUNT_CLOEXEC, attributes);
    if (tree < 0) child_fail(REPORT_SETUP, errno, "mount %s: %s", type, strerror(errno));
    close(fs);
    return tree;
}

static int open_in_root(int root_fd, const char *path, int flags) {
    int fd = child_openat2(root_fd, path, flags, IN_ROOT);
    if (fd < 0) child_fail(REPORT_SETUP, errno, "%s in the container: %s", path, strerror(errno));
    return fd;
}

// Binds a host path (a device node, /sys, resolv.conf: the host's own, never a user's) at
// `target` inside the root, which must exist.
static void bind_host(int root_fd, const char *host_path, const char *target, unsigned attr_set, int recursive) {
    int tree = (int)open_tree(AT_FDCWD, host_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (tree < 0) child_fail(REPORT_SETUP, errno, "bind the host's %s: %s", host_path, strerror(errno));
    if (attr_set) {
        struct mount_attr attr = {.attr_set = attr_set};
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
            child_fail(REPORT_SETUP, errno, "bind the host's %s read-only: %s", host_path, strerror(errno));
    }
    int at = open_in_root(root_fd, target, O_PATH);
    child_attach(tree, at, target);
    close(at);
}

static void mount_at(int root_fd, int tree, const char *target) {
    int at = open_in_root(root_fd, target, O_PATH | O_DIRECTORY);
    child_attach(tree, at, target);
    close(at);
}

// /dev itself was made in the writable layer (prepare_upper).
static void make_dev(int root_fd, const struct job *job) {
    const char *dev_options[] = {"mode", "0755", "size", "1m", NULL};
    mount_at(root_fd, new_mount("tmpfs", dev_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV, NULL), "/dev");
    int dev = open_in_root(root_fd, "/dev", O_RDONLY | O_DIRECTORY);
    // The nodes are the host's, bound: a tmpfs mounted nodev can hold them, and the job gets
    // exactly these devices and no other of the machine's.
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t k = 0; k < sizeof nodes / sizeof *nodes; k++) {
        int fd = openat(dev, nodes[k], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) child_fail(REPORT_SETUP, errno, "/dev/%s in the container: %s", nodes[k], strerror(errno));
        close(fd);
        char host[64], target[64];
        snprintf(host, sizeof host, "/dev/%s", nodes[k]);
        snprintf(target, sizeof target, "/dev/%s", nodes[k]);
        bind_host(root_fd, host, target, 0, 0);
    }
    // The host's GPUs, and only them (--device): bound under their own names.
    for (int k = 0; k < job->ndevices; k++) {
        const char *name = strrchr(job->devices[k], '/') + 1;
        int fd = openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) child_fail(REPORT_SETUP, errno, "/dev/%s in the container: %s", name, strerror(errno));
        close(fd);
        char target[4200];
        snprintf(target, sizeof target, "/dev/%s", name);
        bind_host(root_fd, job->devices[k], target, 0, 0);
    }
    if (mkdirat(dev, "shm", 01777) < 0 || mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "mqueue", 0755) < 0)
        child_fail(REPORT_SETUP, errno, "directories of /dev in the container: %s", strerror(errno));
    const char *shm_options[] = {"mode", "1777", NULL};
    mount_at(root_fd, new_mount("tmpfs", shm_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, NULL), "/dev/shm");
    // A devpts of its own (each fsopen is a new instance): the job's terminals are its own.
    const char *pts_options[] = {"ptmxmode", "0666", "mode", "0620", NULL};
    mount_at(root_fd, new_mount("devpts", pts_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, NULL), "/dev/pts");
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (size_t k = 0; k < sizeof links / sizeof *links; k++)
        if (symlinkat(links[k][0], dev, links[k][1]) < 0)
            child_fail(REPORT_SETUP, errno, "/dev/%s in the container: %s", links[k][1], strerror(errno));
    close(dev);
}

static int find_entry(const char *file, const char *name, int by_id, char *buf, size_t len, char **fields, int nfields, int view);
static void resolve_user(const struct job *job, int view, struct container_identity *identity);

// The image's layers as one read-only tree (no writable layer), to read its /etc/passwd before
// the container is made: one layer is its directory; more are a read-only overlay, detached.
static int layers_view(const struct job *job) {
    if (job->nlayers == 1) {
        int fd = open(job->layers[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) child_fail(REPORT_SETUP, errno, "image layer %s: %s", job->layers[0], strerror(errno));
        return fd;
    }
    const char *options[2 * job->nlayers + 1];
    for (int k = 0; k < job->nlayers; k++) {
        options[2 * k] = "lowerdir+";
        options[2 * k + 1] = job->layers[k];
    }
    options[2 * job->nlayers] = NULL;
    int tree = new_mount("overlay", options, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                         " (container images need overlayfs with lowerdir+, Linux 6.8 or later)");
    return tree;
}

// The idmapping of the image's layers swaps two ids: the image user's becomes the job's and
// the job's the image user's; every other id stays as it is. Each on-disk id keeps an owner
// (overlayfs copies a file up only if its owner maps), and the image user's files are the job's.
static unsigned mapped(unsigned on_disk, unsigned image_user, unsigned job) {
    return on_disk == image_user ? job : on_disk == job ? image_user : on_disk;
}

// That swap as a uid_map or gid_map ("inside outside count" lines, written at once).
static void swap_map(char *out, size_t len, unsigned image_user, unsigned job) {
    const unsigned long long all = 4294967295ULL; // ids 0 .. 2^32-2; (uid_t)-1 is no id
    unsigned long long lo = image_user < job ? image_user : job, hi = image_user < job ? job : image_user;
    size_t used = 0;
    if (lo == hi) { snprintf(out, len, "0 0 %llu\n", all); return; }
    if (lo > 0) used += (size_t)snprintf(out + used, len - used, "0 0 %llu\n", lo);
    used += (size_t)snprintf(out + used, len - used, "%u %u 1\n%u %u 1\n", image_user, job, job, image_user);
    if (hi - lo > 1) used += (size_t)snprintf(out + used, len - used, "%llu %llu %llu\n", lo + 1, lo + 1, hi - lo - 1);
    if (hi + 1 < all) snprintf(out + used, len - used, "%llu %llu %llu\n", hi + 1, hi + 1, all - hi - 1);
}

// A user namespace whose maps are the swap above, for uids and gids: the idmapping of the
// layers, so that the image user's files are the job's (and, for an image that runs as root,
// the whole image is, in the container's own writable layer).
// Made by a short-lived child; its maps are read through a proc of our PID namespace.
static int idmapping(const struct container_identity *identity, uid_t uid, gid_t gid) {
    int ready[2], done[2];
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) child_fail(REPORT_SETUP, errno, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) child_fail(REPORT_SETUP, errno, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(ready[0]);
        close(done[1]); // or the read below would never see the end
        char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1) _exit(1);
        if (read(done[0], &c, 1) < 0) _exit(1); // until the parent has the namespace
        _exit(0);
    }
    close(ready[1]);
    close(done[0]);
    char c = 0;
    if (read(ready[0], &c, 1) != 1 || c != 'y') child_fail(REPORT_SETUP, EPERM, "a user namespace for the image's idmapping could not be made");
    close(ready[0]);
    const char *proc_options[] = {NULL};
    int proc = new_mount("proc", proc_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, NULL);
    char path[64], map[256];
    snprintf(path, sizeof path, "%d/uid_map", (int)pid);
    swap_map(map, sizeof map, (unsigned)identity->uid, (unsigned)uid);
    int fd = openat(proc, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) child_fail(REPORT_SETUP, errno, "the image's uid mapping: %s", strerror(errno));
    close(fd);
    snprintf(path, sizeof path, "%d/gid_map", (int)pid);
    swap_map(map, sizeof map, (unsigned)identity->gid, (unsigned)gid);
    fd = openat(proc, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) child_fail(REPORT_SETUP, errno, "the image's gid mapping: %s", strerror(errno));
    close(fd);
    snprintf(path, sizeof path, "%d/ns/user", (int)pid);
    int userns = openat(proc, path, O_RDONLY | O_CLOEXEC);
    if (userns < 0) child_fail(REPORT_SETUP, errno, "the image's idmapping namespace: %s", strerror(errno));
    close(proc);
    close(done[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return userns;
}

// Creates `path` in the writable layer before the overlay is mounted (through the idmapped
// layers root could create nothing where the image user is not the owner): its missing
// directories, with the owner and mode the layers give them at that path so that the merged
// tree looks as the image's, and, when `contents` is given, the last component as a file of
// root's. The writable layer is the daemon's and nobody else can reach it yet.
static void upper_make(int upper, int view, const char *path, const char *contents, const struct container_identity *id, uid_t uid, gid_t gid) {
    char buf[PATH_MAX], prefix[PATH_MAX] = "";
    snprintf(buf, sizeof buf, "%s", path);
    int dir = dup(upper);
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        int last = save == NULL || *save == 0;
        size_t used = strlen(prefix);
        snprintf(prefix + used, sizeof prefix - used, "/%s", part);
        if (last && contents) {
            int fd = openat(dir, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (fd < 0) child_fail(REPORT_SETUP, errno, "create %s in the container: %s", prefix, strerror(errno));
            size_t len = strlen(contents);
            if (write(fd, contents, len) != (ssize_t)len) child_fail(REPORT_SETUP, errno, "write %s in the container: %s", prefix, strerror(errno));
            close(fd);
            break;
        }
        if (mkdirat(dir, part, 0755) == 0) {
            int lower = child_openat2(view, prefix, O_PATH | O_NOFOLLOW, IN_ROOT);
            struct stat st;
            if (lower >= 0 && fstat(lower, &st) == 0 && S_ISDIR(st.st_mode)) {
                if (fchownat(dir, part, mapped(st.st_uid, id->uid, uid), mapped(st.st_gid, id->gid, gid), AT_SYMLINK_NOFOLLOW) < 0
                    || fchmodat(dir, part, st.st_mode & 07777, 0) < 0)
                    child_fail(REPORT_SETUP, errno, "%s in the container's writable layer: %s", prefix, strerror(errno));
            }
            if (lower >= 0) close(lower);
        } else if (errno != EEXIST) {
            child_fail(REPORT_SETUP, errno, "create %s in the container: %s", prefix, strerror(errno));
        }
        int next = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) child_fail(REPORT_SETUP, errno, "%s in the container's writable layer: %s", prefix, strerror(errno));
        close(dir);
        dir = next;
    }
    close(dir);
}

// Everything the container needs that the image may lack, made in its writable layer: the
// mount points (/dev, /proc, /sys, the job's bind targets), /etc/hostname and /etc/resolv.conf.
static void prepare_upper(const struct job *job, int view, const struct container_identity *id, uid_t uid, gid_t gid) {
    char upper_path[PATH_MAX];
    snprintf(upper_path, sizeof upper_path, "%s/upper", job->container);
    int upper = open(upper_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (upper < 0) child_fail(REPORT_SETUP, errno, "the container's writable layer %s: %s", upper_path, strerror(errno));
    // The merged root's owner and mode are the writable layer's: make them the image's.
    struct stat st;
    if (fstat(view, &st) < 0 || fchown(upper, mapped(st.st_uid, id->uid, uid), mapped(st.st_gid, id->gid, gid)) < 0
        || fchmod(upper, st.st_mode & 07777) < 0)
        child_fail(REPORT_SETUP, errno, "the container's writable layer %s: %s", upper_path, strerror(errno));
    upper_make(upper, view, "/dev", NULL, id, uid, gid);
    upper_make(upper, view, "/proc", NULL, id, uid, gid);
    upper_make(upper, view, "/sys", NULL, id, uid, gid);
    char hostname[80];
    snprintf(hostname, sizeof hostname, "%s\n", job->hostname ? job->hostname : "localhost");
    upper_make(upper, view, "/etc/hostname", hostname, id, uid, gid);
    upper_make(upper, view, "/etc/resolv.conf", "", id, uid, gid);
    // The job's binds that are not below an earlier one land on the image's tree: their targets
    // (/opt/ml, /etc/hosts, ...) are made here, where an executable's root would have to have them.
    for (int k = 0; k < job->nbinds; k++) {
        int nested = 0;
        for (int e = 0; e < k; e++) nested |= path_is_below(job->binds[k].dst, job->binds[e].dst);
        if (nested) continue;
        int exists = child_openat2(view, job->binds[k].dst, O_PATH, IN_ROOT);
        if (exists >= 0) { close(exists); continue; }
        // As the owner, as the bind itself will open it (a source it cannot reach fails there).
        struct stat src;
        child_become_owner();
        int file = stat(job->binds[k].src, &src) == 0 && !S_ISDIR(src.st_mode);
        child_become_keeper();
        upper_make(upper, view, job->binds[k].dst, file ? "" : NULL, id, uid, gid);
    }
    close(upper);
}

int container_mount_root(const struct job *job, struct container_identity *identity) {
    int view = layers_view(job);
    resolve_user(job, view, identity);
    uid_t uid = job->have_uid ? job->uid : getuid();
    gid_t gid = job->have_gid ? job->gid : getgid();
    prepare_upper(job, view, identity, uid, gid);
    close(view);
    int userns = idmapping(identity, uid, gid);

    char upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX];
    snprintf(upper, sizeof upper, "%s/upper", job->container);
    snprintf(work, sizeof work, "%s/work", job->container);
    snprintf(root, sizeof root, "%s/root", job->container);
    int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0) child_fail(REPORT_SETUP, errno, "create an overlay file system: %s (container images need overlayfs)", strerror(errno));
    char log[512];
    // Each layer an idmapped, read-only clone. overlayfs takes only attached layers, so they are
    // attached in DIR/layers (a tmpfs of this namespace), given by path ("lowerdir+", one layer
    // per option: no length limit, no ':' parsing), and detached once the overlay holds them.
    char staging[PATH_MAX];
    snprintf(staging, sizeof staging, "%s/layers", job->container);
    int staging_at = open(staging, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (staging_at < 0) child_fail(REPORT_SETUP, errno, "the container's %s: %s", staging, strerror(errno));
    const char *staging_options[] = {"mode", "0700", "size", "64k", NULL};
    child_attach(new_mount("tmpfs", staging_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, NULL), staging_at, staging);
    close(staging_at);
    int layers = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (layers < 0) child_fail(REPORT_SETUP, errno, "the container's %s: %s", staging, strerror(errno));
    for (int k = 0; k < job->nlayers; k++) {
        int layer = (int)open_tree(AT_FDCWD, job->layers[k], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (layer < 0) child_fail(REPORT_SETUP, errno, "image layer %s: %s", job->layers[k], strerror(errno));
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, .userns_fd = (unsigned long long)userns};
        if (mount_setattr(layer, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
            child_fail(REPORT_SETUP, errno, "idmap image layer %s: %s (container images need idmapped mounts, Linux 5.12 or later, of the image store's file system: ext4, xfs, btrfs or tmpfs)",
                       job->layers[k], strerror(errno));
        char name[16], path[PATH_MAX + 16];
        snprintf(name, sizeof name, "%d", k);
        if (mkdirat(layers, name, 0700) < 0) child_fail(REPORT_SETUP, errno, "%s/%s: %s", staging, name, strerror(errno));
        int at = openat(layers, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (at < 0) child_fail(REPORT_SETUP, errno, "%s/%s: %s", staging, name, strerror(errno));
        child_attach(layer, at, job->layers[k]);
        close(at);
        snprintf(path, sizeof path, "%s/%s", staging, name);
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0)
            child_fail(REPORT_SETUP, errno, "image layer %s: %s %s%s", job->layers[k], strerror(errno), fs_log(fs, log, sizeof log),
                       errno == EINVAL ? " (container images need Linux 6.8 or later)" : "");
    }
    close(layers);
    close(userns);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
        child_fail(REPORT_SETUP, errno, "the container's writable layer %s: %s %s", upper, strerror(errno), fs_log(fs, log, sizeof log));
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        child_fail(REPORT_SETUP, errno, "mount the image's layers: %s %s", strerror(errno), fs_log(fs, log, sizeof log));
    // nosuid: a set-user-ID program of the image must not make the job root on the host.
    int tree = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (tree < 0) child_fail(REPORT_SETUP, errno, "mount the container's root: %s", strerror(errno));
    close(fs);
    int at = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (at < 0) child_fail(REPORT_SETUP, errno, "the container's mount point %s: %s", root, strerror(errno));
    child_attach(tree, at, "the image's layers");
    close(at);
    if (umount2(staging, MNT_DETACH) < 0) child_fail(REPORT_SETUP, errno, "detach %s: %s", staging, strerror(errno));
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root_fd < 0) child_fail(REPORT_SETUP, errno, "the container's root %s: %s", root, strerror(errno));

    make_dev(root_fd, job);
    bind_host(root_fd, "/sys", "/sys", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 1);
    if (access("/etc/resolv.conf", R_OK) == 0)
        bind_host(root_fd, "/etc/resolv.conf", "/etc/resolv.conf", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0);
    return root_fd;
}

void container_enter_root(int root_fd) {
    // pivot_root(".", "."): the container's root becomes "/" and the host's is stacked on it,
    // then detached, so nothing of the host's tree stays reachable from the job.
    if (fchdir(root_fd) < 0) child_fail(REPORT_SETUP, errno, "enter the container's root: %s", strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) child_fail(REPORT_SETUP, errno, "pivot_root into the container: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) child_fail(REPORT_SETUP, errno, "detach the host's root: %s", strerror(errno));
    if (chdir("/") < 0) child_fail(REPORT_SETUP, errno, "chdir / in the container: %s", strerror(errno));
}

// ---- The image's User, as the container's own files name it.

// The fields of the line of `file` (passwd or group format) whose first field is `name`, or
// whose third field is `name` when `by_id`; fields[] points into `buf`.
static int find_entry(const char *file, const char *name, int by_id, char *buf, size_t len, char **fields, int nfields, int view) {
    int fd = child_openat2(view, file, O_RDONLY | O_NONBLOCK, IN_ROOT);
    if (fd < 0) return 0;
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, len - 1) : -1;
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int count = 0;
        char *cursor = line;
        while (count < nfields) {
            fields[count++] = cursor;
            char *colon = strchr(cursor, ':');
            if (!colon) break;
            *colon = 0;
            cursor = colon + 1;
        }
        if (count < 3) continue;
        if (!strcmp(fields[by_id ? 2 : 0], name)) return count;
    }
    return 0;
}

static int parse_id(const char *text, unsigned *value) {
    if (!*text) return 0;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*end || v > 0xfffffffeUL) return 0;
    *value = (unsigned)v;
    return 1;
}

static void resolve_user(const struct job *job, int view, struct container_identity *identity) {
    char spec[256];
    snprintf(spec, sizeof spec, "%s", job->container_user && *job->container_user ? job->container_user : "root");
    char *group = strchr(spec, ':');
    if (group) *group++ = 0;
    static char buf[1 << 20];
    char *fields[7];
    unsigned id;
    int numeric = parse_id(spec, &id);
    int found = find_entry("/etc/passwd", spec, numeric, buf, sizeof buf, fields, 7, view);
    if (found >= 4) {
        unsigned uid, gid;
        if (!parse_id(fields[2], &uid) || !parse_id(fields[3], &gid))
            child_fail(REPORT_SETUP, EINVAL, "the image's /etc/passwd has a bad entry for %s", spec);
        identity->uid = uid;
        identity->gid = gid;
        snprintf(identity->home, sizeof identity->home, "%s", found >= 6 && fields[5][0] == '/' ? fields[5] : "/");
    } else if (numeric || !strcmp(spec, "root")) {
        // As Docker does: a uid the image does not name has group 0 and home / (root's: /root).
        if (!numeric) id = 0;
        identity->uid = id;
        identity->gid = 0;
        snprintf(identity->home, sizeof identity->home, "%s", id == 0 ? "/root" : "/");
    } else {
        child_fail(REPORT_SETUP, ENOENT, "the image's User %s is not in its /etc/passwd; give a uid, or add the user to the image", spec);
    }
    if (group) {
        if (parse_id(group, &id)) {
            identity->gid = id;
        } else if (find_entry("/etc/group", group, 0, buf, sizeof buf, fields, 4, view) >= 3 && parse_id(fields[2], &id)) {
            identity->gid = id;
        } else {
            child_fail(REPORT_SETUP, ENOENT, "the image's User names group %s, which is not in its /etc/group", group);
        }
    }
}

void container_map_identity(const struct container_identity *identity) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    // setuid made us undumpable, which makes /proc/self/*_map root's: we are the job's user now
    // and may write our own mapping. What a user namespace gives, its user could make alone.
    if (prctl(PR_SET_DUMPABLE, 1) < 0 || unshare(CLONE_NEWUSER) < 0)
        child_fail(REPORT_SETUP, errno, "a user namespace for the image's user: %s", strerror(errno));
    char map[64];
    snprintf(map, sizeof map, "%u %u 1", (unsigned)identity->uid, (unsigned)uid);
    if (write_text("/proc/self/uid_map", map) < 0)
        child_fail(REPORT_SETUP, errno, "map the image's uid %u: %s", (unsigned)identity->uid, strerror(errno));
    snprintf(map, sizeof map, "%u %u 1", (unsigned)identity->gid, (unsigned)gid);
    if (write_text("/proc/self/setgroups", "deny") < 0 || write_text("/proc/self/gid_map", map) < 0)
        child_fail(REPORT_SETUP, errno, "map the image's gid %u: %s", (unsigned)identity->gid, strerror(errno));
}
