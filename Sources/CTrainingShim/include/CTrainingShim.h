// Linux calls that Swift cannot reach through Glibc: the pidfd syscalls (no glibc
// wrappers in 2.36, and variadic syscall() is not callable from Swift), waitid with
// P_PIDFD, and the GNU posix_spawn file-action extensions.
// Every function returns -1 and sets errno on failure, like the call it wraps.
#ifndef CTRAININGSHIM_H
#define CTRAININGSHIM_H

#include <spawn.h>
#include <sys/types.h>

/// How a reaped child ended, as collected by ctshim_waitid_pidfd.
typedef struct {
    /// Host pid of the child that was reaped; 0 when WNOHANG found nothing yet.
    pid_t pid;
    /// 1 when the child exited normally (then `status` is its exit code).
    int exited;
    /// 1 when a signal ended the child (then `status` is the signal number).
    int signaled;
    /// Exit code or signal number, see above.
    int status;
} ctshim_wait_result;

/// pidfd_open(2): a file descriptor for `pid` (O_CLOEXEC is implied by the kernel).
int ctshim_pidfd_open(pid_t pid);

/// pidfd_send_signal(2) with no siginfo and no flags.
int ctshim_pidfd_send_signal(int pidfd, int signal);

/// waitid(P_PIDFD, pidfd, ..., WEXITED | (nohang ? WNOHANG : 0)): reaps the child.
int ctshim_waitid_pidfd(int pidfd, int nohang, ctshim_wait_result *result);

/// posix_spawnattr_init with a clean slate for the child: an empty signal mask and every signal
/// at its default disposition (the daemon ignores SIGPIPE and blocks the signals Dispatch
/// handles: neither may reach a child), in a process group of its own when `own_group`.
int ctshim_spawnattr_init_clean(posix_spawnattr_t *attributes, int own_group);

/// posix_spawn_file_actions_addclosefrom_np: close every descriptor >= `from` in the child.
int ctshim_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// posix_spawn_file_actions_addchdir_np: chdir(`path`) in the child before exec.
int ctshim_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// memfd_create(name, MFD_CLOEXEC): an anonymous file that never touches a disk.
int ctshim_memfd_create(const char *name);

/// Resolution rules for ctshim_openat2 (the RESOLVE_* flags of openat2(2)).
#define CTSHIM_RESOLVE_NO_XDEV 0x01
#define CTSHIM_RESOLVE_NO_MAGICLINKS 0x02
#define CTSHIM_RESOLVE_NO_SYMLINKS 0x04
#define CTSHIM_RESOLVE_BENEATH 0x08
#define CTSHIM_RESOLVE_IN_ROOT 0x10

/// openat2(2): `path` relative to `dirfd` with `flags` (O_CLOEXEC is added), `mode` and `resolve`.
int ctshim_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve);

/// copy_file_range(2) (declared by glibc only under _GNU_SOURCE): up to `length` bytes from
/// `in` at `*in_offset` to `out` at `*out_offset`, both advanced; the bytes copied, or -1 and errno.
long ctshim_copy_file_range(int in, long long *in_offset, int out, long long *out_offset, size_t length);

/// Attaches the file `image_fd` to a free loop device (LOOP_CTL_GET_FREE, then LOOP_CONFIGURE, or
/// LOOP_SET_FD with LOOP_SET_STATUS64 on kernels before 5.8) with LO_FLAGS_AUTOCLEAR, so that the
/// device frees itself once its last mount is gone and the returned descriptor closed, and with
/// LO_FLAGS_DIRECT_IO where the image's file system allows it. Writes the
/// device's path ("/dev/loopN") into `device` (`length` bytes). Returns the device's descriptor,
/// or -1 with errno.
int ctshim_loop_attach(int image_fd, char *device, size_t length);

/// splice(2) of up to `length` bytes from `in` at `*offset` (advanced) into the pipe `pipe_out`,
/// with SPLICE_F_MOVE | SPLICE_F_MORE.
long ctshim_splice_to_pipe(int in, long long *offset, int pipe_out, size_t length);

/// The calling thread's file-system identity (Linux keeps credentials per thread; these are the raw
/// system calls, which unlike glibc's wrappers do not change every thread of the process).
typedef struct {
    uid_t fsuid;
    gid_t fsgid;
    /// The supplementary groups, at most `CTSHIM_MAX_GROUPS`.
    gid_t groups[64];
    int group_count;
    /// The thread's capability sets (effective, permitted, inheritable; two words each), saved
    /// by ctshim_thread_assume_fs_identity and put back by ctshim_thread_restore_fs_identity.
    unsigned int capabilities[6];
} ctshim_fs_identity;

#define CTSHIM_MAX_GROUPS 64

/// Gives the calling thread `target`'s fsuid, fsgid and groups, saving the current ones in `saved`.
/// A thread whose fsuid is not 0 loses the file capabilities (CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER
/// and the rest; capabilities(7)); the thread's other effective capabilities (CAP_SYS_RESOURCE,
/// which would pass quotas and reserved blocks, CAP_SYS_ADMIN, ...) are cleared too, but for
/// CAP_SETGID, which the restore needs. So its file operations are checked as the target user's.
/// Restores the saved identity and returns -1 if any step fails or does not take (and aborts the
/// process if even the restore fails: a daemon thread must never go on as a user).
int ctshim_thread_assume_fs_identity(const ctshim_fs_identity *target, ctshim_fs_identity *saved);

/// The calling thread's fsuid.
uid_t ctshim_current_fsuid(void);

/// Puts back an identity saved by ctshim_thread_assume_fs_identity; -1 if it did not take.
int ctshim_thread_restore_fs_identity(const ctshim_fs_identity *saved);

/// Sets the file attribute flag FS_TOPDIR_FL (`chattr +T`) on the directory `fd`: ext4's Orlov
/// allocator then spreads its subdirectories over block groups as it does for top-level ones.
/// 1 if it was set already, 0 if it is now, -1 with errno if not (ENOTTY, EOPNOTSUPP: a file
/// system without the flag).
int ctshim_set_top_directory_flag(int fd);

/// renameat2(2) with RENAME_NOREPLACE: moves `from` (in `fromfd`) to `to` (in `tofd`) only if
/// `to` does not exist; -1 with errno EEXIST if it does. glibc declares renameat2 only for C.
int ctshim_rename_noreplace(int fromfd, const char *from, int tofd, const char *to);

/// statfs(2)'s f_type of the file system at `path` (FUSE is 0x65735546), or -1 with errno.
long long ctshim_file_system_type(const char *path);

/// sendmsg(2) of one byte with `count` descriptors (SCM_RIGHTS, at most 8) on a Unix socket:
/// how the daemon hands a job to a warm keeper. MSG_NOSIGNAL: a peer that is gone is EPIPE.
int ctshim_send_descriptors(int socket, const int *fds, int count);

#endif
