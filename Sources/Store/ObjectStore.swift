import Foundation

/// The name of an object in a store: `data/<random hex>` for encrypted blobs, `keys/master` for the key file.
/// Names reveal nothing about what an object holds.
public struct ObjectName: Hashable, Sendable, CustomStringConvertible {
    public let path: String

    public init(_ path: String) throws(StoreError) {
        // Checked byte by byte: a listing makes a name of every object it returns.
        guard !path.isEmpty, path.utf8.allSatisfy({ byte in
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                      || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
              }), !path.hasPrefix("/"),
              !path.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw .invalidName(path)
        }
        self.path = path
    }

    /// A fresh random data object name.
    public static func randomData() -> ObjectName {
        try! ObjectName("data/" + ObjectID.random().hex)
    }

    public var description: String { path }
}

extension ObjectName: Comparable {
    /// Byte order, the order in which S3 lists keys and `list(prefix:after:)` returns names.
    public static func < (a: ObjectName, b: ObjectName) -> Bool { a.path.utf8.lexicographicallyPrecedes(b.path.utf8) }

    /// Whether `list(prefix:after:)` returns this name: under `prefix` and, when `after` is given, sorting strictly after it.
    func isListed(prefix: String, after: String?) -> Bool {
        path.hasPrefix(prefix) && (after.map { $0.utf8.lexicographicallyPrecedes(path.utf8) } ?? true)
    }
}

/// 128 random bits naming one data object.
public struct ObjectID: Hashable, Sendable {
    public let hex: String
    public static func random() -> ObjectID { ObjectID(hex: randomBytes(16).hexString) }
}

/// An object as a listing shows it.
public struct StoredObject: Hashable, Sendable {
    public var name: ObjectName
    public var modified: Date
}

/// A streaming upload of one object: bytes go in with `write`, and the object appears in the store only when
/// `commit` returns. `abort` (or dropping an uncommitted writer) leaves nothing behind.
public protocol ObjectWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError)
    func commit() throws(StoreError)
    func abort()
}

extension ObjectWriter {
    /// Writes all of a small object's `bytes` in one call.
    public func write(_ bytes: [UInt8]) throws(StoreError) {
        // `withUnsafeBytes` rethrows untyped errors: the typed one is carried out.
        var failure: StoreError?
        bytes.withUnsafeBytes { buffer in
            do throws(StoreError) { try write(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

/// The small interface every backend implements (a local folder, S3). Calls block: they are made
/// from the pipeline's own worker threads, never from Swift's cooperative pool.
public protocol ObjectStore: Sendable {
    func makeWriter(for name: ObjectName) throws(StoreError) -> any ObjectWriter
    /// A writer whose `commit` puts the object in place but, when `durably` is false and the store can tell the two
    /// apart, leaves making it survive a crash to `makeDurable`, which the caller must call before anything names the
    /// object (group commit: one pass for many objects).
    func makeWriter(for name: ObjectName, durably: Bool) throws(StoreError) -> any ObjectWriter
    /// Makes objects written with `durably: false` survive a crash: on a local folder one `syncfs` for all of them
    /// and their folders; a no-op where an object is durable once written (S3: when its PUT returns).
    func makeDurable(_ names: [ObjectName]) throws(StoreError)
    /// Streams the object's bytes (or the given range of them) to `sink`, in pieces.
    func read(_ name: ObjectName, range: Range<UInt64>?, into sink: (UnsafeRawBufferPointer) throws -> Void) throws
    /// The object's size, or nil when it does not exist.
    func size(of name: ObjectName) throws(StoreError) -> UInt64?
    /// The object names under `prefix` (e.g. `log/`) that sort strictly after `after` (every one when nil), in
    /// ascending byte order: how a reader lists only the log entries newer than the last it has seen.
    /// On S3 that is one request per page of names after `after`, not a listing of the whole prefix.
    func list(prefix: String, after: String?) throws(StoreError) -> [ObjectName]
    /// Every object under `prefix` with the time it was last written, for deciding whether an unreferenced object
    /// may still belong to a writer at work.
    func listing(prefix: String) throws(StoreError) -> [StoredObject]
    func delete(_ name: ObjectName) throws(StoreError)
    /// Writes a small object unless one of that name exists; false when it existed (and is left unchanged).
    /// A server that ignores the condition overwrites: callers read the object back.
    @discardableResult
    func putIfAbsent(_ name: ObjectName, bytes: [UInt8]) throws(StoreError) -> Bool
    /// `putIfAbsent`, made durable by a later `makeDurable` when `durably` is false (see `makeWriter(for:durably:)`).
    @discardableResult
    func putIfAbsent(_ name: ObjectName, bytes: [UInt8], durably: Bool) throws(StoreError) -> Bool
    /// Removes what killed writers left half-written: the uploads of `orphans` (objects the library began and
    /// never committed) and any other partial upload too old to belong to a live writer.
    /// Called only under the library's writer lock.
    func removeAbandonedUploads(of orphans: [ObjectName]) throws(StoreError)
}

extension ObjectStore {
    /// A store whose every write is durable when it returns has nothing to defer.
    public func makeWriter(for name: ObjectName, durably: Bool) throws(StoreError) -> any ObjectWriter {
        try makeWriter(for: name)
    }

    public func makeDurable(_ names: [ObjectName]) throws(StoreError) {}

    @discardableResult
    public func putIfAbsent(_ name: ObjectName, bytes: [UInt8], durably: Bool) throws(StoreError) -> Bool {
        try putIfAbsent(name, bytes: bytes)
    }

    /// Every object name under `prefix` (e.g. `data/`), in ascending byte order.
    public func list(prefix: String) throws(StoreError) -> [ObjectName] {
        try list(prefix: prefix, after: nil)
    }

    /// Writes a small object in one call (with `durably: false`, made durable by a later `makeDurable`).
    public func put(_ name: ObjectName, bytes: [UInt8], durably: Bool = true) throws(StoreError) {
        let writer = try makeWriter(for: name, durably: durably)
        do throws(StoreError) { try writer.write(bytes) } catch {
            writer.abort()
            throw error
        }
        try writer.commit()
    }

    /// Reads a small object whole, refusing (with `ObjectTooLarge`, before allocating it) one longer than `limit`:
    /// what the store returns is not trusted to be as small as what keepsake wrote.
    public func get(_ name: ObjectName, limit: Int = 64 << 20) throws -> [UInt8] {
        var out = [UInt8]()
        try read(name, range: nil) { piece in
            guard out.count + piece.count <= limit else { throw ObjectTooLarge(name: name.path, limit: limit) }
            out.append(contentsOf: piece)
        }
        return out
    }
}

/// A small object (the key file, a journal entry) is longer than anything keepsake writes there.
public struct ObjectTooLarge: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var limit: Int
    public var description: String { "\(name) is longer than \(limit) bytes, more than keepsake ever writes there" }
}

/// Why a store operation failed.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case notFound(String)
    case io(operation: String, path: String, errno: Int32)
    case unusable(String)
    /// The store's settings are wrong (a bad `s3://` URL, endpoint or missing credentials): a usage error.
    case misconfigured(String)
    /// The server answered `status` with S3's error `code` (empty when the response had no body) to `operation`.
    case http(operation: String, status: Int, code: String, message: String)
    /// No answer from `endpoint` after every retry.
    case unreachable(endpoint: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name): "invalid object name \"\(name)\""
        case .notFound(let name): "object \(name) is missing from the store"
        case .io(let operation, let path, let code): "\(operation) \(path): \(String(cString: strerror(code)))"
        case .unusable(let why): "store unusable: \(why)"
        case .misconfigured(let why): "store misconfigured: \(why)"
        case .http(let operation, let status, let code, let message):
            "S3 \(operation) failed: HTTP \(status)" + (code.isEmpty ? "" : " \(code)") + (message.isEmpty ? "" : ": \(message)")
                + (status == 403 ? " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's permissions)" : "")
        case .unreachable(let endpoint, let reason): "S3 endpoint \(endpoint) unreachable: \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import KeepsakeCrypto
