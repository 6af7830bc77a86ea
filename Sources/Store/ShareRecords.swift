import Foundation
import KeepsakeCrypto

/// What a person an album is shared with may do (docs/sharing.md).
public enum ShareRole: String, Codable, Sendable, CaseIterable {
    /// Sees, lists, exports and views the album.
    case viewer
    /// And adds items of their own library to it.
    case collaborator
}

/// One person an album is shared with: their library's identity public key.
struct ShareMember: Codable, Sendable, Equatable {
    var publicKey: Data
    var role: ShareRole
    var added: Date
}

/// `shares/<album id>/state`, sealed for the owner's library alone (keyring purpose 8): who the album is shared with,
/// and every share key it has had (generation n is `keys[n - 1]`); a removal adds one.
struct ShareState: Codable, Sendable {
    var version = 1
    var albumId: String
    var generation: Int
    var keys: [Data]
    var members: [ShareMember]
    /// BLAKE2b of the plaintext of the feed last published, to publish only what changed.
    var publishedFeed: String?
    /// Items collaborators added: the owner's item id → `<member tag>:<their item id>`.
    var contributions: [String: String]?

    var currentKey: SecretKey {
        get throws { try SecretKey(bytes: Array(keys[generation - 1])) }
    }
}

/// `shares/<album id>/grants/<member tag>`: boxed from the owner's identity to one member's (`crypto_box`), so only
/// that member opens it and knows the owner wrote it. It names the feed's object and digest as stored, so a feed
/// that anyone else wrote (a collaborator has the share key too) is refused.
struct ShareGrant: Codable, Sendable {
    var version = 1
    var albumId: String
    var album: String
    var member: Data
    var role: ShareRole
    var generation: Int
    var shareKey: Data
    var feed: String
    var feedSize: Int64
    var feedBlake2b: String
    var granted: Date
}

/// `shares/<album id>/feed/<generation>`: the album as its members see it, sealed (XChaCha20-Poly1305) under the share
/// key of that generation. Each item carries its file key, so a member decrypts the item's objects in the owner's
/// store; a member removed never gets a later generation's key, hence no item added afterwards.
struct ShareFeed: Codable, Sendable {
    var version = 1
    var albumId: String
    var album: String
    var generation: Int
    var items: [SharedItem]
}

/// One item of a shared album: its record as the owner's index has it (the dedup hash and source paths left out), the
/// digests of its objects as stored, and its file key.
public struct SharedItem: Codable, Sendable {
    public var item: ItemRecord
    public var originals: [OriginalRecord]
    var objects: [ObjectDigest]
    var fileKey: Data
    /// The member tag of the collaborator who added it, when one did, and the item's id in their library.
    public var contributor: String?
    public var contributedItem: String?
}

/// `shares/<album id>/inbox/<member tag>/<id>/note`: a collaborator's item, boxed to the owner; its objects, as the
/// collaborator's library stored them, are beside it (`…/<id>/<n>`).
struct Contribution: Codable, Sendable {
    var version = 1
    var albumId: String
    var contributor: Data
    var id: String
    /// The item's id in the collaborator's library (so they see it was taken).
    var sourceItem: String
    /// The plaintext content hash (BLAKE2b-512 hex), for the owner's dedup.
    var contentHash: String
    var item: ItemRecord
    var originals: [OriginalRecord]
    /// Each object under its name beside the note (`objects[n].name` is `…/<id>/<n>`), with its digest as stored.
    var objects: [ObjectDigest]
    var fileKey: Data
}

/// The names under `shares/` (docs/sharing.md).
enum ShareNames {
    static let prefix = "shares/"

    static func state(_ albumId: String) -> String { prefix + albumId + "/state" }
    static func grants(_ albumId: String) -> String { prefix + albumId + "/grants/" }
    static func grant(_ albumId: String, member: Data) -> String { grants(albumId) + tag(member) }
    static func feeds(_ albumId: String) -> String { prefix + albumId + "/feed/" }
    static func feed(_ albumId: String, generation: Int) -> String { feeds(albumId) + String(format: "%08x", generation) }
    static func inbox(_ albumId: String) -> String { prefix + albumId + "/inbox/" }
    static func inbox(_ albumId: String, member: Data) -> String { inbox(albumId) + tag(member) + "/" }

    /// A member's name in the store: BLAKE2b-128 of their public key (one tag per person in every album).
    static func tag(_ publicKey: Data) -> String {
        let hasher = Blake2b()
        hasher.update(Array("keepsake share member 1".utf8))
        hasher.update(Array(publicKey))
        return Array(hasher.finalize().prefix(16)).hexString
    }

    /// The album id and member tag of a grant's name; nil for any other name.
    static func grantParts(_ name: String) -> (albumId: String, tag: String)? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "shares", parts[2] == "grants", isHex(parts[1]), isHex(parts[3]) else { return nil }
        return (String(parts[1]), String(parts[3]))
    }

    static func isHex(_ text: Substring) -> Bool { text.count == 32 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase } }

    /// JSON for the objects under `shares/`.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Caps: a grant or note is small; a feed of 100,000 items is about 100 MB.
    static let grantCap = 64 << 10
    static let noteCap = 1 << 20
    static let feedCap = 256 << 20
}
