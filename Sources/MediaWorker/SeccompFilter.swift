import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// The media workers' seccomp filters, two stacked ones (docs/worker-fork-server.md).
///
/// The zygote's (`zygote`): what loading a program and decoding a file take (reading its descriptor, memory, threads,
/// time, writing answers to the pipe) is allowed; what an attacker wants (sockets, opening a file to write, signalling
/// others, ptrace, namespaces, ...) kills the process (SIGSYS). `execve` is allowed because the filter is in place
/// before the binary is started (what could be started is what the sandbox holds: in bubblewrap, the system libraries
/// and the worker binary only); and what the zygote's own loop needs: forking, reaping, its socket's messages, the
/// child's steps before its own filter (CPU limit, parent-death signal, that filter).
///
/// The child's (`child`), stacked on it by each forked worker, can only narrow it: no process (threads only), no
/// program, no waiting for processes, no message on a socket, no pidfd, no raised limit.
enum SeccompFilter {
    /// Allowed whatever their arguments.
    static let allowed = [
        // reading the file, and the shared libraries when the program loads
        "read", "pread64", "readv", "preadv", "preadv2", "lseek", "fstat", "newfstatat", "stat", "lstat", "statx",
        "fstatfs", "statfs", "close", "fcntl", "dup", "dup2", "dup3", "access", "faccessat", "faccessat2",
        "readlink", "readlinkat", "getdents64", "getcwd",
        // memory
        "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "membarrier",
        "get_mempolicy", "set_mempolicy", "mbind",  // libnuma's probe at load
        // threads and their synchronisation
        "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "sched_yield",
        "sched_getaffinity", "sched_getparam", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
        "arch_prctl", "gettid", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getpgrp",
        // signals to itself, time, waiting
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "sigaltstack", "pause",
        "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
        "poll", "ppoll", "select", "pselect6",
        "getrandom", "uname", "sysinfo", "getrusage", "times", "getrlimit",
        "exit", "exit_group",
        // bubblewrap's PID 1 in the sandbox, under the same filter, waits for the zygote; the zygote for its children
        "wait4", "waitid",
        // starting the zygote's program (see above)
        "execve",
        // the zygote's loop: its socket (it can make no other), its children's pidfds, closing what a child must not keep
        "recvmsg", "sendmsg", "pidfd_open", "close_range",
    ]

    /// The zygote's filter (see above).
    static func zygote() throws(WorkerSandboxError) -> [UInt8] {
        guard let context = seccomp_init(SCMP_ACT_KILL_PROCESS) else { throw .seccomp("seccomp_init failed") }
        defer { seccomp_release(context) }
        func rule(_ name: String, _ action: UInt32 = SCMP_ACT_ALLOW, _ conditions: [scmp_arg_cmp] = []) throws(WorkerSandboxError) {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { return }  // not a system call of this architecture
            let result = conditions.withUnsafeBufferPointer {
                seccomp_rule_add_array(context, action, number, UInt32($0.count), $0.baseAddress)
            }
            guard result == 0 else { throw .seccomp("\(name): \(String(cString: strerror(-result)))") }
        }
        func argument(_ index: UInt32, _ operation: scmp_compare, _ a: UInt64, _ b: UInt64 = 0) -> scmp_arg_cmp {
            scmp_arg_cmp(arg: index, op: operation, datum_a: a, datum_b: b)
        }
        /// SCMP_ACT_ERRNO, a macro Swift cannot import.
        func errorAction(_ code: Int32) -> UInt32 { 0x0005_0000 | (UInt32(code) & 0xFFFF) }
        let cloneThread: UInt64 = 0x0001_0000  // CLONE_THREAD, not exported by Swift's Glibc
        let fork: UInt64 = 0x0120_0000 | UInt64(SIGCHLD)  // glibc's fork: CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
        for name in allowed { try rule(name) }

        // Writing goes where the worker can: its answer pipe, /dev/null (stderr), and bubblewrap's PID 1 its status
        // to its parent; nothing the worker opens can be written (below), and it can make no pipe or socket.
        for name in ["write", "writev"] { try rule(name) }
        // Opening: read-only, never creating.
        let writing = UInt64(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND) | 0o2000_0000  // the last: O_TMPFILE's own bit
        try rule("openat", SCMP_ACT_ALLOW, [argument(2, SCMP_CMP_MASKED_EQ, writing, 0)])
        try rule("open", SCMP_ACT_ALLOW, [argument(1, SCMP_CMP_MASKED_EQ, writing, 0)])
        try rule("openat2", errorAction(ENOSYS))
        // Threads and, for the zygote, fork as the C library makes it; clone3 (whose flags a filter cannot see)
        // answers ENOSYS, on which the C library falls back to clone.
        try rule("clone", SCMP_ACT_ALLOW, [argument(0, SCMP_CMP_MASKED_EQ, cloneThread, cloneThread)])
        try rule("clone", SCMP_ACT_ALLOW, [argument(0, SCMP_CMP_EQ, fork)])
        try rule("clone3", errorAction(ENOSYS))
        // Signals: an abort (SIGABRT to itself) is a crash the parent reports; no other signal is sent. (In bubblewrap
        // no other process is in sight; without it, this SIGABRT could reach the user's other processes.)
        try rule("tgkill", SCMP_ACT_ALLOW, [argument(2, SCMP_CMP_EQ, UInt64(SIGABRT))])
        // Naming threads; the zygote making itself not dumpable; its child dying with it, then adding its own filter.
        // Resource limits are read, never raised.
        for option in [PR_SET_NAME, PR_GET_NAME, 0x5356_4d41 /* PR_SET_VMA */, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_SET_SECCOMP] {
            try rule("prctl", SCMP_ACT_ALLOW, [argument(0, SCMP_CMP_EQ, UInt64(option))])
        }
        try rule("prlimit64", SCMP_ACT_ALLOW, [argument(2, SCMP_CMP_EQ, 0)])
        // The zygote's child lowers its own CPU limit (the child filter forbids it again).
        try rule("prlimit64", SCMP_ACT_ALLOW, [argument(0, SCMP_CMP_EQ, 0), argument(1, SCMP_CMP_EQ, UInt64(RLIMIT_CPU.rawValue))])
        // libgcrypt locks its secure memory at load; it copes with a refusal.
        for name in ["mlock", "mlock2", "mlockall", "munlock", "munlockall"] { try rule(name, errorAction(EPERM)) }
        // Terminal queries (isatty) are answered "not a terminal"; other ioctls likewise refused.
        try rule("ioctl", errorAction(ENOTTY))

        return try export(context)
    }

    /// The child's filter (see above): everything else is left to the zygote's, under which it is stacked.
    static func child() throws(WorkerSandboxError) -> [UInt8] {
        guard let context = seccomp_init(SCMP_ACT_ALLOW) else { throw .seccomp("seccomp_init failed") }
        defer { seccomp_release(context) }
        func kill(_ name: String, _ conditions: [scmp_arg_cmp] = []) throws(WorkerSandboxError) {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { return }
            let result = conditions.withUnsafeBufferPointer {
                seccomp_rule_add_array(context, SCMP_ACT_KILL_PROCESS, number, UInt32($0.count), $0.baseAddress)
            }
            guard result == 0 else { throw .seccomp("\(name): \(String(cString: strerror(-result)))") }
        }
        for name in ["execve", "execveat", "wait4", "waitid", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg", "pidfd_open", "seccomp"] {
            try kill(name)
        }
        let cloneThread: UInt64 = 0x0001_0000
        try kill("clone", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: cloneThread, datum_b: 0)])
        try kill("prlimit64", [scmp_arg_cmp(arg: 2, op: SCMP_CMP_NE, datum_a: 0, datum_b: 0)])
        for option in [PR_SET_PDEATHSIG, PR_SET_DUMPABLE] {
            try kill("prctl", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: UInt64(option), datum_b: 0)])
        }
        return try export(context)
    }

    /// The compiled program (BPF), as the kernel takes it.
    private static func export(_ context: scmp_filter_ctx) throws(WorkerSandboxError) -> [UInt8] {
        let fd = keepsake_memfd("keepsake-seccomp-export")
        guard fd >= 0 else { throw .system("memfd_create", errno) }
        defer { close(fd) }
        let exported = seccomp_export_bpf(context, fd)
        guard exported == 0 else { throw .seccomp("seccomp_export_bpf: \(String(cString: strerror(-exported)))") }
        let size = Int(lseek(fd, 0, SEEK_END))
        var program = [UInt8](repeating: 0, count: size)
        let read = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        guard size > 0, read == size else { throw .seccomp("reading the exported filter") }
        return program
    }
}
