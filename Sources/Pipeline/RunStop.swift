import Store
import Synchronization

/// The first run-fatal error of an ingest (the store unreachable, refusing us or full; the index broken). Once it is
/// set, no file starts; files in flight are abandoned, their objects left pending for the next writer's cleanup.
final class RunStop: Sendable {
    private let first = Mutex<(any KeepsakeError)?>(nil)

    var isStopped: Bool { first.withLock { $0 != nil } }
    var error: (any KeepsakeError)? { first.withLock { $0 } }

    /// True, and the run stops, when `error` ends the run rather than costing only its file.
    func stops(on error: any Error) -> Bool {
        guard let fatal = error as? any KeepsakeError, fatal.isRunFatal else { return false }
        first.withLock { if $0 == nil { $0 = fatal } }
        return true
    }
}

/// An ingest that a run-fatal error stopped: the one message `ingest` ends with (exit 3).
public struct IngestStopped: KeepsakeError {
    public let cause: any KeepsakeError
    /// Files with an outcome before the run stopped, and files in the run in all.
    public let done: Int
    public let total: Int

    public var exitStatus: Int32 { cause.exitStatus }
    public var isRunFatal: Bool { true }
    public var description: String {
        "\(cause.message)\nthe run stopped after \(done) of \(total) files; nothing is lost: "
            + "run it again once the store is usable, it resumes where this one stopped"
    }
}

