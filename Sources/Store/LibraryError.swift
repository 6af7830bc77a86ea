/// Why a library cannot be used at all (exit status 3), as opposed to one file failing.
public enum LibraryError: Error, Sendable, CustomStringConvertible {
    case wrongPassphrase
    case noPassphrase
    case notALibrary(String)
    case corruptIndex(String)
    case keyFileDamaged(String)
    case store(StoreError)
    case locked(String)
    /// The library folder's index describes the store `recorded`, not the one `given`.
    case otherStore(library: String, recorded: String, given: String)

    public var description: String {
        switch self {
        case .wrongPassphrase: "wrong passphrase: it does not open this library's master key"
        case .noPassphrase: "no passphrase: set KEEPSAKE_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked"
        case .notALibrary(let path): "\(path) is not a Keepsake library"
        case .corruptIndex(let why): "the library index is unusable: \(why)"
        case .keyFileDamaged(let why): "the library's key file is damaged: \(why)"
        case .store(let error): error.description
        case .locked(let path): "another keepsake process is writing to \(path); try again when it has finished"
        case .otherStore(let library, let recorded, let given):
            "the library folder \(library) indexes the store \(recorded), not \(given): "
                + (recorded.hasPrefix("s3://") && !given.hasPrefix("s3://") ? "give --store \(recorded)" : "use another --library for \(given)")
        }
    }
}

/// Why a change to the library's albums or items was refused.
public enum LibraryEditError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSuchItem(String)

    public var description: String {
        switch self {
        case .noSuchItem(let id): "the library has no item \(id)"
        }
    }
}
