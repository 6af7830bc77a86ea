import KeepsakeCrypto
#if canImport(Glibc)
import Glibc
#endif

/// An error that knows how it ends a command: its exit status (SPEC 1), whether it ends an ingest run rather than
/// costing one file, and the one message the user sees. Classified once, by the type that throws it, so that the
/// pipeline and `main` ask the error instead of matching its cases.
public protocol KeepsakeError: Error, CustomStringConvertible {
    /// 2 for a usage mistake, 3 for a library or store that cannot be used.
    var exitStatus: Int32 { get }
    /// True when no later file can succeed either (the store is unreachable, refuses us, or is full; the index is
    /// broken): the run stops, and the next one resumes. False for a problem of one file or item.
    var isRunFatal: Bool { get }
    /// What went wrong, where, and what to do.
    var message: String { get }
}

extension KeepsakeError {
    public var message: String { description }
}

extension Error {
    /// True when the error ends the run (see `KeepsakeError.isRunFatal`).
    public var isRunFatal: Bool { (self as? any KeepsakeError)?.isRunFatal ?? false }
}

extension StoreError: KeepsakeError {
    public var exitStatus: Int32 {
        if case .misconfigured = self { return 2 }
        return 3
    }

    public var isRunFatal: Bool {
        switch self {
        case .invalidName, .notFound: false
        // A store's own files failing (disk full, read-only, gone, no permission) fails every file after; only a
        // file too large for the file system is that file's problem.
        case .io(_, _, let code): code != EFBIG
        case .unusable, .misconfigured, .unreachable: true
        // Refused credentials, a missing bucket, and a server still failing after every retry.
        case .http(_, let status, let code, _): status == 401 || status == 403 || status == 429 || status >= 500 || code == "NoSuchBucket"
        }
    }
}

extension StoreError {
    /// The store cannot be reached at all (as opposed to refusing us, or being full): an edit can wait for it.
    var isOutage: Bool {
        switch self {
        case .unreachable: true
        case .http(_, let status, _, _): status >= 500
        default: false
        }
    }
}

extension LibraryError: KeepsakeError {
    public var exitStatus: Int32 {
        switch self {
        case .noPassphrase: 2
        case .store(let error): error.exitStatus
        default: 3
        }
    }

    public var isRunFatal: Bool {
        if case .store(let error) = self { return error.isRunFatal }
        return true
    }
}

/// A key or object that does not open: the library is damaged. It ends a command that meets it (exit 3), but in a
/// run it costs only the item it belongs to.
extension CryptoError: KeepsakeError {
    public var exitStatus: Int32 { 3 }
    public var isRunFatal: Bool { false }
    public var message: String { "the library is damaged: \(description)" }
}
