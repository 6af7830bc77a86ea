import Foundation
import KeepsakeCrypto
import Synchronization

/// Where albums shared with this library live: another library's store, `s3://BUCKET/PREFIX` or a folder (a library
/// folder, or its `store/`), readable from this machine.
public struct SharedStoreAddress: Sendable, Equatable {
    public var url: String
    public var endpoint: String?

    public init(_ text: String, endpoint: String? = nil) {
        self.endpoint = endpoint
        if text.hasPrefix("s3://") {
            url = text
            return
        }
        let path = text.hasPrefix("file://") ? String(text.dropFirst("file://".count)) : text
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        // A library folder names its store inside it.
        url = FileManager.default.fileExists(atPath: absolute + "/store/keys/master") ? absolute + "/store" : absolute
    }

    /// The store, opened without keys; nothing is created.
    func open() throws -> any ObjectStore {
        if url.hasPrefix("s3://") { return S3Store(configuration: try S3Configuration(url: url, endpoint: endpoint)) }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url, isDirectory: &isFolder), isFolder.boolValue else {
            throw ShareError.unreadable(url, "there is no such folder")
        }
        return try LocalFolderStore(root: url)
    }
}

/// An album someone shares with this library, as `shared ls` shows it.
public struct SharedAlbumSummary: Sendable, Encodable {
    public var name: String
    public var albumId: String
    public var store: String
    public var ownerPublicKey: [UInt8]
    public var ownerPhrase: String
    public var role: ShareRole
    public var items: Int
    /// The owner stopped sharing it: what was shared until then stays readable.
    public var removed: Bool
}

/// What refreshing shared albums and taking contributions did (`sync`).
public struct ShareSyncReport: Sendable {
    /// Albums shared with this library, after the refresh.
    public var sharedWithMe = 0
    /// Items collaborators added to this library's albums, taken now.
    public var taken = 0
    /// This library's shared albums whose feed was published anew.
    public var published = 0
    public var problems: [String] = []
    /// What waits for a later sync, not a problem.
    public var notices: [String] = []
}

/// The albums others share with this library, decoded from the index's cache of their feeds.
struct SharedView: Sendable {
    struct Album: Sendable {
        var row: SharedAlbumRow
        var owner: Data
        var items: [SharedItem]
    }

    var albums: [Album] = []
    /// Each source's store, by URL; a source that cannot be opened now has none (its reads fail).
    var stores: [String: any ObjectStore] = [:]
    var items: [String: (item: SharedItem, source: String)] = [:]
    var objects: [String: (digest: ObjectDigest, source: String)] = [:]

    func albumNames(of itemId: String) -> [String] {
        albums.filter { $0.items.contains { $0.item.id == itemId } }.map(\.row.name)
    }
}

/// Sharing with people, on the side of the library albums are shared with (docs/sharing.md): the stores it reads
/// shared albums from, the feeds it caches, and the items it adds as a collaborator. Reading an item of a shared
/// album goes through the same `Library` methods as an own item (`item(id:)`, `fileKey(of:)`, `readDecrypted`…).
extension Library {
    // MARK: Sources

    /// Starts reading the albums `address` shares with this library: pins the owner's identity public key (which the
    /// user compares with its owner by its verification phrase) and reads every album shared with this library.
    public func addSharedStore(_ address: SharedStoreAddress) throws -> (ownerPublicKey: [UInt8], albums: [SharedAlbumSummary]) {
        let foreign = try address.open()
        let owner = try ownerPublicKey(of: foreign, at: address.url)
        let identity = try identity()
        guard owner != identity.publicKey else { throw ShareError.withItself }
        if let known = try index.sharedSource(url: address.url), known.owner != Data(owner) { throw ShareError.ownerChanged(store: address.url) }
        let source = SharedSourceRow(url: address.url, endpoint: address.endpoint, owner: Data(owner), addedAt: Date())
        let (rows, problems) = try readGrants(source, store: foreign, identity: identity)
        guard !rows.isEmpty else {
            if let problem = problems.first { throw ShareError.unreadable(address.url, problem) }
            throw ShareError.nothingSharedWithYou(store: address.url, phrase: identity.verificationPhrase)
        }
        // In the store first, for this library's other folders (whose next sync adds it too), then in this index.
        let record = try Self.sharedStoreRecord(source.url)
        try store.put(record, bytes: try keyring.seal(source, kind: .share, name: record))
        try index.addSharedSource(source)
        try index.recordSharedAlbums(rows, source: source.url, markRemoved: true, at: Date())
        return (owner, try sharedAlbums().filter { $0.store == address.url })
    }

    /// Stops reading `url`'s shared albums and forgets them; false when it was not added.
    public func removeSharedStore(_ address: SharedStoreAddress) throws -> Bool {
        let record = try Self.sharedStoreRecord(address.url)
        let stored = try store.size(of: record) != nil
        if stored { try store.delete(record) }
        return try index.removeSharedSource(url: address.url) || stored
    }

    /// `shared-stores/<BLAKE2b-128 of the URL>`: a store this library reads shared albums from, sealed for the library
    /// (key 8), so that every folder of the library reads them.
    static func sharedStoreRecord(_ url: String) throws -> ObjectName {
        try ObjectName(sharedStoresPrefix + Array(Blake2b.hash(Array(url.utf8)).prefix(16)).hexString)
    }

    static let sharedStoresPrefix = "shared-stores/"

    /// The stores this library's other folders added (and this one has not), and those they removed.
    private func adoptSharedStores() throws {
        let records = try store.list(prefix: Self.sharedStoresPrefix)
        let known = Set(try index.sharedSources().map(\.url))
        for name in records {
            guard let bytes = try? store.get(name, limit: ShareNames.grantCap),
                  let source = try? keyring.open(SharedSourceRow.self, from: bytes, kind: .share, name: name),
                  try Self.sharedStoreRecord(source.url) == name, !known.contains(source.url) else { continue }
            try index.addSharedSource(source)
        }
        let recorded = Set(records)
        for url in known where !recorded.contains(try Self.sharedStoreRecord(url)) {
            _ = try index.removeSharedSource(url: url)
        }
    }

    /// Every album shared with this library, live and removed.
    public func sharedAlbums() throws -> [SharedAlbumSummary] {
        try sharedView().albums.map { album in
            SharedAlbumSummary(name: album.row.name, albumId: album.row.albumId, store: album.row.source, ownerPublicKey: Array(album.owner),
                               ownerPhrase: IdentityKeyPair.verificationPhrase(of: Array(album.owner)),
                               role: ShareRole(rawValue: album.row.role) ?? .viewer, items: album.items.count, removed: album.row.removedAt != nil)
        }
    }

    /// Brings shared albums up to date both ways: reads what others share with this library, takes what collaborators
    /// added to this library's shared albums, and publishes them. A store that cannot be read is a problem reported,
    /// not an error: the others go on.
    public func syncShares() throws -> ShareSyncReport {
        var report = ShareSyncReport()
        try adoptSharedStores()
        let sources = try index.sharedSources()
        if !sources.isEmpty {
            let identity = try identity()
            for source in sources {
                do {
                    let foreign = try SharedStoreAddress(source.url, endpoint: source.endpoint).open()
                    guard try ownerPublicKey(of: foreign, at: source.url) == Array(source.owner) else { throw ShareError.ownerChanged(store: source.url) }
                    let (rows, problems) = try readGrants(source, store: foreign, identity: identity)
                    report.problems += problems
                    try index.recordSharedAlbums(rows, source: source.url, markRemoved: problems.isEmpty, at: Date())
                } catch where !(error is LibraryError) {
                    report.problems.append("\(source.url): \(error)")
                }
            }
            report.sharedWithMe = try sharedView().albums.filter { $0.row.removedAt == nil }.count
        }
        let taken = try takeContributions()
        report.taken = taken.taken
        report.problems += taken.problems
        report.notices += [taken.notice].compactMap { $0 }
        report.published = try publishShares()
        return report
    }

    /// The owner's public key as its store publishes it (`keys/identity`, in the clear).
    private func ownerPublicKey(of store: any ObjectStore, at url: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try store.get(IdentityFile.objectName, limit: IdentityFile.maxByteCount) }
        catch StoreError.notFound { throw ShareError.unreadable(url, "it holds no library identity (keys/identity): not a keepsake store, or one from before sharing") }
        guard let file = try? JSONDecoder().decode(IdentityFile.self, from: Data(bytes)),
              file.publicKey.count == IdentityKeyPair.publicKeyByteCount else { throw ShareError.unreadable(url, "its keys/identity does not parse") }
        return file.publicKey
    }

    /// The albums `source` grants this library now, each with its feed checked; problems are grants or feeds that do
    /// not open or check (the store may lie), by name.
    private func readGrants(_ source: SharedSourceRow, store: any ObjectStore, identity: IdentityKeyPair) throws -> (rows: [SharedAlbumRow], problems: [String]) {
        let tag = ShareNames.tag(Data(identity.publicKey))
        var rows: [SharedAlbumRow] = []
        var problems: [String] = []
        for name in try store.list(prefix: ShareNames.prefix) {
            guard let parts = ShareNames.grantParts(name.path), parts.tag == tag else { continue }
            do {
                rows.append(try readGrant(name, albumId: parts.albumId, source: source, store: store, identity: identity))
            } catch let error as StoreError where error.isOutage {
                throw error
            } catch {
                problems.append("\(source.url) \(name.path): \(error)")
            }
        }
        return (rows, problems)
    }

    private func readGrant(_ name: ObjectName, albumId: String, source: SharedSourceRow, store: any ObjectStore,
                           identity: IdentityKeyPair) throws -> SharedAlbumRow {
        let boxed = try store.get(name, limit: ShareNames.grantCap)
        let grant: ShareGrant
        do { grant = try ShareNames.decoder.decode(ShareGrant.self, from: Data(try identity.openBox(boxed, from: Array(source.owner)))) }
        catch { throw ShareError.unreadable(name.path, "the grant does not open with this library's key from the store's owner (\(error))") }
        guard grant.albumId == albumId, grant.member == Data(identity.publicKey),
              grant.feed == ShareNames.feed(albumId, generation: grant.generation) else {
            throw ShareError.unreadable(name.path, "the grant is for another album or another library (moved)")
        }
        let feedBytes = try store.get(ObjectName(grant.feed), limit: ShareNames.feedCap)
        guard Int64(feedBytes.count) == grant.feedSize, Blake2b.hash(feedBytes).hexString == grant.feedBlake2b else {
            throw ShareError.unreadable(grant.feed, "it is not the feed its owner granted (changed, replaced or half written)")
        }
        let key = try SecretKey(bytes: Array(grant.shareKey))
        let feed = try Self.openFeed(feedBytes, albumId: albumId, generation: grant.generation, key: key)
        return SharedAlbumRow(albumId: albumId, source: source.url, name: feed.album, role: grant.role.rawValue, generation: grant.generation,
                              wrappedKey: keyring.wrapSharedKey(key), feed: Data(feedBytes), removedAt: nil, refreshedAt: Date())
    }

    static func openFeed(_ bytes: [UInt8], albumId: String, generation: Int, key: SecretKey) throws -> ShareFeed {
        let plain: [UInt8]
        do { plain = try SealedBox.open(bytes, associatedData: feedAssociatedData(albumId, generation), key: key) }
        catch { throw ShareError.unreadable("feed of album \(albumId)", "it does not open with the album's share key") }
        let feed = try ShareNames.decoder.decode(ShareFeed.self, from: Data(plain))
        guard feed.albumId == albumId, feed.generation == generation else {
            throw ShareError.unreadable("feed of album \(albumId)", "it is another album's or generation's")
        }
        return feed
    }

    // MARK: The view

    /// The shared albums as the index caches them, decoded once until the next refresh.
    func sharedView() throws -> SharedView {
        let stamp = try index.sharedStamp()
        if let cached = sharedCache.withLock({ $0 }), cached.stamp == stamp { return cached.view }
        var view = SharedView()
        let sources = Dictionary(try index.sharedSources().map { ($0.url, $0) }, uniquingKeysWith: { a, _ in a })
        for row in try index.sharedAlbumRows() {
            guard let source = sources[row.source],
                  let key = try? keyring.unwrapSharedKey(row.wrappedKey),
                  let feed = try? Self.openFeed(Array(row.feed), albumId: row.albumId, generation: row.generation, key: key) else { continue }
            if view.stores[row.source] == nil {
                view.stores[row.source] = try? SharedStoreAddress(source.url, endpoint: source.endpoint).open()
            }
            view.albums.append(SharedView.Album(row: row, owner: source.owner, items: feed.items))
            for item in feed.items where view.items[item.item.id] == nil {
                view.items[item.item.id] = (item, row.source)
                for digest in item.objects { view.objects[digest.name] = (digest, row.source) }
            }
        }
        sharedCache.withLock { $0 = (stamp, view) }
        return view
    }

    /// The item of a shared album with id `itemId`, unless this library has one of its own.
    func sharedItem(_ itemId: String) throws -> SharedItem? {
        guard let shared = try sharedView().items[itemId]?.item, try index.item(id: itemId) == nil else { return nil }
        return shared
    }

    /// The store and digest of an object of a shared album, unless it is one of this library's own.
    func sharedObject(_ name: String) throws -> (store: any ObjectStore, digest: ObjectDigest)? {
        let view = try sharedView()
        guard let found = view.objects[name], try index.digest(of: name) == nil else { return nil }
        guard let store = view.stores[found.source] else { throw ShareError.unreadable(found.source, "the store cannot be opened from here") }
        return (store, found.digest)
    }

    /// The live items of the shared albums named `album` (all with nil), for `ls`, export and the gallery.
    func sharedItems(inAlbum album: String?) throws -> [ItemRecord] {
        guard album != AlbumRecord.uncategorizedName else { return [] }
        var seen = Set<String>()
        var records: [ItemRecord] = []
        for shared in try sharedView().albums where album == nil || shared.row.name == album {
            for item in shared.items where seen.insert(item.item.id).inserted {
                if try index.item(id: item.item.id) == nil { records.append(item.item) }
            }
        }
        return records.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    // MARK: Contributing

    /// Adds this library's items `itemIds` to the album `albumName` shared with it as a collaborator: each item's
    /// objects, as stored, are copied to the album's inbox in its owner's store, with a note boxed to the owner, who
    /// takes them at their next sync. Returns how many were sent (an item sent before is not sent again).
    public func contribute(toShared albumName: String, itemIds: [String]) throws -> Int {
        let view = try sharedView()
        guard let album = view.albums.first(where: { $0.row.name == albumName && $0.row.removedAt == nil }) else {
            throw ShareError.noSuchSharedAlbum(albumName)
        }
        guard album.row.role == ShareRole.collaborator.rawValue else { throw ShareError.viewerOnly(albumName) }
        guard let foreign = view.stores[album.row.source] else { throw ShareError.unreadable(album.row.source, "the store cannot be opened from here") }
        let identity = try identity()
        let me = Data(identity.publicKey)
        let inbox = ShareNames.inbox(album.row.albumId, member: me)
        let tag = ShareNames.tag(me)
        let alreadyIn = Set(album.items.filter { $0.contributor == tag }.compactMap(\.contributedItem))
        var sent = 0
        for itemId in itemIds where !alreadyIn.contains(itemId) {
            guard let state = try index.itemState(itemId), state.item.deletedAt == nil else { throw LibraryEditError.noSuchItem(itemId) }
            let id = Array(Blake2b.hash(Array("\(album.row.albumId) \(itemId)".utf8)).prefix(16)).hexString
            let noteName = try ObjectName(inbox + id + "/note")
            if try foreign.size(of: noteName) != nil { continue }
            guard !state.objects.isEmpty else {
                throw ShareError.unreadable(itemId, "it was stored before objects had digests: it cannot be sent (`keepsake verify` first)")
            }
            var copied: [String: String] = [:]
            var objects: [ObjectDigest] = []
            for (n, digest) in state.objects.enumerated() {
                let target = try ObjectName(inbox + id + "/\(n)")
                try copy(ObjectName(digest.name), digest: digest, from: store, to: foreign, as: target)
                copied[digest.name] = target.path
                var moved = digest
                moved.name = target.path
                objects.append(moved)
            }
            var item = state.item
            item.dedupHash = ""
            for path in [\ItemRecord.metadataObject, \.thumbnailObject, \.streamObject, \.playlistObject, \.renditionObject] {
                if let name = item[keyPath: path] { item[keyPath: path] = copied[name] }
            }
            let originals = state.originals.map { original in
                var original = original
                original.id = nil
                original.sourcePath = original.name
                original.objectName = copied[original.objectName] ?? original.objectName
                return original
            }
            let note = Contribution(albumId: album.row.albumId, contributor: me, id: id, sourceItem: itemId, contentHash: "", item: item,
                                    originals: originals, objects: objects, fileKey: try fileKey(of: itemId).withUnsafeBytes { Data($0) })
            try foreign.put(noteName, bytes: try identity.box(Array(try ShareNames.encoder.encode(note)), to: Array(album.owner)))
            sent += 1
        }
        return sent
    }

    /// Copies one object as stored from `source` to `target` under `name`, checking it is the object `digest` describes.
    private func copy(_ object: ObjectName, digest: ObjectDigest, from source: any ObjectStore, to target: any ObjectStore,
                      as name: ObjectName, alsoInto sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws {
        let writer = try target.makeWriter(for: name)
        do {
            let check = StoredBytesCheck(digest)
            try source.read(object, range: nil) { bytes in
                try check.update(bytes)
                try writer.write(bytes)
                try sink?(bytes)
            }
            try check.finish()
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    // MARK: Taking contributions (the owner)

    /// Takes into this library what collaborators added to its shared albums: each item's objects are copied from the
    /// inbox (checked against the note's digests, every original decrypted and hashed), the item committed into the
    /// album through the same path as an ingest, then the inbox emptied. A note from anyone who is not a collaborator
    /// of that album, or one that does not open, is reported and left alone.
    ///
    /// Taking commits items, so it runs under the writer lock; while another process holds it (an ingest, the daemon),
    /// the notes wait for a later sync, and that is said.
    func takeContributions() throws -> (taken: Int, problems: [String], notice: String?) {
        var waiting: [(albumId: String, notes: [ObjectName])] = []
        for albumId in try sharedAlbumIds() {
            let notes = try store.list(prefix: ShareNames.inbox(albumId)).filter { $0.path.hasSuffix("/note") }
            if !notes.isEmpty { waiting.append((albumId, notes)) }
        }
        guard !waiting.isEmpty else { return (0, [], nil) }
        let lock: WriterLock
        do {
            lock = try lockForWriting(waitingUpTo: .seconds(2)).lock
        } catch LibraryError.locked {
            return (0, [], "items collaborators added wait: another keepsake process holds the library's writer lock (the next sync takes them)")
        }
        defer { withExtendedLifetime(lock) {} }
        var taken = 0
        var problems: [String] = []
        let identity = try identity()
        for (albumId, notes) in waiting {
            guard var state = try shareState(albumId) else { continue }
            for note in notes {
                do {
                    if try take(note, state: &state, identity: identity) { taken += 1 }
                } catch let error as StoreError where error.isOutage {
                    throw error
                } catch where error.isRunFatal {
                    throw error
                } catch {
                    problems.append("\(note.path): \(error)")
                }
            }
        }
        return (taken, problems, nil)
    }

    private func take(_ note: ObjectName, state: inout ShareState, identity: IdentityKeyPair) throws -> Bool {
        let parts = note.path.split(separator: "/")
        guard parts.count == 6 else { throw ShareError.unreadable(note.path, "not a contribution's name") }
        let tag = String(parts[3]), id = String(parts[4])
        guard let member = state.members.first(where: { ShareNames.tag($0.publicKey) == tag }) else {
            throw ShareError.unreadable(note.path, "it is from no one this album is shared with: ignored")
        }
        guard member.role == .collaborator else { throw ShareError.unreadable(note.path, "it is from a viewer of the album, who may not add to it: ignored") }
        let contribution: Contribution
        do {
            let plain = try identity.openBox(try store.get(note, limit: ShareNames.noteCap), from: Array(member.publicKey))
            contribution = try ShareNames.decoder.decode(Contribution.self, from: Data(plain))
        } catch let error as StoreError where error.isOutage {
            throw error
        } catch {
            throw ShareError.unreadable(note.path, "it does not open as a note from that collaborator (\(error))")
        }
        let folder = ShareNames.inbox(state.albumId, member: member.publicKey) + id + "/"
        guard contribution.albumId == state.albumId, contribution.contributor == member.publicKey, contribution.id == id,
              contribution.objects.allSatisfy({ $0.name.hasPrefix(folder) }) else {
            throw ShareError.unreadable(note.path, "the note is for another album, contributor or folder (moved)")
        }
        guard let album = try index.album(id: state.albumId) else { throw ShareError.unreadable(note.path, "the album was deleted") }
        let item = try commitContribution(contribution, album: album.name)
        state.contributions = (state.contributions ?? [:]).merging([item: "\(tag):\(contribution.sourceItem)"]) { _, new in new }
        try putShareState(state)
        for name in try store.list(prefix: folder) where name != note { try store.delete(name) }
        try store.delete(note)
        return true
    }

    /// Stores a contribution's objects as this library's own and commits its item into `album`; returns the item's id.
    private func commitContribution(_ contribution: Contribution, album: String) throws -> String {
        let fileKey = try SecretKey(bytes: Array(contribution.fileKey))
        let session = UploadSession(library: self, fileKey: fileKey)
        var renamed: [String: ObjectName] = [:]
        let originalsByObject = Dictionary(contribution.originals.map { ($0.objectName, $0) }, uniquingKeysWith: { a, _ in a })
        do {
            for digest in contribution.objects {
                guard let role = ObjectRole(rawValue: digest.role) else { throw ShareError.unreadable(digest.name, "unknown role \(digest.role)") }
                let original = originalsByObject[digest.name]
                let hasher = Blake2b()
                var plainSize: Int64 = 0
                let opener = try original.map { _ in
                    try OpeningStream(key: fileKey) { bytes in
                        hasher.update(bytes)
                        plainSize += Int64(bytes.count)
                    }
                }
                let check = StoredBytesCheck(digest)
                let (name, _) = try session.storeAsIs(role: role) { write in
                    try store.read(ObjectName(digest.name), range: nil) { bytes in
                        try check.update(bytes)
                        try opener?.write(bytes)
                        try write(bytes)
                    }
                    try check.finish()
                    try opener?.finish()
                }
                if let original, hasher.finalize().hexString != original.blake2b || plainSize != original.size {
                    throw ShareError.unreadable(digest.name, "the original is not the file its note describes")
                }
                renamed[digest.name] = name
            }
            let originals = contribution.originals
            guard !originals.isEmpty, originals.allSatisfy({ renamed[$0.objectName] != nil }) else {
                throw ShareError.unreadable(contribution.id, "an original's object is missing from the note")
            }
            // As an ingest makes it: the originals' hashes in their order (a Live Photo's still first).
            let hash = originals.map(\.blake2b).joined(separator: ":")
            var item = NewItem(type: contribution.item.type, dedupHash: hash, fileKey: fileKey, originals: originals.map { original in
                var original = original
                original.objectName = renamed[original.objectName]!.path
                return original
            })
            item.metadataJSON = contribution.item.metadataJSON
            item.stageProblems = contribution.item.problems
            item.metadataObject = contribution.item.metadataObject.flatMap { renamed[$0] }
            item.thumbnailObject = contribution.item.thumbnailObject.flatMap { renamed[$0] }
            item.streamObject = contribution.item.streamObject.flatMap { renamed[$0] }
            item.playlistObject = contribution.item.playlistObject.flatMap { renamed[$0] }
            item.renditionObject = contribution.item.renditionObject.flatMap { renamed[$0] }
            return try session.commit(item, album: .named(album)).itemId
        } catch {
            try? session.discard()
            throw error
        }
    }
}
