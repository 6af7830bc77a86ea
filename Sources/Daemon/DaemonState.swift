import Foundation
import Pipeline
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the running daemon is doing, for `keepsake status`: kept in `daemon-state.json` beside the index,
/// rewritten atomically (temporary file, then rename) at most once a second and at every batch boundary.
public struct DaemonState: Codable, Sendable {
    public var pid: Int32
    public var startedAt: Date
    public var updatedAt: Date
    public var watching: [String] = []
    /// Files seen changing, waiting until they stop growing or for the next batch.
    public var queued = 0
    public var inFlight: [String] = []
    public var done = 0
    /// Files that failed since the daemon started, with the reason (latest attempt).
    public var failed: [String: String] = [:]
    public var lastBatch: Date?
    /// The watched folders followed by rescans, with the time of the last one.
    public var rescans: [String: Date] = [:]
    /// Why the store cannot be used, while the daemon waits for it.
    public var waitingForStore: String?

    /// One line for systemd's STATUS (`systemctl status keepsake`).
    public var summary: String {
        if let waitingForStore { return "waiting for the store: \(waitingForStore)" }
        return "watching \(watching.count) folder\(watching.count == 1 ? "" : "s"); \(queued) queued, \(inFlight.count) in flight, "
            + "\(done) done, \(failed.count) failed"
    }

    public static func path(library: String) -> String { library + "/daemon-state.json" }

    /// The state of the daemon of `library`, nil when none is running.
    public static func current(library: String) -> DaemonState? {
        guard let data = FileManager.default.contents(atPath: path(library: library)),
              let state = try? JSONDecoder.daemonState.decode(DaemonState.self, from: data),
              kill(state.pid, 0) == 0 || errno == EPERM else { return nil }
        return state
    }
}

extension JSONDecoder {
    static var daemonState: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// The daemon's live state, updated from any thread; counts the files of a batch as they start and finish.
final class DaemonStateBoard: IngestObserver {
    private struct Board {
        var state: DaemonState
        var lastWrite = ContinuousClock.now - .seconds(10)
        /// A write is scheduled for the end of the current second, so that the last change is never left unwritten.
        var flushScheduled = false
        /// The daemon has stopped and removed the file: nothing writes it again.
        var closed = false
    }
    private let board: Mutex<Board>
    private let path: String
    private let notifier: SystemdNotifier?

    init(library: String, notifier: SystemdNotifier?) {
        path = DaemonState.path(library: library)
        self.notifier = notifier
        board = Mutex(Board(state: DaemonState(pid: getpid(), startedAt: Date(), updatedAt: Date())))
    }

    func update(force: Bool = false, _ change: (inout DaemonState) -> Void) {
        let (snapshot, scheduleFlush): (DaemonState?, Bool) = board.withLock { board in
            change(&board.state)
            guard !board.closed else { return (nil, false) }
            let now = ContinuousClock.now
            guard force || now - board.lastWrite >= .seconds(1) else {
                defer { board.flushScheduled = true }
                return (nil, !board.flushScheduled)
            }
            board.lastWrite = now
            board.flushScheduled = false
            board.state.updatedAt = Date()
            return (board.state, false)
        }
        if let snapshot { write(snapshot) }
        if scheduleFlush {
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [weak self] in self?.update(force: true) { _ in } }
        }
    }

    var summary: String { board.withLock { $0.state.summary } }

    func remove() {
        board.withLock { $0.closed = true }
        unlink(path)
    }

    private func write(_ state: DaemonState) {
        notifier?.status(state.summary)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        guard let data = try? encoder.encode(state) else { return }
        // A unique temporary name: the board is written from several threads.
        let temp = path + ".\(UUID().uuidString).tmp"
        guard FileManager.default.createFile(atPath: temp, contents: data) else { return }
        if rename(temp, path) != 0 { unlink(temp) }
    }

    func started(_ file: DiscoveredFile) {
        update { state in
            if !state.inFlight.contains(file.path.description) { state.inFlight.append(file.path.description) }
        }
    }

    func read(bytes: Int64) {}

    func finished(_ outcome: FileOutcome) {
        update { state in
            state.inFlight.removeAll { $0 == outcome.path.description }
            if outcome.isFailure {
                state.failed[outcome.path.description] = outcome.reason ?? "failed"
            } else {
                state.done += 1
                state.failed[outcome.path.description] = nil
            }
        }
    }
}
