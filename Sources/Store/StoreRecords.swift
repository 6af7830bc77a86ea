import Foundation
import KeepsakeCrypto

/// One change to the library, as format 2 writes it into a log entry. The same `Change` is applied to the index
/// when it is written (live) and when it is read back from the store (replay), by `LibraryIndex.apply`.
enum Change: Codable, Sendable {
    /// An album made (its key wrapped by the master key).
    case album(AlbumRecord)
    /// An item committed, every object it names already durable; it starts in the albums of `memberships`.
    case item(ItemState, memberships: [Membership])
    /// An existing item added to another album.
    case membership(itemId: String, Membership)
    case deletion(itemId: String)
    /// A deleted item taken back by `ingest --reupload-deleted`.
    case restoration(itemId: String)
    /// An item taken out of an album; `uncategorized` is its membership of Uncategorized when that was its last album.
    case albumRemoval(itemId: String, albumId: String, uncategorized: Membership?)
    /// A user album renamed from `from` (the name its writer saw, which tells a concurrent rename) to `to`.
    case albumRename(albumId: String, from: String, to: String)
    /// A user album deleted; `items` are those its writer saw in it (an item added elsewhere meanwhile is told apart).
    /// Its items stay in the library.
    case albumDeletion(albumId: String, items: [String])
    /// A Live Photo made of an existing single-image or single-video item and the other half, which arrived later: the
    /// new item holds both originals under the replaced item's file key (reusing its objects) and takes its place.
    case livePhotoMerge(ItemState, replacing: String, memberships: [Membership])
    /// A rendition made later for an item stored before renditions existed (`keepsake renditions`), sealed with the
    /// item's file key; the first one recorded for the item stays.
    case rendition(itemId: String, ObjectDigest)
}

/// An item's file key wrapped by an album's key: what lets whoever holds the album key open the item.
struct Membership: Codable, Sendable {
    var albumId: String
    var wrappedFileKey: Data
}

/// Everything an item is, independent of its albums: its row, its originals, every object it owns with its role,
/// size and BLAKE2b as stored, and its file key wrapped by the library's item-key key. An item record, a log entry
/// and every checkpoint each hold it whole, so that no single object's loss costs the item.
struct ItemState: Codable, Sendable {
    /// The item row; `dedupHash` is keyed (see `Keyring.keyedHash`), `deletedAt` is nil.
    var item: ItemRecord
    /// The originals; `blake2b` is the plaintext BLAKE2b-512.
    var originals: [OriginalRecord]
    /// Empty for an item stored before objects had digests (format 1).
    var objects: [ObjectDigest]
    /// Nil only for a format-1 item whose album key was not found when it was upgraded (its memberships still open it).
    var wrappedFileKey: Data?
    /// A Live Photo completed from an existing item: that item's id, so that a record whose log entry was lost is
    /// recovered as the same `livePhotoMerge`. Nil otherwise.
    var replaces: String?

    /// Every store object the item makes part of the library.
    var referencedObjects: [String] {
        originals.map(\.objectName) + item.derivedObjects.map(\.name) + objects.map(\.name)
    }
}

/// A format-2 log entry: one change, chained to the writer's previous entry. Its writer and sequence number are in
/// its name, which is bound to it as associated data, so a copy under another name does not open.
struct LogEntry: Codable, Sendable {
    var format = 2
    /// The `LogHead.hash` of the writer's previous entry; nil for its first.
    var previous: String?
    var time: Date
    /// The machine that wrote it, as its owner would recognise it (host name and library folder).
    var device: String?
    var change: Change

    /// An entry is a few KiB (an item with its originals); a bigger one is refused unread, as damaged.
    static let maxByteCount = 16 << 20
}

/// Where a writer's log stands: its last entry applied, and the hash that entry's successor must name.
struct LogHead: Codable, Sendable, Equatable {
    var sequence: UInt64
    /// BLAKE2b-256 (hex) of the entry as stored (sealed bytes).
    var hash: String
    /// The entry's name time (microseconds since 1970): when it was written, and where the next listing starts.
    var time: UInt64
    var device: String?

    var date: Date { Date(timeIntervalSince1970: Double(time) / 1_000_000) }

    static func hash(ofSealed bytes: [UInt8]) -> String { Array(Blake2b.hash(bytes).prefix(32)).hexString }
}

/// The name of a log entry: `log/<time>-<writer>-<sequence>`, each 16 hex digits; the time (microseconds since
/// 1970, never before any entry its writer had seen) comes first, so that a listing after a name returns what
/// is newer, in about the order it was written.
struct LogEntryName: Hashable, Comparable, Sendable {
    var time: UInt64
    var writer: String
    var sequence: UInt64
    /// `log/<time>-<writer>-<sequence>`, made once: a pull looks at every listed name several times.
    let objectName: ObjectName

    static let prefix = "log/"

    init(time: UInt64, writer: String, sequence: UInt64) {
        self.time = time
        self.writer = writer
        self.sequence = sequence
        objectName = try! ObjectName(Self.prefix + [hex16(time), writer, hex16(sequence)].joined(separator: "-"))
    }

    init?(_ name: ObjectName) {
        guard name.path.hasPrefix(Self.prefix) else { return nil }
        let fields = name.path.dropFirst(Self.prefix.count).split(separator: "-")
        guard fields.count == 3, fields.allSatisfy({ $0.count == 16 }),
              let time = UInt64(fields[0], radix: 16), let sequence = UInt64(fields[2], radix: 16) else { return nil }
        self.time = time
        writer = String(fields[1])
        self.sequence = sequence
        objectName = name
    }

    /// The name a listing starts after to see every entry written at `time` or later.
    static func listingStart(time: UInt64) -> String { prefix + hex16(time) }

    static func < (a: LogEntryName, b: LogEntryName) -> Bool {
        (a.time, a.writer, a.sequence) < (b.time, b.writer, b.sequence)
    }
}

/// A checkpoint: the whole library state a writer knew, sealed in parts of at most `itemsPerPart` items, named
/// `checkpoints/<time>-<writer>.<part>-<parts>`. A rebuild reads the newest checkpoint that opens whole, then the
/// log entries after its heads.
struct CheckpointPart: Codable, Sendable {
    var format = 2
    var time: Date
    /// The last entry of each writer whose change is in the checkpoint (part 0 only).
    var heads: [String: LogHead]?
    /// Format-1 journal entries whose changes are in the checkpoint (part 0 only).
    var journalEntries: [String]?
    /// Every album (part 0 only).
    var albums: [AlbumRecord]?
    /// Items that lost their bytes to another item, and the winner (part 0 only).
    var aliases: [String: String]?
    /// Every deleted album (part 0 only), so that an older edit of one read after the checkpoint stays without effect.
    var deletedAlbums: [DeletedAlbum]?
    var items: [CheckpointItem]

    static let itemsPerPart = 2000
    static let maxByteCount = 64 << 20
}

struct CheckpointItem: Codable, Sendable {
    var state: ItemState
    var deletedAt: Date?
    var memberships: [TimedMembership]
    /// When the item was last taken out of each album it was taken out of (see `LibraryIndex.apply`).
    var removals: [TimedRemoval]?
}

struct TimedRemoval: Codable, Sendable {
    var albumId: String
    var removedAt: Date
}

struct DeletedAlbum: Codable, Sendable {
    var id: String
    var name: String?
    var deletedAt: Date
}

struct TimedMembership: Codable, Sendable {
    var membership: Membership
    var addedAt: Date
}

struct CheckpointName: Hashable, Sendable {
    var time: UInt64
    var writer: String
    var part: Int
    var parts: Int

    static let prefix = "checkpoints/"

    init(time: UInt64, writer: String, part: Int, parts: Int) {
        self.time = time
        self.writer = writer
        self.part = part
        self.parts = parts
    }

    init?(_ name: ObjectName) {
        guard name.path.hasPrefix(Self.prefix) else { return nil }
        let halves = name.path.dropFirst(Self.prefix.count).split(separator: ".")
        guard halves.count == 2 else { return nil }
        let base = halves[0].split(separator: "-"), count = halves[1].split(separator: "-")
        guard base.count == 2, count.count == 2, base.allSatisfy({ $0.count == 16 }), count.allSatisfy({ $0.count == 4 }),
              let time = UInt64(base[0], radix: 16), let part = Int(count[0], radix: 16), let parts = Int(count[1], radix: 16),
              part < parts else { return nil }
        self.init(time: time, writer: String(base[1]), part: part, parts: parts)
    }

    /// The checkpoint this part belongs to.
    var base: String { hex16(time) + "-" + writer }

    var objectName: ObjectName {
        try! ObjectName(Self.prefix + base + "." + hex4(part) + "-" + hex4(parts))
    }
}

/// An item's own record, `items/<item id>`: its `ItemState`, written before the log entry that commits it.
enum ItemRecordName {
    static let prefix = "items/"
    static func objectName(itemId: String) -> ObjectName { try! ObjectName(prefix + itemId) }
    static func itemId(_ name: ObjectName) -> String? {
        name.path.hasPrefix(prefix) ? String(name.path.dropFirst(prefix.count)) : nil
    }
}

private func hex16(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}

private func hex4(_ value: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

extension Date {
    /// Microseconds since 1970, as log and checkpoint names carry time.
    var microseconds: UInt64 { UInt64(max(0, timeIntervalSince1970 * 1_000_000)) }
}
