import Foundation
import Store

/// `links/<token>`: what the server knows of a link (docs/public-links.md). Plain JSON; the owner's part is sealed.
public struct LinkRecord: Codable, Sendable, Equatable {
    public static let currentVersion = 1
    /// The largest record a server reads (a 10,000-item download link lists about 30,000 objects).
    public static let byteCap = 16 << 20

    public var version: Int
    public var token: String
    public var created: Date
    public var expires: Date?
    public var password: LinkPassword?
    /// Every object the link may read; empty in a tombstone.
    public var objects: [String]
    /// `LinkOwnerPart`, sealed for the owner's library, base64url.
    public var owner: String?
    /// When the link was revoked or found expired: the record is then a tombstone.
    public var revoked: Date?

    public static func name(token: String) -> String { LinkShelfNames.record(token) }

    public var isTombstone: Bool { revoked != nil }

    /// The record as a tombstone: no password, no objects (the owner's sealed part stays, for `share link ls`).
    public func tombstone(at date: Date) -> LinkRecord {
        var copy = self
        copy.password = nil
        copy.objects = []
        copy.revoked = date
        return copy
    }

    public func encoded() throws -> [UInt8] { Array(try LinkJSON.encoder.encode(self)) }

    public static func decode(_ bytes: [UInt8]) throws -> LinkRecord {
        let record = try LinkJSON.decoder.decode(LinkRecord.self, from: Data(bytes))
        guard record.version == currentVersion else { throw LinkError.unknownVersion(record.version) }
        return record
    }
}

/// A link's password as the server keeps it: how the page derives the password key, and the check key's SHA-256.
public struct LinkPassword: Codable, Sendable, Equatable {
    public var kdf = "PBKDF2-SHA256"
    public var iterations: Int
    /// base64url, 16 bytes.
    public var salt: String
    /// hex SHA-256 of the check key: never sent to a browser.
    public var verifier: String
}

/// What only the owner's library reads of a link (sealed by `Library.sealLinkOwnerPart`).
public struct LinkOwnerPart: Codable, Sendable, Equatable {
    public var album: String
    public var title: String
    public var allowDownload: Bool
    public var showLocation: Bool
    /// base64url of the link key: so `share link ls` can print the link again.
    public var linkKey: String
    public var hasPassword: Bool
    /// base64url of the manifest's content key and of the password's PBKDF2 key: so `share link update` can seal new
    /// items for the link without asking for its password again.
    public var contentKey: String?
    public var passwordKey: String?
}

/// The object names under `links/` (ObjectName allows lowercase letters, digits, `-_./`: tokens are hex).
public enum LinkShelfNames {
    /// Not `links/<token>` itself: a local folder store cannot hold a file and a folder of one name.
    public static func record(_ token: String) -> String { "links/\(token)/record" }

    /// The token of a record's name, nil for any other name.
    public static func token(ofRecord name: String) -> String? {
        let parts = name.split(separator: "/")
        guard parts.count == 3, parts[0] == "links", parts[2] == "record", isToken(parts[1]) else { return nil }
        return String(parts[1])
    }
    public static func manifest(_ token: String) -> String { "links/\(token)/manifest" }
    public static func objectPrefix(_ token: String) -> String { "links/\(token)/o/" }
    public static func opensPrefix(_ token: String) -> String { "links/\(token)/opens/" }

    /// 16 random bytes, lowercase hex.
    public static func isToken(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

enum LinkJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

public enum LinkError: Error, CustomStringConvertible {
    case unknownVersion(Int)
    case noSuchAlbum(String)
    case emptyAlbum(String)
    case noSuchLink(String)
    case badExpiry(String)
    case notYours(String)
    case ended(String)

    public var description: String {
        switch self {
        case .unknownVersion(let version): "a link record of version \(version), which this keepsake does not know"
        case .noSuchAlbum(let name): "there is no album named \"\(name)\" (keepsake album ls lists them)"
        case .emptyAlbum(let name): "the album \"\(name)\" holds nothing to share"
        case .noSuchLink(let id): "there is no link \(id) (keepsake share link ls lists them)"
        case .badExpiry(let text): "cannot read the expiry \"\(text)\": give a duration (30m, 12h, 7d, 2w) or a date (2027-01-31 or 2027-01-31T18:00:00Z)"
        case .notYours(let id): "the link \(id) was not made by this library"
        case .ended(let id): "the link \(id) was revoked or has expired: make a new one (keepsake share link create)"
        }
    }
}

extension LinkError: KeepsakeError {
    public var exitStatus: Int32 {
        if case .unknownVersion = self { return 3 }
        return 2
    }
    public var isRunFatal: Bool { true }
}

extension LinkPublishError: KeepsakeError {
    public var exitStatus: Int32 { 3 }
    public var isRunFatal: Bool { true }
}

extension LinkHostError: KeepsakeError {
    public var exitStatus: Int32 { 3 }
    public var isRunFatal: Bool { false }
}

extension LinkShelfError: KeepsakeError {
    public var exitStatus: Int32 { 3 }
    public var isRunFatal: Bool { false }
}
