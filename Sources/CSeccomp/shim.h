#include <seccomp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "zygote.h"

/* The limits a media worker starts under, in the order of keepsake_spawn_confined's `limits`. */
#define KEEPSAKE_LIMIT_COUNT 6
static const int keepsake_limit_resources[KEEPSAKE_LIMIT_COUNT] = {
    RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE
};

/* Starts `path` confined before its first instruction: in the child (vfork: no copy of the parent's memory, and
 * nothing but system calls between vfork and execve) it leads a new session and process group, gets default
 * signals, `fds[i]` as its descriptor i and no other descriptor, the resource limits, and, when `filter` is given,
 * no capabilities, no-new-privileges and that seccomp filter. Returns 0 with *child set, or an errno: of vfork, or of the child's
 * step that failed (the child has then exited with 127 and must still be reaped). */
static inline int keepsake_spawn_confined(const char *path, char *const argv[], char *const envp[],
                                          const int *fds, int fd_count, const rlim_t *limits,
                                          const struct sock_fprog *filter, pid_t *child) {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);  /* no handler of ours may run on the child's borrowed stack */
    volatile int failure = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        struct sigaction standard;
        for (int number = 1; number < _NSIG; number++) {
            standard = (struct sigaction){0};
            standard.sa_handler = SIG_DFL;
            sigaction(number, &standard, 0);  /* fails harmlessly for SIGKILL, SIGSTOP and libc's own */
        }
        if (setsid() < 0) { failure = errno; _exit(127); }
        int moved[16];
        if (fd_count > 16) { failure = EINVAL; _exit(127); }
        for (int index = 0; index < fd_count; index++) {
            moved[index] = fcntl(fds[index], F_DUPFD, 64);  /* above every target first: sources may be targets */
            if (moved[index] < 0) { failure = errno; _exit(127); }
        }
        for (int index = 0; index < fd_count; index++) {
            if (dup2(moved[index], index) < 0) { failure = errno; _exit(127); }
        }
        if (syscall(SYS_close_range, (unsigned)fd_count, ~0U, 0) != 0) {
            for (int fd = fd_count; fd < 65536; fd++) close(fd);
        }
        for (int index = 0; index < KEEPSAKE_LIMIT_COUNT; index++) {
            struct rlimit limit = { limits[index], limits[index] };
            if (setrlimit(keepsake_limit_resources[index], &limit) != 0) { failure = errno; _exit(127); }
        }
        if (filter) {
            /* Without namespaces, a worker started by root keeps no capability (no reading of others' memory). */
            struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
            struct __user_cap_data_struct none[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
            if (syscall(SYS_capset, &header, none) != 0) { failure = errno; _exit(127); }
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { failure = errno; _exit(127); }
            if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter) != 0) { failure = errno; _exit(127); }
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, 0);
        execve(path, argv, envp);
        failure = errno;
        _exit(127);
    }
    int spawnError = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &previous, 0);
    if (pid < 0) return spawnError;
    *child = pid;
    return failure;
}

/* A pipe whose ends close on exec (pipe2 and memfd_create need _GNU_SOURCE, which Swift's Glibc lacks). */
static inline int keepsake_pipe_cloexec(int fds[2]) { return (int)syscall(SYS_pipe2, fds, O_CLOEXEC); }

/* An anonymous in-memory file that closes on exec. */
static inline int keepsake_memfd(const char *name) { return (int)syscall(SYS_memfd_create, name, 1U /* MFD_CLOEXEC */); }
