import Foundation
import KeepsakeCrypto

/// A format-1 journal entry: one change, kept in the store as `index/<random>` encrypted with the master key
/// (secretstream). Format 2 no longer writes them; they are read to upgrade a format-1 store, and a rebuild still
/// applies any a checkpoint does not hold (one written by an older keepsake still running elsewhere), converted to a
/// format-2 `Change` by `ChangeLog`.
struct JournalEntry: Codable {
    struct Membership: Codable {
        var albumId: String
        var wrappedFileKey: Data
    }

    enum Change: Codable {
        case album(AlbumRecord)
        case item(ItemRecord, originals: [OriginalRecord], memberships: [Membership], objects: [String])
        case membership(itemId: String, Membership)
        case deletion(itemId: String)
        case restoration(itemId: String)
        case albumRemoval(itemId: String, albumId: String, uncategorized: Membership?)
    }

    var time: Date
    var change: Change
    /// For an item: every object it owns, with its role, size and BLAKE2b as stored; absent from older entries.
    var objectDigests: [ObjectDigest]? = nil

    static let prefix = "index/"
    /// An entry is a few KiB (an item with its originals); a bigger one is refused unread, as damaged.
    static let maxByteCount = 16 << 20

    static func open(_ bytes: [UInt8], key: SecretKey) throws -> JournalEntry {
        try JSONDecoder().decode(JournalEntry.self, from: Data(try OpeningStream.open(bytes, key: key)))
    }

    /// The store objects this entry makes part of the library.
    var referencedObjects: [String] {
        guard case .item(let item, let originals, _, let objects) = change else { return [] }
        return objects + originals.map(\.objectName) + item.derivedObjects.map(\.name)
    }
}
