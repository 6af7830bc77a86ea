import FileSystem
import Foundation
import Logging
import MediaTypes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One `keepsake worker` child process and the pipes to it.
final class WorkerProcess: @unchecked Sendable {  // used by one thread at a time: checked out of the pool
    private let process = Process()
    private let toWorker = Pipe()
    private let fromWorker = Pipe()
    let channel: FrameChannel

    init(executable: String) throws {
        signal(SIGPIPE, SIG_IGN)  // a worker that died must be an error on its pipe, not the death of this process
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["worker"]
        var environment = ProcessInfo.processInfo.environment
        for secret in ["KEEPSAKE_PASSPHRASE", "KEEPSAKE_NEW_PASSPHRASE"] { environment[secret] = nil }
        process.environment = environment
        process.standardInput = toWorker
        process.standardOutput = fromWorker
        channel = FrameChannel(input: fromWorker.fileHandleForReading.fileDescriptor,
                               output: toWorker.fileHandleForWriting.fileDescriptor)
        try process.run()
    }

    /// Why the worker stopped answering: its signal or exit status, or the timeout (after which it is killed).
    func failure(after error: any Error, timeout: Duration) -> String {
        if case FrameError.timedOut = error {
            kill()
            return "the media worker hung: no answer within \(timeout.components.seconds) s; killed"
        }
        if case FrameError.endOfFile = error {
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                return "the media worker crashed: killed by signal \(process.terminationStatus) (\(signalName(process.terminationStatus)))"
            }
            return "the media worker exited with status \(process.terminationStatus)"
        }
        kill()
        return "the media worker failed: \(error)"
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Closing its stdin makes an idle worker exit.
    func stop() {
        try? toWorker.fileHandleForWriting.close()
        process.waitUntilExit()
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

    public func thumbnail(fileAt path: BytePath, format: MediaFormat, orientation: Int?) throws(MediaWorkError) -> [UInt8] {
        let request = WorkerRequest(operation: .thumbnail, path: path, format: format, orientation: orientation)
        return Array(try performTyped(request, expecting: .thumbnail).1)
    }

    public func stream(fileAt path: BytePath, format: MediaFormat, options: StreamOptions, segmentKey: [UInt8], iv: [UInt8],
                       output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        let request = WorkerRequest(operation: .stream, path: path, format: format, preset: options.preset,
                                    segmentKey: Data(segmentKey), iv: Data(iv))
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
