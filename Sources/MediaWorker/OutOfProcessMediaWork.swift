import FileSystem
import Foundation
import Logging
import MediaTypes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One confined `keepsake-media` child process and the pipes to it. Spawned and reaped here rather than through Foundation's
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

    /// Whether the pid is bwrap's, which reports a worker killed by signal N as exit status 128 + N.
    private let underBubblewrap: Bool

    /// Starts `executable` confined by `sandbox`, with `file` (opened read-only here) as the one file it may read.
    init(executable: String, file: Int32, sandbox: WorkerSandbox, limits: WorkerSandbox.Limits) throws {
        signal(SIGPIPE, SIG_IGN)  // a worker that died must be an error on its pipe, not the death of this process
        let launched = try sandbox.launch(worker: executable, file: file, limits: limits)
        pid = launched.pid
        toWorker = launched.toWorker
        fromWorker = launched.fromWorker
        underBubblewrap = sandbox.level == .bubblewrap
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
            return describe(status)
        case FrameError.malformed(let why):
            kill()
            return "the media worker sent a malformed answer (\(why)); killed"
        default:
            kill()
            return "the media worker failed: \(error)"
        }
    }

    private func describe(_ status: Int32) -> String {
        var signal = status & 0x7F
        let code = (status >> 8) & 0xFF
        if signal == 0 && underBubblewrap && code > 128 { signal = code - 128 }
        if signal == SIGSYS {
            return "the media worker was killed by its sandbox: a forbidden system call (SIGSYS)"
        }
        if signal == SIGXCPU {
            return "the media worker was killed: it used up its CPU time (SIGXCPU)"
        }
        if signal != 0 {
            return "the media worker crashed: killed by signal \(signal) (\(signalName(signal)))"
        }
        return "the media worker exited with status \(code)"
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

/// The media work done by `keepsake-media` child processes, each started confined (`WorkerSandbox`) for one request
/// on one file, which this process opens read-only and hands over as the worker's fd 3: a file that crashes, hangs or
/// takes over a decoder costs that file only, and a worker never sees another file, its path or its key.
public final class OutOfProcessMediaWork: MediaWork {
    private let executable: String
    private let timeoutFloor: Duration
    private let shouldStop: @Sendable () -> Bool
    /// When the run was first seen stopping: work still running a grace period later is abandoned.
    private let stopSeen = Mutex<ContinuousClock.Instant?>(nil)
    private static let stopGrace: Duration = .seconds(3)
    private let failures = Mutex<[BytePath: String]>([:])
    private static let logger = Logger(label: "keepsake.worker")

    /// `executable` is the worker binary (`keepsake-media`); a worker may go `timeoutFloor` plus a second per MiB
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

    public func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
        let request = WorkerRequest(operation: .metadata, name: path.lastComponent, format: format,
                                    surroundings: FileSurroundings(beside: path))
        let (reply, _) = try performTyped(request, path: path, expecting: .metadata) { reply, _, size in
            guard let metadata = reply.metadata else { return "no metadata" }
            return WorkerAnswerCheck.problem(with: metadata, fileSize: size).map { "metadata no file can hold: \($0)" }
        }
        return reply.metadata!
    }

    public func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        let request = WorkerRequest(operation: .pictures, name: path.lastComponent, format: format, orientation: orientation,
                                    rendition: rendition)
        let (reply, payload) = try performTyped(request, path: path, expecting: .pictures) { reply, payload, _ in
            guard let split = reply.thumbnailByteCount, split > 0, split <= payload.count else { return "pictures without a thumbnail" }
            let bytes = Array(payload)
            if let problem = WorkerAnswerCheck.problem(withJPEG: Array(bytes[..<split])) { return "a thumbnail that is not one: \(problem)" }
            guard split < bytes.count else { return nil }
            if let problem = WorkerAnswerCheck.problem(withJPEG: Array(bytes[split...]), maxLongEdge: WorkerAnswerCheck.renditionLongEdge,
                                                       maxBytes: WorkerAnswerCheck.renditionBytes) {
                return "a rendition that is not one: \(problem)"
            }
            return rendition == .always || format.needsRendition ? nil : "a rendition for a format that needs none (\(format.rawValue))"
        }
        let split = reply.thumbnailByteCount!
        return StillPictures(thumbnail: Array(payload.prefix(split)), rendition: split < payload.count ? Array(payload.dropFirst(split)) : nil,
                             renditionProblem: reply.problem)
    }

    public func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions,
                       segmentKey: [UInt8], iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        let request = WorkerRequest(operation: .stream, name: path.lastComponent, format: format, preset: options.preset,
                                    segmentKey: Data(segmentKey), iv: Data(iv), embedded: embedded)
        let (reply, thumbnail) = try perform(request, path: path, expecting: .stream, check: { _, jpeg, _ in
            jpeg.isEmpty ? nil : WorkerAnswerCheck.problem(withJPEG: Array(jpeg)).map { "a thumbnail that is not one: \($0)" }
        }) { try $0.withUnsafeBytes(output) }
        return StreamProduct(playlist: reply.playlist ?? "", thumbnail: thumbnail.isEmpty ? nil : Array(thumbnail),
                             thumbnailProblem: reply.problem)
    }

    /// `perform` without stream bytes, where nothing but a `MediaWorkError` can come out.
    private func performTyped(_ request: WorkerRequest, path: BytePath, expecting kind: WorkerReply.Kind,
                              check: (WorkerReply, Data, Int64) -> String?) throws(MediaWorkError) -> (WorkerReply, Data) {
        do { return try perform(request, path: path, expecting: kind, check: check) { _ in } } catch {
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

    /// Opens the file at `path` read-only, starts a confined worker on it, sends `request` and reads the answer,
    /// handing stream bytes to `streamBytes`; the worker is ended (and reaped) before this returns. `check` says what
    /// is wrong with the final answer (given the file's size), if anything: the file then fails as a worker failure.
    private func perform(_ request: WorkerRequest, path: BytePath, expecting kind: WorkerReply.Kind,
                         check: (WorkerReply, Data, Int64) -> String?, streamBytes: (Data) throws -> Void) throws -> (WorkerReply, Data) {
        // O_NONBLOCK: opening a FIFO put in its place must not wait for a writer (the worker refuses it as not a file).
        let file: Int32
        do { file = try PathOpener.open(path, flags: O_RDONLY | O_NONBLOCK | O_CLOEXEC) } catch {
            throw MediaWorkError.notProduced(StageProblem(stage: request.operation.rawValue, reason: "cannot open \(path): \(error)"))
        }
        defer { close(file) }
        var info = stat()
        let megabytes = fstat(file, &info) == 0 ? Int64(info.st_size) >> 20 : 0
        let timeout = timeoutFloor + .seconds(megabytes)
        let worker: WorkerProcess
        do {
            let sandbox = try WorkerSandbox.current.get()
            // CPU time across its threads: four times the silence it is allowed, at least a minute.
            let cpu = max(60, 4 * Int(timeout.components.seconds))
            worker = try WorkerProcess(executable: executable, file: file, sandbox: sandbox, limits: .init(cpuSeconds: cpu))
        } catch {
            throw MediaWorkError.workerFailed("cannot start a media worker (\(executable)): \(error)")
        }
        do {
            let answer = try worker.channel.exchange(request, expecting: kind, nextFrame: { try awaitFrame(from: worker, deadline: .now + timeout) },
                                                     streamBytes: streamBytes)
            worker.stop()
            switch answer {
            case .done(let reply, let payload):
                if let problem = check(reply, payload, Int64(info.st_size)) {
                    let reason = "the media worker answered \(problem); the file is not stored"
                    Self.logger.warning("\(path): \(reason)")
                    failures.withLock { $0[path] = reason }
                    throw MediaWorkError.workerFailed(reason)
                }
                return (reply, payload)
            case .notProduced(let problem): throw MediaWorkError.notProduced(problem)
            }
        } catch let error as MediaWorkError {
            throw error
        } catch let failed as StreamSinkFailed {
            worker.kill()  // it is mid-answer, and nobody will read the rest
            throw failed.error
        } catch {
            let reason = worker.failure(after: error, timeout: timeout)
            Self.logger.warning("\(path): \(reason)")
            failures.withLock { $0[path] = reason }
            throw MediaWorkError.workerFailed(reason)
        }
    }
}
