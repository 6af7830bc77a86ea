import CSeccomp
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One confined `keepsake-media zygote` (docs/worker-fork-server.md): started as a worker was, it pays the program's
/// start once and forks a fresh child per request, which gets the one file, its two pipes, a CPU limit and a stricter
/// filter (the C loop in `CSeccomp/zygote.h`). A thread of its own reads the zygote's reports (a child started, with
/// its pidfd; a child ended, with its wait status) and files them for the requests that wait on them.
final class Zygote: @unchecked Sendable {  // the mutable state is `reports`, behind its condition
    /// The launched process: the zygote, or bwrap holding it.
    private let pid: pid_t
    private let socket: Int32
    /// The read end of the zygote's stderr until its loop started: what the loader or the runtime said if it ended first.
    private let complaints: Int32
    private let reports = Reports()
    private let nextId = Mutex<UInt64>(1)
    /// How long the zygote may take to report a child it was asked for.
    static let startTimeout: Duration = .seconds(10)

    /// What the zygote said of one request, and whether it is still there to say more.
    private final class Reports: @unchecked Sendable {  // every access holds `condition`
        let condition = NSCondition()
        var started: [UInt64: Result<Int32, ZygoteError>] = [:]
        var ended: [UInt64: Int32] = [:]
        /// Why the zygote is gone (its socket closed), once it is.
        var gone: String?
        var readerDone = false
        var forks = 0
    }

    init(executable: String, sandbox: WorkerSandbox) throws(WorkerSandboxError) {
        (pid, socket, complaints) = try sandbox.launchZygote(executable)
        let reports = reports, socket = socket, pid = pid, complaints = complaints
        let reader = Thread { Self.read(socket, into: reports, launched: pid, complaints: complaints) }
        reader.name = "keepsake-zygote"
        reader.start()
    }

    deinit {
        end()
        close(socket)
        close(complaints)
    }

    /// How many children it has started: a zygote is retired after a number of them (the children share its address
    /// layout, so an address one of them leaks is good for the next; a fresh zygote bounds that).
    var forks: Int { reports.condition.withLock { reports.forks } }
    var isGone: Bool { reports.condition.withLock { reports.gone != nil } }

    /// Asks for a child on `fds` (request pipe's read end, answer pipe's write end, the file): its request id and pidfd.
    func start(_ fds: [Int32], cpuSeconds: Int) throws(ZygoteError) -> (id: UInt64, pidfd: Int32) {
        let id = nextId.withLock { next in defer { next += 1 }; return next }
        var request = keepsake_zygote_request(id: id, cpu_seconds: UInt32(clamping: cpuSeconds), reserved: 0)
        let sent = fds.withUnsafeBufferPointer { fds in
            keepsake_send_with_fds(socket, &request, MemoryLayout<keepsake_zygote_request>.size, fds.baseAddress, Int32(fds.count))
        }
        if sent != 0 { throw .gone(reports.condition.withLock { reports.gone } ?? "its socket: \(String(cString: strerror(sent)))") }
        let deadline = Date().addingTimeInterval(Double(Self.startTimeout.components.seconds))
        reports.condition.lock()
        defer { reports.condition.unlock() }
        while true {
            if let started = reports.started.removeValue(forKey: id) {
                reports.forks += 1
                return (id, try started.get())
            }
            if let gone = reports.gone { throw .gone(gone) }
            if !reports.condition.wait(until: deadline) { throw .unresponsive }
        }
    }

    /// What became of request `id`'s child: its wait status, or that the zygote ended first (the status is lost), or
    /// that it is still running when `limit` has passed (nil: no limit). Each status is taken once.
    func status(of id: UInt64, waitingUpTo limit: Duration?) -> ChildEnd {
        let deadline = limit.map { Date().addingTimeInterval(Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) }
        reports.condition.lock()
        defer { reports.condition.unlock() }
        while true {
            if let status = reports.ended.removeValue(forKey: id) { return .ended(status) }
            if let gone = reports.gone { return .zygoteGone(gone) }
            if let deadline {
                if !reports.condition.wait(until: deadline) { return .stillRunning }
            } else {
                reports.condition.wait()
            }
        }
    }

    enum ChildEnd {
        case ended(Int32)
        case zygoteGone(String)
        case stillRunning
    }

    /// Closes the zygote's socket: it ends (under bubblewrap, with every child still running; without, those die with
    /// it by their parent-death signal). Waits for it to be reaped.
    func end() {
        shutdown(socket, Int32(SHUT_RDWR))
        let deadline = Date().addingTimeInterval(2)
        reports.condition.lock()
        while !reports.readerDone {
            if !reports.condition.wait(until: deadline) {
                Glibc.kill(pid, SIGKILL)
                reports.condition.wait()
            }
        }
        reports.condition.unlock()
    }

    /// The reader thread: files each report until the socket ends, then reaps the zygote.
    private static func read(_ socket: Int32, into reports: Reports, launched pid: pid_t, complaints: Int32) {
        var why = "it ended"
        while true {
            var report = keepsake_zygote_report()
            var pidfd: Int32 = -1
            let received = keepsake_receive_with_fds(socket, &report, MemoryLayout<keepsake_zygote_report>.size, &pidfd, 1)
            if received == -EBADMSG { continue }
            if received <= 0 {
                if received < 0 { why = "reading its socket: \(String(cString: strerror(-received)))" }
                break
            }
            reports.condition.withLock {
                switch report.kind {
                case Int32(KEEPSAKE_ZYGOTE_STARTED):
                    reports.started[report.id] = pidfd >= 0 ? .success(pidfd) : .failure(.refused(EBADF))
                    pidfd = -1
                case Int32(KEEPSAKE_ZYGOTE_ENDED):
                    reports.ended[report.id] = report.value
                default:
                    reports.started[report.id] = .failure(.refused(report.value))
                }
                reports.condition.broadcast()
            }
            if pidfd >= 0 { close(pidfd) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status != 0 { why += " (wait status \(status))" }
        if let said = firstLine(of: complaints) { why += "; it said: \(said)" }
        reports.condition.withLock {
            reports.gone = why
            reports.readerDone = true
            reports.condition.broadcast()
        }
    }
}

extension Zygote {
    /// The first line the zygote wrote to its stderr before its loop started (nil when it wrote nothing), printable
    /// and at most 300 characters: it comes from a confined program, so it is shown, never trusted.
    static func firstLine(of complaints: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        var got: Int
        repeat { got = buffer.withUnsafeMutableBytes { Glibc.read(complaints, $0.baseAddress, $0.count) } } while got < 0 && errno == EINTR
        guard got > 0 else { return nil }
        let text = String(decoding: buffer[..<got], as: UTF8.self)
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        let printable = String(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init)).prefix(300)
        return printable.isEmpty ? nil : String(printable)
    }
}

/// Why the zygote started no child.
enum ZygoteError: Error, CustomStringConvertible {
    case gone(String)
    case refused(Int32)
    case unresponsive

    var description: String {
        switch self {
        case .gone(let why): "the media workers' zygote is gone: \(why)"
        case .refused(let code): "the media workers' zygote could not start a child: \(String(cString: strerror(code)))"
        case .unresponsive: "the media workers' zygote did not answer within \(Zygote.startTimeout.components.seconds) s"
        }
    }
}
