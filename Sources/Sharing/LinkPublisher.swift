import Crypto
import Foundation
import KeepsakeCrypto
import MediaTypes
import Store

/// Makes, lists and revokes an album's public links (`keepsake share link`), on the owner's machine: it decrypts the
/// album's thumbnails, large pictures and playlists and seals them again for the link alone, so that the link never
/// carries a file key unless downloads are allowed (docs/public-links.md).
public struct LinkPublisher {
    public struct Options: Sendable {
        public var title: String?
        public var password: String?
        public var expires: Date?
        public var allowDownload = false
        public var showLocation = true

        public init(title: String? = nil, password: String? = nil, expires: Date? = nil, allowDownload: Bool = false,
                    showLocation: Bool = true) {
            (self.title, self.password, self.expires, self.allowDownload, self.showLocation) =
                (title, password, expires, allowDownload, showLocation)
        }
    }

    /// A large (≤ 2048 px) JPEG of a photo the library holds no rendition of, made from its decrypted original; nil
    /// when none can be made. Given by the caller, who has the media workers.
    public typealias LargePictureMaker = (_ item: ItemRecord, _ original: OriginalRecord) throws -> [UInt8]?

    /// A link as `share link ls` shows it.
    public struct Listed: Sendable {
        public var token: String
        public var record: LinkRecord
        public var owner: LinkOwnerPart
        public var opens: Int
        public func url(base: String) -> String { LinkPublisher.url(base: base, token: token, linkKey: owner.linkKey) }
        public var state: String {
            if let revoked = record.revoked { return record.expires.map { $0 <= revoked } == true ? "expired" : "revoked" }
            if let expires = record.expires, expires <= Date() { return "expired" }
            return "live"
        }
    }

    /// What `create` made: the link, and the items shown with less than they have (no large picture, say), and why.
    public struct Created: Sendable {
        public var token: String
        public var url: String
        public var items: Int
        public var shortfalls: [(itemId: String, reason: String)]
    }

    /// The largest thumbnail, rendition or playlist a link re-seals (a rendition is at most 8 MiB).
    static let smallObjectCap: UInt64 = 16 << 20

    let library: Library
    public init(library: Library) { self.library = library }

    public static func url(base: String, token: String, linkKey: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/l/" + token + "#" + linkKey
    }

    // MARK: Create

    public func create(album: String, options: Options, baseURL: String, largePicture: LargePictureMaker) throws -> Created {
        guard try library.albumSummaries().contains(where: { $0.name == album }) else { throw LinkError.noSuchAlbum(album) }
        let token = randomBytes(16).hexString
        var password: LinkPassword?
        var passwordKey: [UInt8]?
        if let text = options.password {
            let salt = randomBytes(16)
            let key = try LinkCipher.passwordKey(password: text, salt: salt, iterations: LinkCipher.passwordIterations)
            passwordKey = key
            password = LinkPassword(iterations: LinkCipher.passwordIterations, salt: Base64URL.encode(salt),
                                    verifier: LinkCipher.verifier(checkKey: LinkCipher.checkKey(passwordKey: key, token: token)))
        }
        let owner = LinkOwnerPart(album: album, title: options.title ?? album, allowDownload: options.allowDownload,
                                  showLocation: options.showLocation, linkKey: Base64URL.encode(randomBytes(32)),
                                  hasPassword: password != nil, contentKey: Base64URL.encode(randomBytes(32)),
                                  passwordKey: passwordKey.map(Base64URL.encode))
        let (items, shortfalls) = try publish(token: token, owner: owner, password: password, created: Date(), expires: options.expires,
                                              largePicture: largePicture, previous: [])
        return Created(token: token, url: Self.url(base: baseURL, token: token, linkKey: owner.linkKey), items: items, shortfalls: shortfalls)
    }

    /// Brings the live link `token` up to date with its album: items added since are shown, items gone are no longer.
    /// The link, its key and its password stay; its pictures are sealed again under new names, and the old ones go.
    public func update(token: String, baseURL: String, largePicture: LargePictureMaker) throws -> Created {
        guard LinkShelfNames.isToken(token),
              let bytes = try library.linkShelf.read(LinkShelfNames.record(token), upTo: LinkRecord.byteCap) else { throw LinkError.noSuchLink(token) }
        let record = try LinkRecord.decode(bytes)
        let owner = try ownerPart(of: record)
        guard !record.isTombstone, record.expires.map({ $0 > Date() }) ?? true else { throw LinkError.ended(token) }
        let (items, shortfalls) = try publish(token: token, owner: owner, password: record.password, created: record.created,
                                              expires: record.expires, largePicture: largePicture, previous: record.objects)
        return Created(token: token, url: Self.url(base: baseURL, token: token, linkKey: owner.linkKey), items: items, shortfalls: shortfalls)
    }

    /// Seals the album's items for the link, then its manifest, then (the commit point) its record; then deletes the
    /// link's pictures the record no longer lists (`previous` ones, and any a crash left behind).
    private func publish(token: String, owner: LinkOwnerPart, password: LinkPassword?, created: Date, expires: Date?,
                         largePicture: LargePictureMaker, previous: [String]) throws -> (items: Int, shortfalls: [(itemId: String, reason: String)]) {
        guard let linkKey = Base64URL.decode(owner.linkKey), let contentKeyBytes = owner.contentKey.flatMap(Base64URL.decode) else {
            throw LinkError.notYours(token)
        }
        let records = try library.liveItems(inAlbum: owner.album)
        guard !records.isEmpty else { throw LinkError.emptyAlbum(owner.album) }
        let contentKey = SymmetricKey(data: contentKeyBytes)
        let passwordKey = owner.passwordKey.flatMap(Base64URL.decode)
        let shelf = library.linkShelf
        var written: [String] = []
        var shortfalls: [(itemId: String, reason: String)] = []
        var manifestWritten = false
        let options = Options(title: owner.title, allowDownload: owner.allowDownload, showLocation: owner.showLocation)
        do {
            var objects: [String] = []
            /// Seals `plaintext` for the link under a new name and stores it.
            func put(_ plaintext: [UInt8]) throws -> String {
                let name = LinkShelfNames.objectPrefix(token) + randomBytes(16).hexString
                let sealed = try LinkCipher.seal(plaintext, key: contentKey,
                                                 associatedData: LinkCipher.objectAssociatedData(token: token, name: name))
                try shelf.put(name, sealed)
                written.append(name)
                objects.append(name)
                return name
            }
            var items: [LinkManifest.Item] = []
            for record in Self.newestFirst(records) {
                let (item, problems) = try manifestItem(record, options: options, put: put, largePicture: largePicture)
                shortfalls += problems.map { (record.id, $0) }
                objects += [item.stream?.segments].compactMap { $0 } + item.originals.map(\.object)
                items.append(item)
            }
            let manifest = LinkManifest(token: token, title: owner.title, created: created, allowDownload: owner.allowDownload,
                                        showLocation: owner.showLocation, contentKey: Base64URL.encode(contentKeyBytes), items: items)
            let manifestName = LinkShelfNames.manifest(token)
            let sealedManifest = try LinkCipher.seal(try manifest.encoded(),
                                                     key: LinkCipher.manifestKey(linkKey: linkKey, passwordKey: passwordKey, token: token),
                                                     associatedData: LinkCipher.manifestAssociatedData(token: token))
            let sealedOwner = Base64URL.encode(try library.sealLinkOwnerPart(owner, token: token))
            func putRecord(_ listed: [String]) throws {
                let record = LinkRecord(version: LinkRecord.currentVersion, token: token, created: created, expires: expires,
                                        password: password, objects: listed, owner: sealedOwner, revoked: nil)
                try shelf.put(LinkShelfNames.record(token), try record.encoded())
            }
            // An update lists the old and the new objects while the manifest changes, so that a server answers for
            // whichever manifest it reads; a new link's record comes last, so no server answers for it before then.
            if !previous.isEmpty { try putRecord(Array(Set(previous + objects + [manifestName])).sorted()) }
            try shelf.put(manifestName, sealedManifest)
            manifestWritten = true
            try putRecord([manifestName] + objects)
        } catch {
            // Until the manifest changed, nothing names the new objects; after, a later update tidies up.
            if !manifestWritten { for name in written { try? shelf.delete(name) } }
            throw error
        }
        let kept = Set(written)
        for name in try shelf.names(under: LinkShelfNames.objectPrefix(token)) where !kept.contains(name) { try shelf.delete(name) }
        return (records.count, shortfalls)
    }

    private func manifestItem(_ record: ItemRecord, options: Options, put: (([UInt8]) throws -> String),
                              largePicture: LargePictureMaker) throws -> (LinkManifest.Item, [String]) {
        let metadata = record.metadata
        let originals = try library.originals(of: record.id)
        let picture = originals.first { $0.role == "main" || $0.role == "still" }
        var problems: [String] = []
        var item = LinkManifest.Item(id: record.id, type: record.type == .image ? "photo" : record.type.rawValue,
                                     name: (picture ?? originals.first)?.name.lastComponent.lossyText ?? record.id,
                                     takenAt: metadata?.captureTime.map(Self.iso8601), width: metadata?.width, height: metadata?.height,
                                     place: nil, thumbnail: nil, large: nil, stream: nil, originals: [])
        if options.showLocation, let location = metadata?.location {
            item.place = .init(latitude: location.latitude, longitude: location.longitude)
        }
        if let thumbnail = record.thumbnailObject { item.thumbnail = try put(try decrypt(thumbnail, of: record)) }
        if let rendition = record.renditionObject {
            item.large = try put(try decrypt(rendition, of: record))
        } else if let picture, record.type != .video {
            do {
                if let made = try largePicture(record, picture) { item.large = try put(made) } else { problems.append("no large picture could be made") }
            } catch where !error.isRunFatal {
                problems.append("no large picture: \(error)")
            }
        }
        if let playlist = record.playlistObject, let segments = record.streamObject {
            item.stream = .init(playlist: try put(try decrypt(playlist, of: record)), segments: segments)
        }
        if options.allowDownload {
            let fileKey = try library.fileKey(of: record.id)
            item.originals = try originals.map { original in
                let stored = try storedDigest(of: original.objectName)
                return LinkManifest.Original(role: original.role, object: original.objectName,
                                             fileKey: Base64URL.encode(fileKey.withUnsafeBytes { Array($0) }),
                                             name: original.name.lastComponent.lossyText, mimeType: original.mimeType, size: original.size,
                                             plainBlake2b: original.blake2b, storedSize: stored.size, storedBlake2b: stored.blake2b)
            }
        }
        return (item, problems)
    }

    /// The object `name` of `record`, decrypted whole (thumbnails, renditions, playlists: small).
    private func decrypt(_ name: String, of record: ItemRecord) throws -> [UInt8] {
        let plain: [UInt8]?
        do { plain = try library.decryptedSmallObject(name, of: record.id, upTo: Self.smallObjectCap) }
        catch is ObjectTooLarge { throw LinkPublishError.tooLarge(itemId: record.id, object: name) }
        guard let plain else { throw LinkPublishError.missingObject(itemId: record.id, object: name) }
        return plain
    }

    /// The size and BLAKE2b of an object as stored: as the index recorded them, else read from the store once.
    private func storedDigest(of name: String) throws -> (size: Int64, blake2b: String) {
        if let digest = try library.storedDigest(of: name) { return (digest.size, digest.blake2b) }
        let hasher = Blake2b()
        var size: Int64 = 0
        try library.readStored(name) { bytes in
            hasher.update(bytes)
            size += Int64(bytes.count)
        }
        return (size, hasher.finalize().hexString)
    }

    /// Newest first by capture time; items without one last.
    static func newestFirst(_ records: [ItemRecord]) -> [ItemRecord] {
        let keyed = records.map { ($0, $0.metadata?.captureTime.map(iso8601)) }
        return keyed.sorted { a, b in
            switch (a.1, b.1) {
            case let (x?, y?): x != y ? x > y : a.0.id < b.0.id
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): a.0.id < b.0.id
            }
        }.map(\.0)
    }

    /// `2021-03-14T12:34:56+01:00`, or without the offset when the camera did not record one.
    static func iso8601(_ time: CaptureTime) -> String {
        guard let offset = time.offsetSeconds else { return time.local }
        let sign = offset < 0 ? "-" : "+", magnitude = abs(offset)
        return time.local + String(format: "%@%02d:%02d", sign, magnitude / 3600, magnitude % 3600 / 60)
    }

    // MARK: List and revoke

    /// This library's links, newest first, with how often each was opened.
    public func list() throws -> [Listed] {
        let shelf = library.linkShelf
        var listed: [Listed] = []
        let names = try shelf.names(under: LinkShelf.prefix)
        for name in names {
            guard let token = LinkShelfNames.token(ofRecord: name), let bytes = try shelf.read(name, upTo: LinkRecord.byteCap),
                  let record = try? LinkRecord.decode(bytes), let owner = try? ownerPart(of: record) else { continue }
            let opensPrefix = LinkShelfNames.opensPrefix(token)
            let opens = try names.filter { $0.hasPrefix(opensPrefix) }.reduce(0) { total, name in
                guard let bytes = try shelf.read(name, upTo: 4096), let count = try? LinkJSON.decoder.decode(LinkOpens.self, from: Data(bytes)) else { return total }
                return total + count.count
            }
            listed.append(Listed(token: token, record: record, owner: owner, opens: opens))
        }
        return listed.sorted { $0.record.created > $1.record.created }
    }

    /// Revokes the link `token`: its record becomes a tombstone (servers answer 410 from then on, restarted or not),
    /// then its manifest and pictures are deleted. Revoking a revoked link again is not an error.
    public func revoke(token: String) throws {
        guard LinkShelfNames.isToken(token) else { throw LinkError.noSuchLink(token) }
        let shelf = library.linkShelf
        guard let bytes = try shelf.read(LinkShelfNames.record(token), upTo: LinkRecord.byteCap) else { throw LinkError.noSuchLink(token) }
        let record = try LinkRecord.decode(bytes)
        guard (try? ownerPart(of: record)) != nil else { throw LinkError.notYours(token) }
        if !record.isTombstone { try shelf.put(LinkShelfNames.record(token), try record.tombstone(at: Date()).encoded()) }
        try LinkShelfCleanup.removeContent(of: token, from: shelf)
    }

    private func ownerPart(of record: LinkRecord) throws -> LinkOwnerPart {
        guard let sealed = record.owner.flatMap(Base64URL.decode) else { throw LinkError.notYours(record.token) }
        return try library.openLinkOwnerPart(LinkOwnerPart.self, from: sealed, token: record.token)
    }
}

/// `links/<token>/opens/<server>`: how often one server process answered the link's manifest.
struct LinkOpens: Codable {
    var count: Int
    var updated: Date
}

/// Deletes what a link shows (its manifest, then its pictures), keeping its record and open counts.
enum LinkShelfCleanup {
    static func removeContent(of token: String, from shelf: LinkShelf) throws {
        try shelf.delete(LinkShelfNames.manifest(token))
        for name in try shelf.names(under: LinkShelfNames.objectPrefix(token)) { try shelf.delete(name) }
    }
}

public enum LinkPublishError: Error, CustomStringConvertible {
    case missingObject(itemId: String, object: String)
    case tooLarge(itemId: String, object: String)

    public var description: String {
        switch self {
        case .missingObject(let item, let object): "item \(item): its object \(object) is not in the store (keepsake verify tells more)"
        case .tooLarge(let item, let object): "item \(item): its object \(object) is larger than a thumbnail, rendition or playlist can be"
        }
    }
}
