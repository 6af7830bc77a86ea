/// Why a library cannot be used at all (exit status 3), as opposed to one file failing.
public enum LibraryError: Error, Sendable, CustomStringConvertible {
    case wrongPassphrase
    case noPassphrase
    case notALibrary(String)
    case corruptIndex(String)
    case keyFileDamaged(String)
    /// The store's `keys/identity` does not open or does not hold a key pair; it is never replaced.
    case identityRefused(String)
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
        case .identityRefused(let why):
            "the library's identity (keys/identity in the store) is refused: \(why). It is not replaced, since the people "
                + "the library shares with know it by its public key: put back keys/identity from a copy of the store, or "
                + "the file `identity` of another library folder of this library"
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
    case itemDeleted(String)
    case noSuchAlbum(String)
    case albumExists(String)
    case badAlbumName(String, reason: String)

    public var description: String {
        switch self {
        case .noSuchItem(let id): "the library has no item \(id)"
        case .itemDeleted(let id): "item \(id) is deleted (`ingest --reupload-deleted` takes its file back)"
        case .noSuchAlbum(let name): "the library has no album '\(name)' (`keepsake album ls` lists them)"
        case .albumExists(let name): "an album named '\(name)' exists already"
        case .badAlbumName(let name, let reason): "'\(name)' cannot name an album: \(reason)"
        }
    }
}

/// A mistake in what the user asked (exit 2); it ends the command, not an ingest run.
extension LibraryEditError: KeepsakeError {
    public var exitStatus: Int32 { 2 }
    public var isRunFatal: Bool { false }
}
