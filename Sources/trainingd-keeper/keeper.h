// Shared between main.c (supervision, log and status files) and child.c (namespaces,
// mounts, credentials and exec in the child).
#ifndef TRAININGD_KEEPER_H
#define TRAININGD_KEEPER_H

#include <signal.h>
#include <stddef.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

struct bind {
    const char *src, *dst; // dst in the job's view
    int read_only;
};

// What the command line asked for.
struct job {
    char **argv;
    char **envp; // the algorithm's environment (--env-fd), or NULL for the keeper's own
    const char *isolation, *rootfs, *cwd, *log_path;
    const char *hostname; // the algorithm's UTS namespace's host name, or NULL for the machine's
    unsigned long long log_cap;
    struct bind *binds;
    int nbinds;
    int have_uid, have_gid, have_groups;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups;
    int pidns; // decided by the keeper: 1 = PID + mount namespace, 0 = process group
    // A container (--container DIR with --layer ...): the image's layers, top first, under DIR/upper.
    const char *container, *container_user;
    const char **layers;
    int nlayers;
    // cgroup.procs files (--cgroup) the keeper joins before it forks: the host's limits.
    const char **cgroups;
    int ncgroups;
    int joined; // --joined 1: a warm keeper joined them already
    // Device nodes of the host (--device, absolute) bound into a container's /dev by name: its GPUs.
    const char **devices;
    int ndevices;
};

// Sent by the child over the CLOEXEC pipe when it fails before or at exec.
enum { REPORT_SETUP = 1, REPORT_EXEC = 2 };
struct child_report {
    int kind;
    int err;
    char message[1024];
};

// Writes `text` to an existing file (a /proc control file) in one write; 0 or -1 with errno.
int write_text(const char *path, const char *text);
// unshare(CLONE_NEWPID), or with CLONE_NEWUSER when not permitted. Returns 0, or -1 and
// a reason in `why`. Exits with a setup_error when a user namespace half worked.
int enter_pid_namespace(char *why, size_t len);
// The forked child: stdio, namespaces, mounts, root, credentials, exec.
__attribute__((noreturn)) void run_child(const struct job *job, int out_fd, int err_fd, int report_fd);
// Shared by child.c and container.c, in the child only: report a setup or exec failure to the
// keeper and exit; attach a detached mount at an O_PATH target; openat2 with resolve flags.
__attribute__((noreturn)) void child_fail(int kind, int err, const char *fmt, ...);
void child_attach(int tree, int target, const char *what);
int child_openat2(int dirfd, const char *path, int flags, unsigned long long resolve);
// The job user's identity for file-system checks (a root keeper given credentials), and back.
void child_become_owner(void);
void child_become_keeper(void);
// Whether `path` lies strictly below `base` (both absolute, without trailing '/').
int path_is_below(const char *path, const char *base);

// The identity the algorithm has inside its container (the image's User) and its home.
struct container_identity {
    uid_t uid;
    gid_t gid;
    char home[256];
};
// Resolves the image's User in its /etc/passwd and /etc/group, then mounts the container's root
// at DIR/root (overlay of the layers, idmapped so that the image user's files are the job's,
// under DIR/upper) with /dev, /sys, /etc/hostname, /etc/resolv.conf and empty targets for the
// job's binds; returns an O_PATH descriptor of it.
int container_mount_root(const struct job *job, struct container_identity *identity);
// Switches the root to the container's (pivot_root; the host's tree is detached).
void container_enter_root(int root_fd);
// After setuid: a user namespace in which the job's uid and gid are the image user's.
void container_map_identity(const struct container_identity *identity);

// Replaces `path` with a file holding `content` (via path.tmp and rename; with `durable`, the file
// and then its directory fsync'd), never through a link; 0 or -1 with errno.
int write_file_atomically(const char *path, const char *content, int durable);

// The keeper proper (main.c): parses its command line, supervises the algorithm, exits with its
// status. `argv` must stay valid until then. A warm keeper calls it with the command line it was sent.
__attribute__((noreturn)) void keeper_main(int argc, char **argv);

// A warm keeper (`--warm TOKEN [--cgroup PROCS_FILE]... ['']...`, warm.c): joins the cgroups,
// waits for a job on descriptor 3, then runs keeper_main with the command line it was sent
// (or execs it, where its own command line has no room for the job's token). Never returns.
__attribute__((noreturn)) void warm_keeper_main(int argc, char **argv);

// SIGKILLs every other process holding a file whose /proc fd link reads `a` or `b`.
int kill_processes_holding(const char *a, const char *b);

#endif
