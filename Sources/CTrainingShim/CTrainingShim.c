#define _GNU_SOURCE
#include "CTrainingShim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

int ctshim_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int ctshim_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int ctshim_waitid_pidfd(int pidfd, int nohang, ctshim_wait_result *result) {
    siginfo_t info;
    memset(&info, 0, sizeof info); // WNOHANG leaves si_pid untouched when nothing is ready
    memset(result, 0, sizeof *result);
    int rc;
    do {
        rc = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    result->pid = info.si_pid;
    if (info.si_pid == 0) return 0;
    if (info.si_code == CLD_EXITED) {
        result->exited = 1;
    } else {
        result->signaled = 1; // CLD_KILLED or CLD_DUMPED
    }
    result->status = info.si_status;
    return 0;
}

int ctshim_spawnattr_init_clean(posix_spawnattr_t *attributes, int own_group) {
    int rc = posix_spawnattr_init(attributes);
    if (rc != 0) return rc;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(attributes, &none);
    posix_spawnattr_setsigdefault(attributes, &all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (own_group) {
        posix_spawnattr_setpgroup(attributes, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    return posix_spawnattr_setflags(attributes, flags);
}

int ctshim_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    int rc = posix_spawn_file_actions_addclosefrom_np(actions, from);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

int ctshim_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    int rc = posix_spawn_file_actions_addchdir_np(actions, path);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

int ctshim_send_descriptors(int socket, const int *fds, int count) {
    if (count < 1 || count > 8) { errno = EINVAL; return -1; }
    char byte = 0;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)count);
    ssize_t n;
    do n = sendmsg(socket, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

int ctshim_memfd_create(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int ctshim_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve) {
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .mode = mode, .resolve = resolve};
    int rc, tries = 0;
    do { // EAGAIN: a rename elsewhere raced the lookup (RESOLVE_BENEATH/IN_ROOT); try again, a few times
        rc = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (rc < 0 && errno == EAGAIN && ++tries < 16);
    return rc;
}

// setfsuid/setfsgid return the previous id and cannot fail visibly; asking with an invalid id (-1)
// changes nothing and returns the current one, which is how a change is checked.
static uid_t current_fsuid(void) { return (uid_t)syscall(SYS_setfsuid, (uid_t)-1); }
static gid_t current_fsgid(void) { return (gid_t)syscall(SYS_setfsgid, (gid_t)-1); }

static int set_fs_identity(const ctshim_fs_identity *identity) {
    if (identity->group_count < 0 || identity->group_count > CTSHIM_MAX_GROUPS) {
        errno = EINVAL;
        return -1;
    }
    // Groups first: setgroups needs CAP_SETGID, which a nonzero fsuid does not drop, but keeping the
    // order fixed (groups, gid, uid; undone in reverse) makes every step checkable.
    if (syscall(SYS_setgroups, (size_t)identity->group_count, identity->groups) != 0) return -1;
    syscall(SYS_setfsgid, identity->fsgid);
    syscall(SYS_setfsuid, identity->fsuid);
    if (current_fsgid() != identity->fsgid || current_fsuid() != identity->fsuid) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

// The calling thread's capability sets, by the raw calls (per thread, like the identity above).
static int get_capabilities(unsigned int words[6]) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        words[3 * i] = data[i].effective;
        words[3 * i + 1] = data[i].permitted;
        words[3 * i + 2] = data[i].inheritable;
    }
    return 0;
}

static int set_capabilities(const unsigned int words[6]) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        data[i].effective = words[3 * i];
        data[i].permitted = words[3 * i + 1];
        data[i].inheritable = words[3 * i + 2];
    }
    return syscall(SYS_capset, &header, data) == 0 ? 0 : -1;
}

__attribute__((noreturn)) static void cannot_restore(void) {
    static const char message[] = "trainingd: a thread cannot take back its own identity after acting as a user; stopping\n";
    if (write(2, message, sizeof message - 1) < 0) { /* nothing more to do */ }
    abort();
}

int ctshim_thread_assume_fs_identity(const ctshim_fs_identity *target, ctshim_fs_identity *saved) {
    saved->fsuid = current_fsuid();
    saved->fsgid = current_fsgid();
    int count = (int)syscall(SYS_getgroups, CTSHIM_MAX_GROUPS, saved->groups);
    if (count < 0) return -1;
    saved->group_count = count;
    if (get_capabilities(saved->capabilities) != 0) return -1;
    int error = 0;
    if (set_fs_identity(target) != 0) {
        error = errno;
    } else {
        // Only CAP_SETGID stays effective (setgroups on the way back needs it); check that it took.
        unsigned int reduced[6];
        memcpy(reduced, saved->capabilities, sizeof reduced);
        reduced[0] &= 1u << CAP_SETGID;
        reduced[3] = 0;
        unsigned int now[6];
        if (set_capabilities(reduced) == 0 && get_capabilities(now) == 0 && now[0] == reduced[0] && now[3] == 0) return 0;
        error = errno ? errno : EPERM;
    }
    if (ctshim_thread_restore_fs_identity(saved) != 0) cannot_restore();
    errno = error;
    return -1;
}

int ctshim_thread_restore_fs_identity(const ctshim_fs_identity *saved) {
    if (set_fs_identity(saved) != 0) cannot_restore();
    if (set_capabilities(saved->capabilities) != 0) cannot_restore();
    return 0;
}

uid_t ctshim_current_fsuid(void) { return current_fsuid(); }

long ctshim_splice_to_pipe(int in, long long *offset, int pipe_out, size_t length) {
    loff_t position = (loff_t)*offset;
    ssize_t moved = splice(in, &position, pipe_out, NULL, length, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (moved > 0) *offset = (long long)position;
    return (long)moved;
}

int ctshim_set_top_directory_flag(int fd) {
    int flags = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return -1;
    if (flags & FS_TOPDIR_FL) return 1;
    flags |= FS_TOPDIR_FL;
    return ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0 ? 0 : -1;
}

int ctshim_rename_noreplace(int fromfd, const char *from, int tofd, const char *to) {
    return renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE);
}

long long ctshim_file_system_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) < 0) return -1;
    return (long long)info.f_type;
}

int ctshim_loop_attach(int image_fd, char *device, size_t length) {
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) return -1;
    // Another process may take the free device between asking and configuring it: ask again.
    for (int attempt = 0; attempt < 16; attempt++) {
        int number = ioctl(control, LOOP_CTL_GET_FREE);
        if (number < 0) break;
        snprintf(device, length, "/dev/loop%d", number);
        int loop = open(device, O_RDWR | O_CLOEXEC);
        if (loop < 0) {
            if (errno == ENOENT || errno == ENXIO) continue;
            break;
        }
        struct loop_config config;
        memset(&config, 0, sizeof config);
        config.fd = (unsigned int)image_fd;
        // Direct I/O on the image: what the job writes is cached once, by its volume's file
        // system, not a second time as the image's pages, and its writeback costs no copy (the
        // algorithm's output is written back while the artifacts are compressed). A file system
        // that cannot do it refuses the flag: then buffered, as before.
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
        if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
            close(control);
            return loop;
        }
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        if (errno == EINVAL && ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
            close(control);
            return loop;
        }
        if (errno == EINVAL || errno == ENOTTY) { // before Linux 5.8: two steps
            if (ioctl(loop, LOOP_SET_FD, image_fd) == 0) {
                struct loop_info64 info;
                memset(&info, 0, sizeof info);
                info.lo_flags = LO_FLAGS_AUTOCLEAR;
                if (ioctl(loop, LOOP_SET_STATUS64, &info) == 0) {
                    close(control);
                    return loop;
                }
                int saved = errno;
                ioctl(loop, LOOP_CLR_FD, 0);
                errno = saved;
            }
        }
        int saved = errno;
        close(loop);
        errno = saved;
        if (errno != EBUSY) break;
    }
    int saved = errno;
    close(control);
    errno = saved;
    return -1;
}

long ctshim_copy_file_range(int in, long long *in_offset, int out, long long *out_offset, size_t length) {
    loff_t from = *in_offset, to = *out_offset;
    ssize_t copied = copy_file_range(in, &from, out, &to, length, 0);
    *in_offset = from;
    *out_offset = to;
    return (long)copied;
}
