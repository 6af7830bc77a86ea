import CSeccomp
import FileSystem
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the media workers are confined: in place before the worker binary runs its first instruction, so that whatever
/// program sits at the worker's path runs confined. The binary runs as the workers' zygote (`Zygote`), with its socket
/// to this process (fd 0), /dev/null (fd 1), a pipe to this process that says why it ended if it ends before its loop
/// (fd 2; /dev/null from then on), the child filter (fd 3) and the pictures it warms up on (`WarmUpPictures.descriptors`,
/// `WorkerServer.warmUp`); each worker it forks gets its request
/// pipe (fd 0), its answer pipe (fd 1), /dev/null (fd 2) and the one file it works on, opened read-only by this
/// process (fd 3), nothing else, and the child filter stacked on the zygote's (`SeccompFilter`).
///
/// - `bubblewrap`: `bwrap` with every namespace it can unshare (no network, its own PID namespace and `/proc`, no
///   other process in sight), a file system of the read-only system libraries and the worker binary alone, a new
///   session, an environment from an allowlist, all capabilities dropped, and the seccomp filter and resource limits
///   below.
/// - `seccomp`: where `bwrap` is missing or the kernel refuses it the namespaces (or `KEEPSAKE_WORKER_SANDBOX=seccomp`):
///   the same seccomp filter, resource limits, no-new-privileges, new session and clean environment, without the
///   namespaces: the worker could read what its user may read and send SIGABRT to its user's processes (the filter
///   cannot tell its own from theirs), but not write, connect or start a process.
public struct WorkerSandbox: Sendable {
    public enum Level: String, Sendable, Codable {
        case bubblewrap, seccomp
    }

    public let level: Level
    /// Why the stronger level is not in force, if it is not.
    public let fallbackReason: String?
    /// The compiled seccomp filters (BPF), as libseccomp exports them: the zygote's, and the one each child adds.
    let filter: [UInt8]
    let childFilter: [UInt8]

    /// Set to `seccomp` to forbid bubblewrap (to test the fallback, or where it misbehaves).
    public static let levelVariable = "KEEPSAKE_WORKER_SANDBOX"
    /// The only variables a worker's environment may take from this process's (the test hooks of `WorkerServer`).
    static let environmentAllowlist = [WorkerServer.abortOnVariable, WorkerServer.hangOnVariable, WorkerServer.noRenditionsVariable]
    /// Set in every worker: Swift's crash backtracer would start a process, which the filter forbids.
    static let fixedEnvironment = [("SWIFT_BACKTRACE", "enable=no")]

    /// The worker's whole environment.
    static var workerEnvironment: [(String, String)] {
        fixedEnvironment + environmentAllowlist.compactMap { name in ProcessInfo.processInfo.environment[name].map { (name, $0) } }
    }
    /// The worker's descriptor of the file it works on.
    public static let fileDescriptor: Int32 = 3

    public var summary: String {
        switch level {
        case .bubblewrap:
            "bubblewrap (own namespaces without network or other processes, read-only system libraries, seccomp, resource limits, clean environment; a worker forked per request, under a stricter filter)"
        case .seccomp:
            "seccomp (seccomp, resource limits, no new privileges, clean environment; a worker forked per request, under a stricter filter; no namespaces: \(fallbackReason ?? "bubblewrap not used"))"
        }
    }

    /// The sandbox this process's workers get, found once: bubblewrap when a trial run of it works, else seccomp.
    public static var current: Result<WorkerSandbox, WorkerSandboxError> { cached.value }

    /// Finds `current` on a thread of its own, so that compiling the filters and bubblewrap's trial run (`/bin/true`,
    /// not a worker) overlap what the caller does next (the library's unlock) instead of delaying the first file.
    public static func findInBackground() {
        let thread = Thread { _ = cached.value }
        thread.name = "keepsake-sandbox-probe"
        thread.start()
    }

    private static let cached = Lazy { () -> Result<WorkerSandbox, WorkerSandboxError> in
        Result { () throws(WorkerSandboxError) in
            let filter = try SeccompFilter.zygote(), childFilter = try SeccompFilter.child()
            if ProcessInfo.processInfo.environment[levelVariable] == Level.seccomp.rawValue {
                return WorkerSandbox(level: .seccomp, fallbackReason: "\(levelVariable)=seccomp", filter: filter, childFilter: childFilter)
            }
            guard let bwrap = bubblewrapPath else {
                return WorkerSandbox(level: .seccomp, fallbackReason: "bwrap is not installed (Debian: bubblewrap)", filter: filter,
                                     childFilter: childFilter)
            }
            let trial = WorkerSandbox(level: .bubblewrap, fallbackReason: nil, filter: filter, childFilter: childFilter)
            if let failure = trial.trialRun(bwrap: bwrap) {
                return WorkerSandbox(level: .seccomp, fallbackReason: failure, filter: filter, childFilter: childFilter)
            }
            return trial
        }
    }

    static let bubblewrapPath = ([String](["/usr/bin/bwrap", "/bin/bwrap"])).first { access($0, X_OK) == 0 }

    /// The resource limits of the zygote; a child adds its CPU limit.
    enum Limits {
        static let addressSpace = 4 << 30
        static let processes = 4096  // threads count; the child filter forbids processes (root ignores this limit anyway)
        static let openFiles = 64

        static func values(cpuSeconds: rlim_t = .max /* RLIM_INFINITY */) -> [rlim_t] {
            [cpuSeconds, rlim_t(addressSpace), rlim_t(processes), 0, rlim_t(openFiles), 0 /* no core dump */]
        }
    }

    /// Starts `executable` confined as the workers' zygote: its pid (or bwrap's), this process's end of its socket, and
    /// the read end (non-blocking) of the pipe that is its stderr until its loop starts.
    func launchZygote(_ executable: String) throws(WorkerSandboxError) -> (pid: pid_t, socket: Int32, complaints: Int32) {
        var pair: [Int32] = [-1, -1]
        guard keepsake_seqpacket_pair(&pair) == 0 else { throw .system("socketpair", errno) }
        defer { close(pair[1]) }  // the zygote's end
        var complaints: [Int32] = [-1, -1]
        guard keepsake_pipe_cloexec(&complaints) == 0 else {
            close(pair[0])
            throw .system("pipe", errno)
        }
        defer { close(complaints[1]) }
        _ = fcntl(complaints[0], F_SETFL, O_NONBLOCK)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { if null >= 0 { close(null) } }
        let pid: pid_t
        do throws(WorkerSandboxError) {
            let childFilterFD = try Self.memoryFile(childFilter)
            defer { close(childFilterFD) }
            var fds = [pair[1], null, complaints[1], childFilterFD]
            let warmUpFDs = try WarmUpPictures.all.map { picture throws(WorkerSandboxError) in
                try Self.memoryFile(picture.bytes, name: "keepsake-warm-up")
            }
            defer { warmUpFDs.forEach { close($0) } }
            assert(WarmUpPictures.descriptors == (0..<warmUpFDs.count).map { Int32(fds.count + $0) })
            fds += warmUpFDs
            switch level {
            case .bubblewrap:
                let filterFD = try Self.memoryFile(filter)
                defer { close(filterFD) }
                fds.append(filterFD)
                let arguments = bubblewrapArguments(worker: executable, filterFD: Int32(fds.count - 1)) + [executable, "zygote"]
                pid = try spawn(Self.bubblewrapPath ?? "/usr/bin/bwrap", arguments: arguments, fds: fds, limits: Limits.values(), seccomp: false)
            case .seccomp:
                pid = try spawn(executable, arguments: [executable, "zygote"], fds: fds, limits: Limits.values(), seccomp: true)
            }
        } catch {
            close(pair[0])
            close(complaints[0])
            throw error
        }
        return (pid, pair[0], complaints[0])
    }

    /// bwrap's arguments up to the worker's own: the namespaces, a file system of the system libraries and the worker
    /// binary only (read-only), `/proc` of its own PID namespace, a minimal `/dev`, the environment allowlist.
    private func bubblewrapArguments(worker: String, filterFD: Int32) -> [String] {
        // No --die-with-parent: its signal comes when the *thread* that started bwrap ends, and a zygote outlives the
        // request that started it; the zygote ends when its socket closes, with this process at the latest.
        var arguments = ["bwrap", "--unshare-all", "--new-session", "--cap-drop", "ALL",
                         "--clearenv", "--proc", "/proc", "--dev", "/dev"]
        for library in ["/usr/lib", "/usr/lib64", "/usr/libx32", "/usr/lib32"] where access(library, F_OK) == 0 {
            arguments += ["--ro-bind", library, library]
        }
        // Merged /usr (Debian 12): /lib and /lib64 are symbolic links into /usr; elsewhere they are folders.
        for top in ["/lib", "/lib64"] {
            var buffer = [CChar](repeating: 0, count: 256)
            let length = readlink(top, &buffer, buffer.count - 1)
            if length > 0 {
                arguments += ["--symlink", String(cString: buffer), top]
            } else if access(top, F_OK) == 0 {
                arguments += ["--ro-bind", top, top]
            }
        }
        // The loader's cache, and Debian's alternatives, through which some libraries are linked (libblas.so.3).
        arguments += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache", "--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]
        for folder in Self.runtimeLibraryFolders where !folder.hasPrefix("/usr/lib/") {
            arguments += ["--ro-bind", folder, folder]
        }
        arguments += ["--ro-bind", worker, worker, "--chdir", "/"]
        for (name, value) in Self.workerEnvironment { arguments += ["--setenv", name, value] }
        return arguments + ["--seccomp", String(filterFD), "--"]
    }

    /// The folders of the shared libraries this process maps outside the system's (the Swift runtime, when the
    /// toolchain is not installed under /usr): the worker, built by the same toolchain, needs them too.
    private static let runtimeLibraryFolders: [String] = {
        // Read to the end: this process's libraries may come after thousands of lines of thread stacks.
        guard let bytes = try? FileIO.readAll(BytePath("/proc/self/maps")) else { return [] }
        var folders: Set<String> = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let start = line.firstIndex(of: "/") else { continue }
            let path = String(line[start...])
            guard path.hasSuffix(".so") || path.contains(".so.") else { continue }
            if path.contains("libswift") || path.contains("libFoundation") || path.contains("libdispatch") || path.contains("libBlocksRuntime") {
                folders.insert((path as NSString).deletingLastPathComponent)
            }
        }
        return folders.sorted()
    }()

    private func spawn(_ path: String, arguments: [String], fds: [Int32], limits values: [rlim_t], seccomp: Bool) throws(WorkerSandboxError) -> pid_t {
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        // bwrap builds the worker's own environment (`--clearenv`, `--setenv`); a worker started directly gets the allowlist.
        let variables = seccomp ? Self.workerEnvironment.map { "\($0)=\($1)" } : []
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var child: pid_t = 0
        let failure: Int32 = filter.withUnsafeBytes { bytes in
            var program = sock_fprog(len: UInt16(bytes.count / MemoryLayout<sock_filter>.stride),
                                     filter: UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: sock_filter.self)))
            return withUnsafePointer(to: &program) { program in
                keepsake_spawn_confined(path, argv, envp, fds, Int32(fds.count), values, seccomp ? program : nil, &child)
            }
        }
        if failure != 0 {
            if child > 0 { var status: Int32 = 0; while waitpid(child, &status, 0) < 0 && errno == EINTR {} }
            throw .system("starting \(path) confined", failure)
        }
        return child
    }

    /// A filter (or a warm-up picture) as a file the zygote or bwrap reads (`--seccomp FD`): a fresh one per zygote, read
    /// from its start; `name` is what /proc shows of it.
    private static func memoryFile(_ bytes: [UInt8], name: String = "keepsake-seccomp") throws(WorkerSandboxError) -> Int32 {
        let fd = keepsake_memfd(name)
        guard fd >= 0 else { throw .system("memfd_create", errno) }
        do throws(Errno) {
            try bytes.withUnsafeBufferPointer { buffer throws(Errno) in try FileIO.writeFully(fd, UnsafeRawBufferPointer(buffer)) }
        } catch {
            close(fd)
            throw .system("writing a memory file for the zygote", error.code)
        }
        lseek(fd, 0, SEEK_SET)
        return fd
    }

    /// Runs `/bin/true` the way a worker would be run (the worker binary is not run: it might be anything): nil when
    /// it works, else why not.
    private func trialRun(bwrap: String) -> String? {
        let probe = ([String](["/usr/bin/true", "/bin/true"])).first { access($0, X_OK) == 0 } ?? "/bin/true"
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        do {
            let filterFD = try Self.memoryFile(filter)
            defer { close(filterFD) }
            var arguments = bubblewrapArguments(worker: probe, filterFD: 4)
            arguments += [probe]
            let pid = try spawn(bwrap, arguments: arguments, fds: [null, null, null, null, filterFD],
                                limits: Limits.values(cpuSeconds: 10), seccomp: false)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return status == 0 ? nil : "a trial run of bwrap failed (status \(status >> 8)): the kernel may refuse unprivileged namespaces"
        } catch {
            return "a trial run of bwrap failed: \(error)"
        }
    }
}

/// Why no worker can be started confined.
public enum WorkerSandboxError: Error, Sendable, CustomStringConvertible {
    case system(String, Int32)
    case seccomp(String)

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        case .seccomp(let why): "cannot build the media workers' seccomp filter: \(why)"
        }
    }
}

/// A value computed once, on first use, by whichever thread asks first.
final class Lazy<Value: Sendable>: Sendable {
    private let state: Mutex<Value?> = Mutex(nil)
    private let make: @Sendable () -> Value
    init(_ make: @escaping @Sendable () -> Value) { self.make = make }
    var value: Value {
        state.withLock { value in
            if let value { return value }
            let made = make()
            value = made
            return made
        }
    }
}
