import Foundation

/// What a link's holder decrypts first (docs/public-links.md): the album's items and the keys the link allows.
public struct LinkManifest: Codable, Sendable {
    public var version = 1
    public var token: String
    public var title: String
    public var created: Date
    public var allowDownload: Bool
    public var showLocation: Bool
    /// base64url, the AES-256-GCM key of the link's own objects.
    public var contentKey: String
    public var items: [Item]

    public struct Item: Codable, Sendable {
        public var id: String
        public var type: String
        public var name: String
        /// ISO 8601: the local time the camera recorded, with its offset when known.
        public var takenAt: String?
        public var width: Int?
        public var height: Int?
        public var place: Place?
        public var thumbnail: String?
        public var large: String?
        public var stream: Stream?
        public var originals: [Original]
    }

    public struct Place: Codable, Sendable {
        public var latitude: Double
        public var longitude: Double
    }

    public struct Stream: Codable, Sendable {
        public var playlist: String
        public var segments: String
    }

    public struct Original: Codable, Sendable {
        public var role: String
        public var object: String
        /// base64url of the item's file key (secretstream).
        public var fileKey: String
        public var name: String
        public var mimeType: String
        public var size: Int64
        public var plainBlake2b: String
        public var storedSize: Int64
        public var storedBlake2b: String
    }

    public func encoded() throws -> [UInt8] { Array(try LinkJSON.encoder.encode(self)) }

    public static func decode(_ bytes: [UInt8]) throws -> LinkManifest {
        try LinkJSON.decoder.decode(LinkManifest.self, from: Data(bytes))
    }
}
