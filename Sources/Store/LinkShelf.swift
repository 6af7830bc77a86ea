import Foundation

/// The `links/` part of a store (docs/public-links.md): public link records, their sealed manifests and the pictures
/// made for them. It needs no key: `keepsake serve --links-only` reads and expires links through it, and it never
/// writes or deletes outside `links/`. Reads may name any object; the server decides which a link may read.
public struct LinkShelf: Sendable {
    public static let prefix = "links/"
    let store: any ObjectStore

    init(store: any ObjectStore) { self.store = store }

    /// The store of the library at `path` in `location`, opened without its keys; nil when there is no library there.
    public static func open(library path: String, store location: StoreLocation) throws -> LinkShelf? {
        guard let store = try location.openExisting(library: path), try store.size(of: KeyFile.objectName) != nil else { return nil }
        return LinkShelf(store: store)
    }

    /// A small object whole, nil when the store lacks it; one over `cap` bytes is refused (`ObjectTooLarge`) unread.
    public func read(_ name: String, upTo cap: Int) throws -> [UInt8]? {
        let object = try ObjectName(name)
        guard let size = try store.size(of: object) else { return nil }
        guard size <= UInt64(cap) else { throw ObjectTooLarge(name: name, limit: cap) }
        return try store.get(object, limit: cap)
    }

    public func size(of name: String) throws -> UInt64? {
        try store.size(of: ObjectName(name))
    }

    public func read(_ name: String, range: Range<UInt64>, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try store.read(ObjectName(name), range: range, into: sink)
    }

    /// Stores `bytes` as `name` (under `links/`), replacing what was there.
    public func put(_ name: String, _ bytes: [UInt8]) throws {
        try store.put(Self.checked(name), bytes: bytes)
    }

    /// Deletes `name` (under `links/`); a missing object is not an error.
    public func delete(_ name: String) throws {
        let object = try Self.checked(name)
        guard try store.size(of: object) != nil else { return }
        try store.delete(object)
    }

    /// The names under `prefix` (which must be under `links/`), in byte order.
    public func names(under prefix: String) throws -> [String] {
        guard prefix.hasPrefix(Self.prefix) else { throw LinkShelfError.outsideLinks(prefix) }
        return try store.list(prefix: prefix).map(\.path)
    }

    private static func checked(_ name: String) throws -> ObjectName {
        guard name.hasPrefix(prefix) else { throw LinkShelfError.outsideLinks(name) }
        return try ObjectName(name)
    }
}

public enum LinkShelfError: Error, CustomStringConvertible {
    case outsideLinks(String)

    public var description: String {
        switch self {
        case .outsideLinks(let name): "\(name) is not a link object (links/...)"
        }
    }
}
