#if canImport(Glibc)
import Glibc
#endif

/// Why an export, or one file of it, did not succeed.
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The export folder cannot be created or written to.
    case targetUnusable(path: String, errno: Int32)
    /// A system call inside the export folder failed.
    case io(operation: String, path: String, errno: Int32)
    /// Another `keepsake export` is writing into the same folder.
    case targetLocked(String)
    /// The state file exists but cannot be read as one: resuming from it could duplicate or lose files.
    case stateDamaged(path: String, reason: String)
    /// `--album NAME` names no album with files in it, and nothing of that album was exported before.
    case noSuchAlbum(String)
    /// The decrypted original does not have the BLAKE2b recorded at ingest; it was not put in place.
    case checksumMismatch(name: String, expected: String, actual: String)
    /// The decrypted original does not have the size recorded at ingest; it was not put in place.
    case sizeMismatch(name: String, expected: Int64, actual: Int64)

    public var description: String {
        switch self {
        case .targetUnusable(let path, let code):
            "cannot export into \(path): \(String(cString: strerror(code)))"
        case .io(let operation, let path, let code):
            "\(operation) \(path): \(String(cString: strerror(code)))"
        case .targetLocked(let path):
            "another keepsake export is writing into \(path); try again when it has finished"
        case .stateDamaged(let path, let reason):
            "the export state file \(path) is damaged (\(reason)); move it away to export everything again"
        case .noSuchAlbum(let name):
            "the library has no album named \"\(name)\" with files in it"
        case .checksumMismatch(let name, let expected, let actual):
            "\(name): the decrypted original's BLAKE2b \(actual.prefix(16))… is not the one recorded at ingest "
                + "(\(expected.prefix(16))…); not exported"
        case .sizeMismatch(let name, let expected, let actual):
            "\(name): the decrypted original has \(actual) bytes, not the \(expected) recorded at ingest; not exported"
        }
    }

    /// True when the export could not start at all (its folder, lock or state, the album asked for), rather than a file failing.
    public var isSetupProblem: Bool {
        switch self {
        case .targetUnusable, .targetLocked, .stateDamaged, .noSuchAlbum: true
        case .io, .checksumMismatch, .sizeMismatch: false
        }
    }
}
