/* The media workers' fork server (docs/worker-fork-server.md): one confined zygote per run, started as a worker is
 * (`keepsake-media zygote`), forks one child per request. Libc and the kernel only, so that the hostile-worker
 * suite's stand-ins (static C programs) link the very same loop.
 *
 * The zygote: fd 0 is its end of a SOCK_SEQPACKET pair with the parent, fd 1 /dev/null, fd 2 a pipe to the parent
 * until the loop starts (then /dev/null too), fd 3 the child filter
 * (a BPF program, as libseccomp exports it). It never reads a file: per request it receives, as SCM_RIGHTS, the file,
 * the request pipe's read end and the answer pipe's write end, forks, closes them, and reports the child (its pidfd,
 * as SCM_RIGHTS) and later the child's wait status. The child takes them as its fds 3, 0 and 1, closes everything
 * else, dies with the zygote, gets its CPU limit and the child filter (stacked on the zygote's, so it can only
 * narrow it: no process, no program, no socket message), and runs `serve`. */
#ifndef KEEPSAKE_ZYGOTE_H
#define KEEPSAKE_ZYGOTE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* Parent → zygote: start a child on the three descriptors that come with it. */
struct keepsake_zygote_request {
    uint64_t id;
    uint32_t cpu_seconds;
    uint32_t reserved;
};

/* Zygote → parent. */
enum { KEEPSAKE_ZYGOTE_STARTED = 1, KEEPSAKE_ZYGOTE_ENDED = 2, KEEPSAKE_ZYGOTE_FAILED = 3 };
struct keepsake_zygote_report {
    uint64_t id;
    int32_t kind;
    /* ENDED: the child's wait status; FAILED: the errno of the step that failed. */
    int32_t value;
};

/* Sends `size` bytes of `message` with `count` descriptors (SCM_RIGHTS); 0, or an errno. */
static inline int keepsake_send_with_fds(int socket, const void *message, size_t size, const int *fds, int count) {
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int) * 4)]; } control;
    memset(&control, 0, sizeof control);
    struct iovec vector = { (void *)message, size };
    struct msghdr header = { 0 };
    header.msg_iov = &vector;
    header.msg_iovlen = 1;
    if (count > 0) {
        if (count > 4) return EINVAL;
        header.msg_control = control.space;
        header.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *rights = CMSG_FIRSTHDR(&header);
        rights->cmsg_level = SOL_SOCKET;
        rights->cmsg_type = SCM_RIGHTS;
        rights->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(rights), fds, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do { sent = sendmsg(socket, &header, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    return sent == (ssize_t)size ? 0 : (sent < 0 ? errno : EMSGSIZE);
}

/* Receives one message of exactly `size` bytes and up to `capacity` descriptors (made close-on-exec; -1 where none
 * came). Returns 1, 0 at end of file, or -errno (a message of another size is -EBADMSG, its descriptors closed). */
static inline int keepsake_receive_with_fds(int socket, void *message, size_t size, int *fds, int capacity) {
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int) * 4)]; } control;
    struct iovec vector = { message, size };
    struct msghdr header = { 0 };
    header.msg_iov = &vector;
    header.msg_iovlen = 1;
    header.msg_control = control.space;
    header.msg_controllen = sizeof control.space;
    for (int index = 0; index < capacity; index++) fds[index] = -1;
    ssize_t got;
    do { got = recvmsg(socket, &header, MSG_CMSG_CLOEXEC); } while (got < 0 && errno == EINTR);
    if (got < 0) return -errno;
    int received = 0;
    for (struct cmsghdr *part = CMSG_FIRSTHDR(&header); part; part = CMSG_NXTHDR(&header, part)) {
        if (part->cmsg_level != SOL_SOCKET || part->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((part->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *incoming = (int *)CMSG_DATA(part);
        for (int index = 0; index < count; index++) {
            if (received < capacity) fds[received++] = incoming[index]; else close(incoming[index]);
        }
    }
    if (got == 0 && received == 0) return 0;
    if ((size_t)got != size || (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        for (int index = 0; index < received; index++) { close(fds[index]); fds[index] = -1; }
        return -EBADMSG;
    }
    return 1;
}

/* A connected SOCK_SEQPACKET pair whose ends close on exec. */
static inline int keepsake_seqpacket_pair(int fds[2]) { return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds); }

static inline int keepsake_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, (void *)0, 0U);
}

/* The zygote's children: request id by pid. */
#define KEEPSAKE_ZYGOTE_CHILDREN 256
struct keepsake_zygote_child { pid_t pid; uint64_t id; };

static inline void keepsake_zygote_on_child(int number) { (void)number; }

/* Reports every child that has ended since the last call. */
static inline void keepsake_zygote_reap(struct keepsake_zygote_child *children) {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        for (int index = 0; index < KEEPSAKE_ZYGOTE_CHILDREN; index++) {
            if (children[index].pid != pid) continue;
            struct keepsake_zygote_report report = { children[index].id, KEEPSAKE_ZYGOTE_ENDED, status };
            children[index].pid = 0;
            if (keepsake_send_with_fds(0, &report, sizeof report, 0, 0) != 0) _exit(0);  /* the parent is gone */
            break;
        }
    }
}

/* The forked child: never returns. */
static inline void keepsake_zygote_child(const int fds[3], uint32_t cpu_seconds, pid_t zygote, struct sock_fprog *filter,
                                         const sigset_t *unblocked, int (*serve)(void)) {
    struct sigaction standard = { 0 };
    standard.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &standard, 0);
    /* Above every target first (the sources may be targets), then the request pipe, the answer pipe, the file. */
    int moved[3], targets[3] = { 0, 1, 3 };
    for (int index = 0; index < 3; index++) if ((moved[index] = fcntl(fds[index], F_DUPFD, 4)) < 0) _exit(125);
    for (int index = 0; index < 3; index++) if (dup2(moved[index], targets[index]) < 0) _exit(125);
    if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) _exit(125);  /* the zygote's socket among them */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != zygote) _exit(125);
    struct rlimit limit = { cpu_seconds, cpu_seconds };
    if (setrlimit(RLIMIT_CPU, &limit) != 0) _exit(125);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter, 0, 0) != 0) _exit(125);
    sigprocmask(SIG_SETMASK, unblocked, 0);
    _exit(serve());
}

/* The zygote's loop: returns (the exit status) when the parent closes its end; 2 if it cannot start. */
static inline int keepsake_zygote_run(int (*serve)(void)) {
    /* A fork of a process with other threads could inherit a lock one of them held. */
    DIR *tasks = opendir("/proc/self/task");
    int threads = 0;
    for (struct dirent *entry; tasks && (entry = readdir(tasks));) if (entry->d_name[0] != '.') threads++;
    if (tasks) closedir(tasks);
    if (threads != 1) return 2;
    /* Not dumpable, nor its children (fork keeps it): a worker cannot read the zygote's memory or a sibling's, which
     * share its PID namespace. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return 2;

    static struct sock_filter program[4096];
    ssize_t length = 0, got;
    while ((got = pread(3, (char *)program + length, sizeof program - (size_t)length, length)) > 0) length += got;
    if (got < 0 || length == 0 || length % (ssize_t)sizeof(struct sock_filter) != 0) return 2;
    struct sock_fprog filter = { (unsigned short)(length / (ssize_t)sizeof(struct sock_filter)), program };
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) return 2;

    sigset_t blocked, unblocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blocked, &unblocked);
    sigdelset(&unblocked, SIGCHLD);
    struct sigaction handler = { 0 };
    handler.sa_handler = keepsake_zygote_on_child;
    sigaction(SIGCHLD, &handler, 0);
    signal(SIGPIPE, SIG_IGN);
    pid_t zygote = getpid();
    /* Up to here fd 2 was a pipe the parent reads when the zygote ends early (the loader's or the runtime's complaint);
     * from here on it is /dev/null, like fd 1, for the zygote and every child. */
    if (dup2(1, 2) < 0) return 2;

    static struct keepsake_zygote_child children[KEEPSAKE_ZYGOTE_CHILDREN];
    for (;;) {
        keepsake_zygote_reap(children);
        struct pollfd socket = { 0, POLLIN, 0 };
        if (ppoll(&socket, 1, 0, &unblocked) < 0) continue;  /* EINTR: a child ended */
        struct keepsake_zygote_request request;
        int fds[3];
        int received = keepsake_receive_with_fds(0, &request, sizeof request, fds, 3);
        if (received == 0) return 0;
        if (received < 0) {
            if (received == -EBADMSG) continue;
            return 0;
        }
        struct keepsake_zygote_report report = { request.id, KEEPSAKE_ZYGOTE_FAILED, 0 };
        int slot = -1;
        for (int index = 0; index < KEEPSAKE_ZYGOTE_CHILDREN && slot < 0; index++) if (children[index].pid == 0) slot = index;
        pid_t child = -1;
        if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) report.value = EBADF;
        else if (slot < 0) report.value = EAGAIN;
        else if ((child = fork()) < 0) report.value = errno;
        else if (child == 0) keepsake_zygote_child(fds, request.cpu_seconds, zygote, &filter, &unblocked, serve);
        for (int index = 0; index < 3; index++) if (fds[index] >= 0) close(fds[index]);
        int pidfd = -1;
        if (child > 0) {
            children[slot] = (struct keepsake_zygote_child){ child, request.id };
            pidfd = (int)syscall(SYS_pidfd_open, child, 0U);
            if (pidfd < 0) {
                report.value = errno;  /* the parent fails the request and closes its pipe ends: the child ends */
            } else {
                report.kind = KEEPSAKE_ZYGOTE_STARTED;
                report.value = (int32_t)child;
            }
        }
        int sent = keepsake_send_with_fds(0, &report, sizeof report, &pidfd, pidfd >= 0 ? 1 : 0);
        if (pidfd >= 0) close(pidfd);
        if (sent != 0) return 0;
    }
}

#endif
