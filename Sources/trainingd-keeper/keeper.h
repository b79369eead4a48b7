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
};

// Sent by the child over the CLOEXEC pipe when it fails before or at exec.
enum { REPORT_SETUP = 1, REPORT_EXEC = 2 };
struct child_report {
    int kind;
    int err;
    char message[1024];
};

// unshare(CLONE_NEWPID), or with CLONE_NEWUSER when not permitted. Returns 0, or -1 and
// a reason in `why`. Exits with a setup_error when a user namespace half worked.
int enter_pid_namespace(char *why, size_t len);
// The forked child: stdio, namespaces, mounts, root, credentials, exec.
__attribute__((noreturn)) void run_child(const struct job *job, int out_fd, int err_fd, int report_fd);
// SIGKILLs every other process holding a file whose /proc fd link reads `a` or `b`.
int kill_processes_holding(const char *a, const char *b);

#endif
