/*
 * A warm keeper: a keeper started before any job needs it, so that a job's start does not wait
 * for what a keeper's start costs. Most of that, on cgroup v1, is the move into the host's
 * cgroups: each write to a v1 `cgroup.procs` waits for an RCU grace period of the kernel
 * (7-15 ms here; bench/notes/latency.md), and the daemon's own posix_spawn (2.4 ms).
 *
 *   trainingd-keeper --warm TOKEN [--cgroup PROCS_FILE]... ['']...
 *
 * It joins the cgroups given (empty ones the daemon made for it; the daemon renames them to a
 * host's and writes the host's limits when it hands a job over), spares itself from the OOM
 * killer as a keeper does, writes "r" to the socket at descriptor 3, and waits on it for one
 * message: a byte with three descriptors (SCM_RIGHTS): the keeper's output file, the job's
 * environment (a memfd, as --env-fd) and the keeper's command line (a memfd of NUL-terminated
 * arguments, argv[0] the keeper's path). What it is sent is what the daemon would have spawned a
 * keeper with: the command line the daemon built, the same output file and environment.
 *
 * It puts the output at 1 and 2 and the environment at 3 and becomes the job's keeper without an
 * exec (one cost 0.6 ms of the start): it writes `PATH --token TOKEN`, the job's, over its own
 * command line, where a restarted daemon looks for its keepers (/proc/PID/cmdline: the kernel
 * shows the memory the arguments were given in), then runs the keeper's main with the command
 * line sent, inside the host's cgroups already (it says `--joined 1`). The empty arguments at
 * the end of its own command line are the room for that: a warm token is shorter than a job's.
 * Where the room is short all the same, it execs itself with the command line sent, as before.
 *
 * EOF on the socket (the daemon stopped, or let this keeper go) ends it with exit status 0.
 * A broken message ends it with 125; a failed exec is recorded in the job's status file as a
 * setup_error, as a keeper's own setup failure is.
 */
#define _GNU_SOURCE
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// A keeper's command line is built by the daemon; a megabyte is far more than any job needs.
#define WARM_ARGV_MAX (1 << 20)

enum { HANDOFF_FD = 3, HANDOFF_FDS = 3 };

__attribute__((noreturn)) static void warm_fail(const char *fmt, const char *detail) {
    fprintf(stderr, "trainingd-keeper (warm): ");
    fprintf(stderr, fmt, detail);
    fprintf(stderr, "\n");
    exit(125);
}

// Reads the NUL-terminated arguments from the memfd `fd` into a NULL-terminated array.
static char **read_command_line(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > WARM_ARGV_MAX) warm_fail("the command line sent is %s", "empty or too large");
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + 1);
    if (!buf) warm_fail("%s", "out of memory");
    for (size_t off = 0; off < len;) {
        ssize_t n = pread(fd, buf + off, len - off, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) warm_fail("cannot read the command line sent: %s", n < 0 ? strerror(errno) : "short file");
        off += (size_t)n;
    }
    if (buf[len - 1] != 0) warm_fail("the command line sent %s", "does not end with a NUL byte");
    size_t count = 0;
    for (size_t k = 0; k < len; k++) if (buf[k] == 0) count++;
    char **argv = calloc(count + 1, sizeof *argv);
    if (!argv) warm_fail("%s", "out of memory");
    size_t n = 0;
    for (size_t start = 0; start < len; start += strlen(buf + start) + 1) argv[n++] = buf + start;
    return argv;
}

// Writes `PATH --token TOKEN` (the job's, from `command`) over this process's own arguments, so
// that /proc/PID/cmdline names the job's keeper; the rest of their memory becomes NUL bytes.
// 0, or -1 when the job's command line has no token or the arguments' memory is too small.
static int take_on_command_line(int argc, char **argv, char **command) {
    const char *token = NULL;
    for (int k = 1; command[k] && command[k + 1]; k++)
        if (strcmp(command[k], "--token") == 0) { token = command[k + 1]; break; }
    if (!token) return -1;
    // The kernel placed the arguments one after another; the shown command line is that memory.
    char *start = argv[0], *end = argv[0];
    for (int k = 0; k < argc; k++) {
        if (argv[k] != end) return -1;
        end = argv[k] + strlen(argv[k]) + 1;
    }
    size_t path = strlen(command[0]) + 1, flag = sizeof "--token", value = strlen(token) + 1;
    if (path + flag + value > (size_t)(end - start)) return -1;
    char *at = start;
    memmove(at, command[0], path);
    at += path;
    memcpy(at, "--token", flag);
    at += flag;
    memcpy(at, token, value);
    at += value;
    memset(at, 0, (size_t)(end - at));
    return 0;
}

void warm_keeper_main(int argc, char **argv) {
    // The empty arguments at the end are room for the job's command line (see above).
    int room_at = argc;
    while (room_at > 3 && argv[room_at - 1][0] == 0) room_at--;
    if (argc < 3 || (room_at - 3) % 2 != 0) warm_fail("usage: %s --warm TOKEN [--cgroup PROCS_FILE]... ['']...", argv[0]);
    for (int k = 3; k < room_at; k += 2) {
        if (strcmp(argv[k], "--cgroup") != 0) warm_fail("usage: unknown flag %s", argv[k]);
        if (write_text(argv[k + 1], "0") < 0) {
            char what[4200];
            snprintf(what, sizeof what, "%s: %s", argv[k + 1], strerror(errno));
            warm_fail("cannot join cgroup %s", what);
        }
    }
    // As a keeper does: it must live to record how the algorithm ended (the keeper's main
    // writes the same again, and hands the algorithm 0).
    if (room_at > 3) write_text("/proc/self/oom_score_adj", "-1000");
    // Ready: only now may the daemon rename these cgroups (a rename before the join above would
    // make it fail).
    if (write(HANDOFF_FD, "r", 1) != 1) warm_fail("cannot tell the daemon it is ready: %s", strerror(errno));

    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * HANDOFF_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n;
    do n = recvmsg(HANDOFF_FD, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n == 0) exit(0); // let go, or the daemon is gone
    if (n < 0) warm_fail("cannot receive a job: %s", strerror(errno));
    int fds[HANDOFF_FDS], nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t k = 0; k < count && nfds < HANDOFF_FDS; k++) memcpy(&fds[nfds++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
    }
    if (nfds != HANDOFF_FDS || (msg.msg_flags & MSG_CTRUNC)) warm_fail("the job was sent %s", "without its three descriptors");
    char **command = read_command_line(fds[2]);

    // The received descriptors are close-on-exec; their copies at 1, 2 and 3 are not. The
    // environment's copy at 3 replaces (and closes) the socket.
    if (dup2(fds[0], 1) < 0 || dup2(fds[0], 2) < 0 || dup2(fds[1], HANDOFF_FD) < 0) warm_fail("dup2: %s", strerror(errno));
    if (take_on_command_line(argc, argv, command) == 0) {
        // As an exec would have: nothing but 0-3 stays open (the algorithm's child closes the rest).
        for (int k = 0; k < HANDOFF_FDS; k++) close(fds[k]);
        int count = 0;
        while (command[count]) count++;
        keeper_main(count, command); // never returns
    }
    extern char **environ;
    execve(command[0], command, environ);
    int error = errno;
    // Recorded where the daemon looks for how the host ended, as a keeper's setup failure is.
    for (int k = 1; command[k] && command[k + 1]; k++) {
        if (strcmp(command[k], "--status") != 0) continue;
        char status[4400];
        snprintf(status, sizeof status, "setup_error=the warm keeper cannot exec %s: %s\n", command[0], strerror(error));
        write_file_atomically(command[k + 1], status, 1);
        break;
    }
    warm_fail("cannot exec the keeper: %s", strerror(error));
}
