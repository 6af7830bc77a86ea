import Foundation

/// Where a library keeps its objects. The library folder holds the index and the writer lock in every case.
public enum StoreLocation: Sendable {
    /// `LIBRARY/store/`, the default.
    case libraryFolder
    /// A bucket prefix on S3 or an S3-compatible server.
    case s3(S3Configuration)
    /// Objects in this process's memory (tests).
    case memory(MemoryStore)

    /// How the user names the store in messages.
    public func describe(library: String) -> String {
        switch self {
        case .libraryFolder: Library.storePath(library: library)
        case .s3(let configuration): configuration.description
        case .memory(let store): store.description
        }
    }

    /// The URL recorded in the library folder for a store outside it.
    var url: String? {
        switch self {
        case .libraryFolder: nil
        case .s3(let configuration): configuration.description
        case .memory(let store): store.description
        }
    }

    /// The store, without creating anything; nil when there is none yet.
    func openExisting(library: String) throws(StoreError) -> (any ObjectStore)? {
        switch self {
        case .libraryFolder:
            var info = stat()
            guard stat(Library.storePath(library: library), &info) == 0 else { return nil }
            return try LocalFolderStore(root: Library.storePath(library: library))
        case .s3(let configuration):
            return S3Store(configuration: configuration)
        case .memory(let store):
            return store
        }
    }

    /// An empty store for a new library: the folder, or the bucket (created when missing) whose prefix holds nothing.
    func create(library: String) throws -> any ObjectStore {
        switch self {
        case .libraryFolder:
            return try LocalFolderStore(root: Library.storePath(library: library))
        case .s3(let configuration):
            let store = S3Store(configuration: configuration)
            try store.createBucketIfMissing()
            guard try store.isEmpty() else {
                throw LibraryError.notALibrary("\(configuration) (it holds objects, but no keys/master)")
            }
            return store
        case .memory(let store):
            guard try store.list(prefix: "").isEmpty else { throw LibraryError.notALibrary("\(store) (it holds objects, but no keys/master)") }
            return store
        }
    }
}
