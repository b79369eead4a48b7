#define _GNU_SOURCE
#include "CTrainingShim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
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
