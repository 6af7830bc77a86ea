import Foundation
import KeepsakeCrypto

/// Sharing an album with people (docs/sharing.md), on the owner's side: who it is shared with, the feed its members
/// read, and the items collaborators add. Everything is under `shares/` in the owner's store.
extension Library {
    /// One shared album as `share ls` shows it.
    public struct ShareListing: Sendable {
        public var album: String
        public var albumId: String
        public var generation: Int
        public var members: [(publicKey: [UInt8], role: ShareRole, added: Date)]
    }

    /// Shares the album `name` with the library whose identity public key is `publicKey` (or changes their role), and
    /// publishes what they see.
    public func share(album name: String, with publicKey: [UInt8], role: ShareRole) throws {
        let identity = try identity()
        guard publicKey.count == IdentityKeyPair.publicKeyByteCount else { throw ShareError.badPublicKey }
        guard publicKey != identity.publicKey else { throw ShareError.withItself }
        let album = try existingAlbums(name)[0]
        var state = try shareState(album.id) ?? ShareState(albumId: album.id, generation: 1, keys: [Self.newShareKey()], members: [])
        let member = Data(publicKey)
        if let index = state.members.firstIndex(where: { $0.publicKey == member }) {
            state.members[index].role = role
        } else {
            state.members.append(ShareMember(publicKey: member, role: role, added: Date()))
        }
        state.publishedFeed = nil
        try putShareState(state)
        try publish(&state, identity: identity)
    }

    /// Stops sharing the album `name` with `publicKey`: a new share key for everything published from now on (they keep
    /// what they could already decrypt). False when the album was not shared with them.
    @discardableResult
    public func unshare(album name: String, with publicKey: [UInt8]) throws -> Bool {
        let identity = try identity()
        let albums = try existingAlbums(name)
        let member = Data(publicKey)
        for album in albums {
            guard var state = try shareState(album.id), state.members.contains(where: { $0.publicKey == member }) else { continue }
            state.members.removeAll { $0.publicKey == member }
            state.keys.append(Self.newShareKey())
            state.generation = state.keys.count
            state.publishedFeed = nil
            // The new key is stored before anything is sealed with it, so a crash in between loses nothing: the next
            // publish finishes (and removes the grant of the one removed).
            try putShareState(state)
            try publish(&state, identity: identity)
            return true
        }
        return false
    }

    /// Every album this library shares with someone.
    public func shareListings() throws -> [ShareListing] {
        try sharedAlbumIds().compactMap { albumId in
            guard let state = try shareState(albumId) else { return nil }
            let name = try index.album(id: albumId)?.name ?? "(deleted album)"
            return ShareListing(album: name, albumId: albumId, generation: state.generation,
                                members: state.members.map { (Array($0.publicKey), $0.role, $0.added) })
        }.sorted { $0.album < $1.album }
    }

    /// Brings every shared album's feed and grants up to date with the index (after an ingest, an album edit, a
    /// sync); returns how many albums changed. Writes nothing when nothing changed.
    @discardableResult
    public func publishShares() throws -> Int {
        let albumIds = try sharedAlbumIds()
        guard !albumIds.isEmpty else { return 0 }
        let identity = try identity()
        var changed = 0
        for albumId in albumIds {
            guard var state = try shareState(albumId) else { continue }
            if try publish(&state, identity: identity) { changed += 1 }
        }
        return changed
    }

    // MARK: Publishing

    /// Writes the feed of the album's current generation and every member's grant when the album changed since the
    /// last publish; removes grants of people no longer members and feeds of other generations. Returns whether it
    /// wrote anything.
    @discardableResult
    func publish(_ state: inout ShareState, identity: IdentityKeyPair) throws -> Bool {
        let album = try index.album(id: state.albumId)
        let feed = ShareFeed(albumId: state.albumId, album: album?.name ?? "", generation: state.generation,
                             items: try album.map { try sharedItems(inAlbum: $0.name, contributions: state.contributions ?? [:]) } ?? [])
        let plaintext = Array(try ShareNames.encoder.encode(feed))
        let digest = Blake2b.hash(plaintext).hexString
        let feedName = try ObjectName(ShareNames.feed(state.albumId, generation: state.generation))
        let grantNames = Set(state.members.map { ShareNames.grant(state.albumId, member: $0.publicKey) })
        let present = Set(try store.list(prefix: ShareNames.prefix + state.albumId + "/").map(\.path))
        if state.publishedFeed == digest, present.contains(feedName.path), grantNames.isSubset(of: present),
           present.filter({ $0.hasPrefix(ShareNames.grants(state.albumId)) || $0.hasPrefix(ShareNames.feeds(state.albumId)) })
               .count == grantNames.count + 1 {
            return false
        }
        let sealed = SealedBox.seal(plaintext, associatedData: Self.feedAssociatedData(state.albumId, state.generation), key: try state.currentKey)
        try store.put(feedName, bytes: sealed)
        let key = Array(state.keys[state.generation - 1])
        for member in state.members {
            let grant = ShareGrant(albumId: state.albumId, album: feed.album, member: member.publicKey, role: member.role,
                                   generation: state.generation, shareKey: Data(key), feed: feedName.path, feedSize: Int64(sealed.count),
                                   feedBlake2b: Blake2b.hash(sealed).hexString, granted: Date())
            let boxed = try identity.box(Array(try ShareNames.encoder.encode(grant)), to: Array(member.publicKey))
            try store.put(ObjectName(ShareNames.grant(state.albumId, member: member.publicKey)), bytes: boxed)
        }
        for name in present.sorted() where !grantNames.contains(name) && name != feedName.path
            && (name.hasPrefix(ShareNames.grants(state.albumId)) || name.hasPrefix(ShareNames.feeds(state.albumId))) {
            try store.delete(ObjectName(name))
        }
        state.publishedFeed = digest
        try putShareState(state)
        return true
    }

    /// The live items of the album as members see them: records without the dedup hash or where the files were.
    private func sharedItems(inAlbum name: String, contributions: [String: String]) throws -> [SharedItem] {
        try index.items(inAlbum: name).sorted { $0.id < $1.id }.compactMap { record in
            guard let state = try index.itemState(record.id) else { return nil }
            var item = state.item
            item.dedupHash = ""
            item.deletedAt = nil
            let originals = state.originals.map { original in
                var original = original
                original.id = nil
                original.sourcePath = original.name
                return original
            }
            let key = try fileKey(of: record.id).withUnsafeBytes { Data($0) }
            let contributed = contributions[record.id].map { $0.split(separator: ":", maxSplits: 1).map(String.init) }
            return SharedItem(item: item, originals: originals, objects: state.objects, fileKey: key,
                              contributor: contributed?.first, contributedItem: contributed?.last)
        }
    }

    static func feedAssociatedData(_ albumId: String, _ generation: Int) -> [UInt8] {
        Array("keepsake share feed 1 \(albumId) \(generation)".utf8)
    }

    static func newShareKey() -> Data { SecretKey().withUnsafeBytes { Data($0) } }

    // MARK: State

    /// The ids of the albums with a share state in the store.
    func sharedAlbumIds() throws -> [String] {
        try store.list(prefix: ShareNames.prefix).compactMap { name in
            let parts = name.path.split(separator: "/")
            guard parts.count == 3, parts[2] == "state", ShareNames.isHex(parts[1]) else { return nil }
            return String(parts[1])
        }
    }

    func shareState(_ albumId: String) throws -> ShareState? {
        let name = try ObjectName(ShareNames.state(albumId))
        let bytes: [UInt8]
        do { bytes = try store.get(name, limit: ShareNames.noteCap) } catch StoreError.notFound { return nil }
        do { return try keyring.open(ShareState.self, from: bytes, kind: .share, name: name) }
        catch { throw ShareError.stateUnreadable(albumId: albumId, "\(error)") }
    }

    func putShareState(_ state: ShareState) throws {
        let name = try ObjectName(ShareNames.state(state.albumId))
        try store.put(name, bytes: try keyring.seal(state, kind: .share, name: name))
    }
}

/// Why sharing with people failed.
public enum ShareError: Error, Sendable, CustomStringConvertible {
    case badPublicKey
    case withItself
    case stateUnreadable(albumId: String, String)
    case notShared(String)
    case nothingSharedWithYou(store: String, phrase: String)
    case ownerChanged(store: String)
    case unreadable(String, String)
    case viewerOnly(String)
    case noSuchSharedAlbum(String)

    public var description: String {
        switch self {
        case .badPublicKey: "that is not a library's public key (`keepsake identity` prints one: 43 characters of base64url)"
        case .withItself: "that is this library's own public key"
        case .stateUnreadable(let id, let why): "the sharing state of album \(id) does not open (\(why)); `keepsake verify` tells more"
        case .notShared(let album): "'\(album)' is not shared with that library"
        case .nothingSharedWithYou(let store, let phrase):
            "\(store) shares no album with this library (verification phrase \(phrase)): ask its owner to run `keepsake share add ALBUM --with` this library's public key"
        case .ownerChanged(let store): "\(store) now has another owner identity than when it was added: not trusted (remove it with `keepsake shared rm` and add it again after checking its verification phrase)"
        case .unreadable(let name, let why): "\(name): \(why)"
        case .viewerOnly(let album): "'\(album)' is shared with this library as a viewer: only its collaborators add to it"
        case .noSuchSharedAlbum(let album): "no album named '\(album)' is shared with this library (`keepsake shared ls`)"
        }
    }
}

extension ShareError: KeepsakeError {
    public var exitStatus: Int32 {
        switch self {
        case .stateUnreadable, .ownerChanged, .unreadable: 3
        default: 2
        }
    }

    public var isRunFatal: Bool { false }
}
