import CSeccomp
import FileSystem
import Foundation
import Logging
import MediaTypes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One media worker: a child the zygote forked for one request on one file, and the pipes to it. Its end is what the
/// zygote reports (its wait status); it is killed through its pidfd, which reaches it in the zygote's PID namespace.
/// It can start no process, so nothing outlives it.
final class WorkerProcess: @unchecked Sendable {  // used by one thread at a time: the request's
    let channel: FrameChannel
    private let zygote: Zygote
    private let id: UInt64
    private var pidfd: Int32
    /// The parent's ends of the pipes: the worker's stdin (written) and stdout (read).
    private var toWorker: Int32
    private var fromWorker: Int32
    /// How it ended, once the zygote said so (or could not).
    private var end: Zygote.ChildEnd?

    /// How long a worker that closed its output, or was asked to stop, may take to exit before it is killed.
    static let exitGrace: Duration = .seconds(2)

    /// Has `zygote` fork a worker on `file` (opened read-only here), with `cpuSeconds` of CPU time.
    init(zygote: Zygote, file: Int32, cpuSeconds: Int) throws {
        signal(SIGPIPE, SIG_IGN)  // a worker that died must be an error on its pipe, not the death of this process
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        guard keepsake_pipe_cloexec(&input) == 0 else { throw WorkerSandboxError.system("pipe", errno) }
        guard keepsake_pipe_cloexec(&output) == 0 else {
            let code = errno
            close(input[0]); close(input[1])
            throw WorkerSandboxError.system("pipe", code)
        }
        defer { close(input[0]); close(output[1]) }  // the worker's ends, sent to the zygote
        do {
            (id, pidfd) = try zygote.start([input[0], output[1], file], cpuSeconds: cpuSeconds)
        } catch {
            close(input[1]); close(output[0])
            throw error
        }
        self.zygote = zygote
        toWorker = input[1]
        fromWorker = output[0]
        channel = FrameChannel(input: fromWorker, output: toWorker)
    }

    deinit {
        if end == nil { kill() }
        closePipes()
        if pidfd >= 0 { close(pidfd) }
    }

    /// Why the worker stopped answering: its signal or exit status, or the timeout (after which it is killed).
    /// Either way the worker has ended when this returns.
    func failure(after error: any Error, timeout: Duration) -> String {
        switch error {
        case FrameError.timedOut:
            kill()
            return "the media worker hung: no answer within \(timeout.components.seconds) s; killed"
        case FrameError.endOfFile, FrameError.io(_, errno: EPIPE):
            // It closed its end of a pipe: it is ending, or it means to go on without answering.
            switch awaitEnd(waitingUpTo: Self.exitGrace) {
            case .ended(let status): return describe(status)
            case .zygoteGone(let why): return "the media worker ended with its zygote (\(why))"
            case .stillRunning:
                kill()
                return "the media worker closed its output without answering; killed"
            }
        case FrameError.malformed(let why):
            kill()
            return "the media worker sent a malformed answer (\(why)); killed"
        default:
            kill()
            return "the media worker failed: \(error)"
        }
    }

    private func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        let code = (status >> 8) & 0xFF
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

    /// Kills the worker (through its pidfd) and waits for the zygote to report it ended.
    func kill() {
        if end == nil {
            _ = keepsake_pidfd_send_signal(pidfd, SIGKILL)
            _ = awaitEnd(waitingUpTo: nil)
        }
        closePipes()
    }

    /// Closing its stdin makes a worker that has answered exit; one that does not within the grace is killed.
    func stop() {
        if toWorker >= 0 { close(toWorker); toWorker = -1 }
        if case .stillRunning = awaitEnd(waitingUpTo: Self.exitGrace) { kill() }
        closePipes()
    }

    /// How the worker ended, waiting for ever (`nil`) or up to `limit`.
    private func awaitEnd(waitingUpTo limit: Duration?) -> Zygote.ChildEnd {
        if let end { return end }
        let reported = zygote.status(of: id, waitingUpTo: limit)
        if case .stillRunning = reported { return reported }
        end = reported
        return reported
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

/// The media work done by `keepsake-media` child processes, each forked for one request on one file by a zygote
/// started confined (`WorkerSandbox`, `Zygote`), and confined further: this process opens the file read-only and hands
/// it over as the worker's fd 3. A file that crashes, hangs or takes over a decoder costs that file only, and a worker
/// never sees another file, its path or its key.
public final class OutOfProcessMediaWork: MediaWork {
    private let executable: String
    private let timeoutFloor: Duration
    private let shouldStop: @Sendable () -> Bool
    /// When the run was first seen stopping: work still running a grace period later is abandoned.
    private let stopSeen = Mutex<ContinuousClock.Instant?>(nil)
    private static let stopGrace: Duration = .seconds(3)
    private let failures = Mutex<[BytePath: String]>([:])
    private static let logger = Logger(label: "keepsake.worker")
    /// The zygote the next worker is forked from: started with the first request, again after it is gone or has
    /// started `zygoteLifetime` workers.
    private let zygote = Mutex<Zygote?>(nil)
    static let zygoteLifetime = 500

    /// `executable` is the worker binary (`keepsake-media`); a worker may go `timeoutFloor` plus a second per MiB
    /// of the file without answering before it counts as hung (a stream's bytes are answers: a long video that keeps
    /// producing them is never cut off). Once `shouldStop` holds, requests still running after
    /// a grace period are abandoned, their workers killed.
    public init(executable: String, timeoutFloor: Duration, shouldStop: @escaping @Sendable () -> Bool) {
        self.executable = executable
        self.timeoutFloor = timeoutFloor
        self.shouldStop = shouldStop
    }

    deinit { shutDown() }

    /// Ends the zygote (the next request would start another).
    public func shutDown() {
        zygote.withLock { zygote in defer { zygote = nil }; return zygote }?.end()
    }

    /// A worker forked for `file`. A zygote that ended before it forked one (since the last file, or at its own start)
    /// cost no file, since no worker saw it: a fresh zygote is tried once before the file fails. Why it ended, with
    /// what it said on stderr before its loop began, is in the warning and in the file's error.
    private func startWorker(file: Int32, cpuSeconds: Int) throws -> WorkerProcess {
        do {
            return try WorkerProcess(zygote: try currentZygote(), file: file, cpuSeconds: cpuSeconds)
        } catch ZygoteError.gone(let why) {
            Self.logger.warning("the media workers' zygote is gone (\(why)); starting another")
            return try WorkerProcess(zygote: try currentZygote(), file: file, cpuSeconds: cpuSeconds)
        }
    }

    /// The zygote to fork the next worker from.
    private func currentZygote() throws -> Zygote {
        let sandbox = try WorkerSandbox.current.get()
        return try zygote.withLock { zygote in
            if let running = zygote, !running.isGone, running.forks < Self.zygoteLifetime { return running }
            let started = try Zygote(executable: executable, sandbox: sandbox)
            zygote = started
            return started
        }
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
        return try performTyped(request, path: path) { answer throws(MediaWorkError) in try Self.metadata(from: answer) }
    }

    public func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        let request = WorkerRequest(operation: .pictures, name: path.lastComponent, format: format, orientation: orientation,
                                    rendition: rendition)
        return try performTyped(request, path: path) { answer throws(MediaWorkError) in try Self.pictures(from: answer, format: format, rendition: rendition) }
    }

    /// One worker answers both: its metadata answer, then its pictures answer. A worker that fails after the first
    /// costs the pictures only.
    public func metadataAndPictures(fileAt path: BytePath, format: MediaFormat, rendition: RenditionPolicy) -> MetadataAndPictures {
        let request = WorkerRequest(operation: .metadataAndPictures, name: path.lastComponent, format: format,
                                    surroundings: FileSurroundings(beside: path), rendition: rendition)
        var metadata: Result<MediaMetadata, MediaWorkError>?
        var pictures: Result<StillPictures, MediaWorkError>?
        do {
            try performTyped(request, path: path) { answer throws(MediaWorkError) in
                metadata = Result { () throws(MediaWorkError) in try Self.metadata(from: answer) }
                if case .failure(let error) = metadata, case .workerFailed = error { throw error }
                pictures = Result { () throws(MediaWorkError) in try Self.pictures(from: answer, format: format, rendition: rendition) }
            }
        } catch {
            // The file could not be opened (each stage says so), or the worker failed before its metadata answer.
            func named(_ stage: WorkerRequest.Operation) -> MediaWorkError {
                guard case .notProduced(let problem) = error else { return error }
                return .notProduced(StageProblem(stage: stage.rawValue, reason: problem.reason))
            }
            return MetadataAndPictures(metadata: metadata ?? .failure(named(.metadata)), pictures: pictures ?? .failure(named(.pictures)))
        }
        return MetadataAndPictures(metadata: metadata!, pictures: pictures!)
    }

    private static func metadata(from answer: AnswerReader) throws(MediaWorkError) -> MediaMetadata {
        let (reply, _) = try answer(.metadata) { reply, _, size in
            guard let metadata = reply.metadata else { return "no metadata" }
            return WorkerAnswerCheck.problem(with: metadata, fileSize: size).map { "metadata no file can hold: \($0)" }
        }
        return reply.metadata!
    }

    private static func pictures(from answer: AnswerReader, format: MediaFormat, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        let (reply, payload) = try answer(.pictures) { reply, payload, _ in
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
                             renditionProblem: reply.problem, partial: reply.partial ?? false)
    }

    public func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions,
                       segmentKey: [UInt8], iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        let request = WorkerRequest(operation: .stream, name: path.lastComponent, format: format, preset: options.preset,
                                    segmentKey: Data(segmentKey), iv: Data(iv), embedded: embedded)
        return try perform(request, path: path, streamBytes: { try $0.withUnsafeBytes(output) }) { answer in
            let (reply, thumbnail) = try answer(.stream) { _, jpeg, _ in
                jpeg.isEmpty ? nil : WorkerAnswerCheck.problem(withJPEG: Array(jpeg)).map { "a thumbnail that is not one: \($0)" }
            }
            return StreamProduct(playlist: reply.playlist ?? "", thumbnail: thumbnail.isEmpty ? nil : Array(thumbnail),
                                 thumbnailProblem: reply.problem)
        }
    }

    /// Reads the worker's next final answer, which must be of `kind`: a stage not produced is thrown as
    /// `MediaWorkError.notProduced`; a worker that failed, or whose answer `check` finds wrong (given the file's size), as
    /// `workerFailed` (it has ended, and every later answer fails alike).
    typealias AnswerReader = (_ kind: WorkerReply.Kind, _ check: (WorkerReply, Data, Int64) -> String?) throws(MediaWorkError) -> (WorkerReply, Data)

    /// `perform` without stream bytes, where nothing but a `MediaWorkError` can come out.
    private func performTyped<T>(_ request: WorkerRequest, path: BytePath,
                                 answers: (AnswerReader) throws(MediaWorkError) -> T) throws(MediaWorkError) -> T {
        do { return try perform(request, path: path, streamBytes: { _ in }, answers: answers) } catch {
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

    /// Opens the file at `path` read-only, starts a confined worker on it, sends `request` and has `answers` read the
    /// final answers, handing stream bytes to `streamBytes`; the worker is ended (and reaped) before this returns.
    /// Errors thrown by `streamBytes` are rethrown as they are.
    private func perform<T>(_ request: WorkerRequest, path: BytePath, streamBytes: (Data) throws -> Void,
                            answers: (AnswerReader) throws -> T) throws -> T {
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
            // CPU time across its threads: four times the silence it is allowed, at least a minute.
            let cpu = max(60, 4 * Int(timeout.components.seconds))
            worker = try startWorker(file: file, cpuSeconds: cpu)
        } catch {
            throw MediaWorkError.workerFailed("cannot start a media worker (\(executable)): \(error)")
        }
        defer { worker.stop() }
        // `answers` gets a reader of the answers, which hands stream bytes on: not a copy that outlives this call.
        return try withoutActuallyEscaping(streamBytes) { streamBytes in
            var failure: MediaWorkError?
            func failed(_ reason: String) -> MediaWorkError {
                Self.logger.warning("\(path): \(reason)")
                failures.withLock { $0[path] = reason }
                failure = .workerFailed(reason)
                return failure!
            }
            var sinkError: (any Error)?
            func answer(_ kind: WorkerReply.Kind, check: (WorkerReply, Data, Int64) -> String?) throws(MediaWorkError) -> (WorkerReply, Data) {
                if let failure { throw failure }
                let got: WorkerAnswer
                do {
                    got = try worker.channel.answer(to: request, expecting: kind, nextFrame: { try awaitFrame(from: worker, deadline: .now + timeout) },
                                                       streamBytes: streamBytes)
                } catch let error as MediaWorkError {
                    failure = error
                    throw error
                } catch let sink as StreamSinkFailed {
                    worker.kill()  // it is mid-answer, and nobody will read the rest
                    sinkError = sink.error  // not the worker's fault: rethrown as it is
                    failure = .workerFailed("\(sink.error)")
                    throw failure!
                } catch {
                    throw failed(worker.failure(after: error, timeout: timeout))
                }
                switch got {
                case .done(let reply, let payload):
                    if let problem = check(reply, payload, Int64(info.st_size)) {
                        worker.kill()
                        throw failed("the media worker answered \(problem); the file is not stored")
                    }
                    return (reply, payload)
                case .notProduced(let problem): throw .notProduced(problem)
                }
            }
            do { try worker.channel.send(request) } catch { throw failed(worker.failure(after: error, timeout: timeout)) }
            do { return try answers(answer) } catch {
                throw sinkError ?? error
            }
        }
    }
}
