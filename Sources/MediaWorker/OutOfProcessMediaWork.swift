import FileSystem
import Foundation
import Logging
import MediaTypes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One `keepsake worker` child process and the pipes to it. Spawned and reaped here rather than through Foundation's
/// `Process`, which learns of a child's end only when every descendant has closed a descriptor the child inherited:
/// a worker that left a descendant behind (or one that a lying worker forked) made `waitUntilExit` wait forever.
/// The worker leads a process group of its own, so that killing it kills whatever it started.
final class WorkerProcess: @unchecked Sendable {  // used by one thread at a time: checked out of the pool
    let pid: pid_t
    let channel: FrameChannel
    /// The parent's ends of the pipes: the worker's stdin (written) and stdout (read).
    private var toWorker: Int32
    private var fromWorker: Int32
    /// `waitpid`'s status once the worker is reaped.
    private var exitStatus: Int32?

    /// How long a worker that closed its output, or was asked to stop, may take to exit before it is killed.
    static let exitGrace: Duration = .seconds(2)
    private static let spawning = NSLock()

    init(executable: String) throws {
        signal(SIGPIPE, SIG_IGN)  // a worker that died must be an error on its pipe, not the death of this process
        // Both pipes are made close-on-exec before any other worker can be spawned, so that no worker inherits
        // another's pipe (and keeps it open after that one is gone).
        Self.spawning.lock()
        defer { Self.spawning.unlock() }
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else { throw FrameError.io("pipe", errno: errno) }
        guard pipe(&output) == 0 else {
            let code = errno
            close(input[0]); close(input[1])
            throw FrameError.io("pipe", errno: code)
        }
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(input[0]); close(output[1]) }  // the child's ends, which only the child keeps

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), none = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var environment = ProcessInfo.processInfo.environment
        for secret in ["KEEPSAKE_PASSPHRASE", "KEEPSAKE_NEW_PASSPHRASE"] { environment[secret] = nil }
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup(executable), strdup("worker"), nil]
        let variables: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in arguments + variables { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, arguments, variables)
        guard result == 0 else {
            close(input[1]); close(output[0])
            throw FrameError.io("posix_spawn \(executable)", errno: result)
        }
        pid = child
        toWorker = input[1]
        fromWorker = output[0]
        channel = FrameChannel(input: fromWorker, output: toWorker)
    }

    deinit {
        if exitStatus == nil { kill() }
        closePipes()
    }

    /// Why the worker stopped answering: its signal or exit status, or the timeout (after which it is killed).
    /// Either way the worker is reaped when this returns.
    func failure(after error: any Error, timeout: Duration) -> String {
        switch error {
        case FrameError.timedOut:
            kill()
            return "the media worker hung: no answer within \(timeout.components.seconds) s; killed"
        case FrameError.endOfFile, FrameError.io(_, errno: EPIPE):
            // It closed its end of a pipe: it is ending, or it means to go on without answering.
            guard let status = reap(waitingUpTo: Self.exitGrace) else {
                kill()
                return "the media worker closed its output without answering; killed"
            }
            kill()  // whatever it left behind
            return Self.describe(status)
        case FrameError.malformed(let why):
            kill()
            return "the media worker sent a malformed answer (\(why)); killed"
        default:
            kill()
            return "the media worker failed: \(error)"
        }
    }

    private static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal != 0 {
            return "the media worker crashed: killed by signal \(signal) (\(signalName(signal)))"
        }
        return "the media worker exited with status \((status >> 8) & 0xFF)"
    }

    /// Kills the worker and everything it started, and reaps it.
    func kill() {
        if exitStatus == nil {
            Glibc.kill(-pid, SIGKILL)
            Glibc.kill(pid, SIGKILL)
            _ = reap(waitingUpTo: nil)
        } else {
            Glibc.kill(-pid, SIGKILL)  // what it left behind in its group
        }
        closePipes()
    }

    /// Closing its stdin makes an idle worker exit; one that does not within the grace is killed.
    func stop() {
        if toWorker >= 0 { close(toWorker); toWorker = -1 }
        if reap(waitingUpTo: Self.exitGrace) == nil { kill() }
        closePipes()
    }

    /// The worker's `waitpid` status once it has ended: waits for ever (`nil`) or up to `limit`, then gives nil.
    private func reap(waitingUpTo limit: Duration?) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = limit.map { ContinuousClock.now + $0 }
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if result == pid { exitStatus = status; return status }
            if result < 0 && errno != EINTR {  // not our child any more (ECHILD): nothing left to reap
                exitStatus = 0
                return 0
            }
            if let deadline {
                if ContinuousClock.now >= deadline { return nil }
                usleep(10_000)
            }
        }
    }

    private func closePipes() {
        if toWorker >= 0 { close(toWorker); toWorker = -1 }
        if fromWorker >= 0 { close(fromWorker); fromWorker = -1 }
    }
}

private func signalName(_ number: Int32) -> String {
    let names: [Int32: String] = [SIGABRT: "SIGABRT", SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGILL: "SIGILL",
                                  SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGTRAP: "SIGTRAP"]
    return names[number] ?? String(cString: strsignal(number))
}

/// The media work done by `keepsake worker` child processes, one request at a time each, so that a file that
/// crashes or hangs a decoder costs that file only. A failed worker is discarded; the next request starts a new one.
public final class OutOfProcessMediaWork: MediaWork {
    private let executable: String
    private let timeoutFloor: Duration
    private let shouldStop: @Sendable () -> Bool
    /// When the run was first seen stopping: work still running a grace period later is abandoned.
    private let stopSeen = Mutex<ContinuousClock.Instant?>(nil)
    private static let stopGrace: Duration = .seconds(3)
    private let idle = Mutex<[WorkerProcess]>([])
    private let failures = Mutex<[BytePath: String]>([:])
    private static let logger = Logger(label: "keepsake.worker")

    /// `executable` is the `keepsake` binary (the caller's own); a worker may go `timeoutFloor` plus a second per MiB
    /// of the file without answering before it counts as hung (a stream's bytes are answers: a long video that keeps
    /// producing them is never cut off). Once `shouldStop` holds, requests still running after
    /// a grace period are abandoned, their workers killed.
    public init(executable: String, timeoutFloor: Duration, shouldStop: @escaping @Sendable () -> Bool) {
        self.executable = executable
        self.timeoutFloor = timeoutFloor
        self.shouldStop = shouldStop
    }

    /// The files that a worker crashed or hung on since the last call, with the reason.
    public func takeWorkerFailures() -> [BytePath: String] {
        failures.withLock { failures in
            defer { failures = [:] }
            return failures
        }
    }

    /// Ends the idle workers.
    public func shutDown() {
        for worker in idle.withLock({ workers in defer { workers = [] }; return workers }) { worker.stop() }
    }

    private func timeout(forFileAt path: BytePath) -> Duration {
        var info = stat()
        let fd = try? PathOpener.open(path, flags: O_PATH)
        defer { if let fd { close(fd) } }
        let megabytes = fd.map { fstat($0, &info) } == 0 ? Int64(info.st_size) >> 20 : 0
        return timeoutFloor + .seconds(megabytes)
    }

    public func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
        let (reply, _) = try performTyped(WorkerRequest(operation: .metadata, path: path, format: format), expecting: .metadata)
        guard let metadata = reply.metadata else { throw .workerFailed("the media worker sent no metadata") }
        return metadata
    }

    public func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        let request = WorkerRequest(operation: .pictures, path: path, format: format, orientation: orientation, rendition: rendition)
        let (reply, payload) = try performTyped(request, expecting: .pictures)
        let bytes = Array(payload)
        guard let split = reply.thumbnailByteCount, split > 0, split <= bytes.count else {
            throw .workerFailed("the media worker sent pictures without a thumbnail")
        }
        return StillPictures(thumbnail: Array(bytes[..<split]), rendition: split < bytes.count ? Array(bytes[split...]) : nil,
                             renditionProblem: reply.problem, partial: reply.partial ?? false)
    }

    public func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions,
                       segmentKey: [UInt8], iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        let request = WorkerRequest(operation: .stream, path: path, format: format, preset: options.preset,
                                    segmentKey: Data(segmentKey), iv: Data(iv), embedded: embedded)
        let (reply, thumbnail) = try perform(request, expecting: .stream) { try $0.withUnsafeBytes(output) }
        return StreamProduct(playlist: reply.playlist ?? "", thumbnail: thumbnail.isEmpty ? nil : Array(thumbnail),
                             thumbnailProblem: reply.problem)
    }

    /// `perform` without stream bytes, where nothing but a `MediaWorkError` can come out.
    private func performTyped(_ request: WorkerRequest, expecting kind: WorkerReply.Kind) throws(MediaWorkError) -> (WorkerReply, Data) {
        do { return try perform(request, expecting: kind) { _ in } } catch {
            throw error as? MediaWorkError ?? .workerFailed("\(error)")
        }
    }

    /// Waits for the worker's next frame, one second at a time so that a stopping run is noticed.
    private func awaitFrame(from worker: WorkerProcess, deadline: ContinuousClock.Instant) throws -> Frame {
        while true {
            do {
                try worker.channel.waitReadable(until: min(deadline, .now + .seconds(1)))
                return try worker.channel.receive(deadline: deadline)
            } catch FrameError.timedOut where ContinuousClock.now < deadline {
                guard shouldStop() else { continue }
                let since = stopSeen.withLock { seen in
                    if seen == nil { seen = .now }
                    return seen!
                }
                if ContinuousClock.now - since > Self.stopGrace {
                    worker.kill()
                    throw MediaWorkError.workerFailed("abandoned: keepsake is stopping; the file is taken again at the next run")
                }
            }
        }
    }

    /// Sends `request` to an idle worker (or a new one) and reads its answer, handing stream bytes to `streamBytes`.
    private func perform(_ request: WorkerRequest, expecting kind: WorkerReply.Kind,
                         streamBytes: (Data) throws -> Void) throws -> (WorkerReply, Data) {
        let timeout = timeout(forFileAt: request.path)
        let worker: WorkerProcess
        do {
            worker = try idle.withLock { $0.popLast() } ?? WorkerProcess(executable: executable)
        } catch {
            throw MediaWorkError.workerFailed("cannot start a media worker (\(executable) worker): \(error)")
        }
        do {
            let answer = try worker.channel.exchange(request, expecting: kind, nextFrame: { try awaitFrame(from: worker, deadline: .now + timeout) },
                                                     streamBytes: streamBytes)
            idle.withLock { $0.append(worker) }
            switch answer {
            case .done(let reply, let payload): return (reply, payload)
            case .notProduced(let problem): throw MediaWorkError.notProduced(problem)
            }
        } catch let error as MediaWorkError {
            throw error
        } catch let failed as StreamSinkFailed {
            worker.kill()  // it is mid-answer, and nobody will read the rest
            throw failed.error
        } catch {
            let reason = worker.failure(after: error, timeout: timeout)
            Self.logger.warning("\(request.path): \(reason)")
            failures.withLock { $0[request.path] = reason }
            throw MediaWorkError.workerFailed(reason)
        }
    }
}
