import FileSystem
import Foundation
import KeepsakeCrypto
@testable import Store
import Testing
import TestSupport

/// Sharing an album with another library (issue 18, items 2 and 3; docs/sharing.md): two libraries with different
/// passphrases, each in its own folder with its own store; B reads A's store as a member would.
@Suite struct SharingTests {
    struct Pair {
        var a: Library
        var b: Library
        var root: String
        var address: SharedStoreAddress
    }

    func pair() throws -> Pair {
        let root = try TestEnvironment.makeTempDirectory("sharing").path
        let a = try Library.open(at: root + "/a", passphrase: "owner's passphrase", create: true)
        let b = try Library.open(at: root + "/b", passphrase: "member's passphrase", create: true)
        return Pair(a: a, b: b, root: root, address: SharedStoreAddress(root + "/a"))
    }

    /// Commits an item of random bytes (original and thumbnail) into `album`; returns its id and original.
    @discardableResult
    func commit(to library: Library, album: String, size: Int = 5000) throws -> (id: String, bytes: [UInt8]) {
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        let bytes = randomBytes(size)
        let hash = Blake2b.hash(bytes).hexString
        let upload = library.beginUpload()
        let original = try upload.storeSealed(bytes, role: .original)
        var item = NewItem(type: .image, dedupHash: hash, fileKey: upload.fileKey, originals: [
            OriginalRecord(itemId: "", role: "main", name: BytePath("IMG_\(size).JPG"), sourcePath: BytePath("/home/a/IMG_\(size).JPG"),
                           size: Int64(size), blake2b: hash, mimeType: "image/jpeg", objectName: original.path),
        ])
        item.thumbnailObject = try upload.storeSealed(Array("thumbnail \(size)".utf8), role: .thumbnail)
        guard case .stored(let id) = try upload.commit(item, album: .named(album)) else { throw ShareTestError("not stored") }
        return (id, bytes)
    }

    func original(_ itemId: String, in library: Library) throws -> [UInt8] {
        let original = try #require(try library.originals(of: itemId).first)
        var bytes: [UInt8] = []
        try library.readDecrypted(ObjectName(original.objectName), key: library.fileKey(of: itemId)) { bytes += $0 }
        return bytes
    }

    @Test func aViewerSeesTheAlbumAndReadsItsOriginalsBitExactButCannotAdd() throws {
        let p = try pair()
        let first = try commit(to: p.a, album: "Trip")
        let second = try commit(to: p.a, album: "Trip", size: 6000)
        try commit(to: p.a, album: "Private")
        try p.a.share(album: "Trip", with: p.b.identity().publicKey, role: .viewer)

        let added = try p.b.addSharedStore(p.address)
        #expect(added.ownerPublicKey == (try p.a.identity().publicKey))
        #expect(added.albums.map(\.name) == ["Trip"] && added.albums.first?.items == 2 && added.albums.first?.role == .viewer)
        let shared = try p.b.liveItems(inAlbum: "Trip")
        #expect(Set(shared.map(\.id)) == [first.id, second.id])
        #expect(try p.b.liveItems().count == 2, "the unshared album is not seen")
        #expect(try original(first.id, in: p.b) == first.bytes)
        #expect(try original(second.id, in: p.b) == second.bytes)
        #expect(try p.b.albumNames(of: first.id) == ["Trip"])
        #expect(try p.b.originals(of: first.id).first?.sourcePath == BytePath("IMG_5000.JPG"), "where the owner kept the file is not shared")
        #expect(try p.b.albumSummaries().contains(AlbumSummary(name: "Trip", items: 2)))
        // B's own library is untouched: nothing in its log, checkpoints or verify.
        #expect(try p.b.index.allItemIds().isEmpty)

        #expect(throws: ShareError.self) { try p.b.contribute(toShared: "Trip", itemIds: [first.id]) }
        let own = try commit(to: p.b, album: "Mine")
        do {
            _ = try p.b.contribute(toShared: "Trip", itemIds: [own.id])
            Issue.record("a viewer contributed")
        } catch let error as ShareError {
            guard case .viewerOnly = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func aCollaboratorsItemIsTakenIntoTheAlbumAtTheOwnersSync() throws {
        let p = try pair()
        try commit(to: p.a, album: "Trip")
        try p.a.share(album: "Trip", with: p.b.identity().publicKey, role: .collaborator)
        _ = try p.b.addSharedStore(p.address)
        let own = try commit(to: p.b, album: "Mine", size: 7000)
        #expect(try p.b.contribute(toShared: "Trip", itemIds: [own.id]) == 1)
        #expect(try p.b.contribute(toShared: "Trip", itemIds: [own.id]) == 0, "sent once")

        let report = try p.a.syncShares()
        #expect(report.taken == 1 && report.problems.isEmpty, "\(report.problems)")
        let trip = try p.a.liveItems(inAlbum: "Trip")
        #expect(trip.count == 2)
        let taken = try #require(trip.first { try original($0.id, in: p.a) == own.bytes })
        #expect(try p.a.store.list(prefix: ShareNames.inbox(try #require(p.a.shareListings().first).albumId)).isEmpty, "the inbox is emptied")
        // A's own objects now: the item survives the collaborator's library going away.
        for object in try p.a.index.itemState(taken.id)?.objects ?? [] { #expect(object.name.hasPrefix("data/")) }
        #expect(try p.a.verifyOutcome().isEmpty)

        // B sees its item in the album after its sync, marked as its own contribution, and does not send it again.
        _ = try p.b.syncShares()
        #expect(try p.b.liveItems(inAlbum: "Trip").count == 2)
        #expect(try p.b.sharedView().items[taken.id]?.item.contributedItem == own.id)
        #expect(try p.b.contribute(toShared: "Trip", itemIds: [own.id]) == 0)
    }

    @Test func removingAMemberRotatesTheKeySoTheyKeepTheOldItemsAndCannotDecryptNewOnes() throws {
        let p = try pair()
        let old = try commit(to: p.a, album: "Trip")
        let bKey = try p.b.identity().publicKey
        try p.a.share(album: "Trip", with: bKey, role: .viewer)
        _ = try p.b.addSharedStore(p.address)
        #expect(try p.b.liveItems(inAlbum: "Trip").map(\.id) == [old.id])

        #expect(try p.a.unshare(album: "Trip", with: bKey))
        let new = try commit(to: p.a, album: "Trip", size: 8000)
        #expect(try p.a.publishShares() == 1)
        let listing = try #require(p.a.shareListings().first)
        #expect(listing.generation == 2 && listing.members.isEmpty)

        let report = try p.b.syncShares()
        #expect(report.problems.isEmpty, "\(report.problems)")
        let albums = try p.b.sharedAlbums()
        #expect(albums.count == 1 && albums[0].removed && albums[0].items == 1)
        #expect(try p.b.liveItems(inAlbum: "Trip").map(\.id) == [old.id])
        #expect(try original(old.id, in: p.b) == old.bytes, "what was shared stays readable")

        // Every key B holds: the share keys of its rows and the file keys of every feed it read. None opens the new
        // generation's feed, nor the new item's original.
        let rows = try p.b.index.sharedAlbumRows()
        let shareKeys = try rows.map { try p.b.keyring.unwrapSharedKey($0.wrappedKey) }
        let fileKeys = try p.b.sharedView().items.values.map { try SecretKey(bytes: Array($0.item.fileKey)) }
        #expect(!shareKeys.isEmpty && !fileKeys.isEmpty)
        let feedName = try ObjectName(ShareNames.feed(listing.albumId, generation: 2))
        let feed = try p.a.store.get(feedName)
        for key in shareKeys {
            #expect(throws: (any Error).self) { try Library.openFeed(feed, albumId: listing.albumId, generation: 2, key: key) }
        }
        let newOriginal = try #require(try p.a.originals(of: new.id).first)
        for key in fileKeys {
            #expect(throws: (any Error).self) {
                try p.a.readDecrypted(ObjectName(newOriginal.objectName), key: key) { _ in }
            }
        }
        // The owner still reads it, and a member still in the album would (the new key opens the new feed).
        #expect(try original(new.id, in: p.a) == new.bytes)
        #expect(try p.a.store.size(of: ObjectName(ShareNames.feed(listing.albumId, generation: 1))) == nil, "the old feed is gone")
        #expect(try p.a.store.size(of: ObjectName(ShareNames.grant(listing.albumId, member: Data(bKey)))) == nil)
    }

    @Test func whatTheStoreOrAnotherMemberForgesIsRefused() throws {
        let p = try pair()
        try commit(to: p.a, album: "Trip")
        let bKey = try p.b.identity().publicKey
        try p.a.share(album: "Trip", with: bKey, role: .collaborator)
        _ = try p.b.addSharedStore(p.address)
        let albumId = try #require(p.a.shareListings().first).albumId

        // A member (who has the share key) replaces the feed with one of its own: the grant names the owner's.
        let feedName = try ObjectName(ShareNames.feed(albumId, generation: 1))
        let genuine = try p.a.store.get(feedName)
        let key = try #require(try p.b.index.sharedAlbumRows().first).wrappedKey
        let shareKey = try p.b.keyring.unwrapSharedKey(key)
        let forged = ShareFeed(albumId: albumId, album: "Trip", generation: 1, items: [])
        try p.a.store.put(feedName, bytes: SealedBox.seal(Array(try ShareNames.encoder.encode(forged)),
                                                          associatedData: Library.feedAssociatedData(albumId, 1), key: shareKey))
        let refused = try p.b.syncShares()
        #expect(refused.problems.contains { $0.contains("not the feed its owner granted") }, "\(refused.problems)")
        #expect(try p.b.liveItems(inAlbum: "Trip").count == 1, "the album stays as it was")
        try p.a.store.put(feedName, bytes: genuine)

        // A note in the inbox of someone who is not a collaborator (a third library boxes one to the owner).
        let c = try Library.open(at: p.root + "/c", passphrase: "third", create: true)
        let cKey = Data(try c.identity().publicKey)
        let note = try ObjectName(ShareNames.inbox(albumId, member: cKey) + String(repeating: "0", count: 32) + "/note")
        try p.a.store.put(note, bytes: try c.identity().box(Array("{}".utf8), to: p.a.identity().publicKey))
        let report = try p.a.syncShares()
        #expect(report.taken == 0 && report.problems.contains { $0.contains("from no one this album is shared with") }, "\(report.problems)")
        #expect(try p.a.liveItems(inAlbum: "Trip").count == 1)

        // A viewer's note, however well formed, is not taken.
        try p.a.share(album: "Trip", with: bKey, role: .viewer)
        _ = try p.b.syncShares()
        let own = try commit(to: p.b, album: "Mine")
        #expect(throws: ShareError.self) { try p.b.contribute(toShared: "Trip", itemIds: [own.id]) }
    }

    @Test func theMembersOtherFoldersReadTheSharedAlbumsAfterTheirSync() throws {
        let p = try pair()
        let item = try commit(to: p.a, album: "Trip")
        try p.a.share(album: "Trip", with: p.b.identity().publicKey, role: .viewer)
        _ = try p.b.addSharedStore(p.address)
        // A second folder of B's library: its store is B's.
        let second = p.root + "/b2"
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: Library.storePath(library: second), withDestinationPath: p.root + "/b/store")
        let b2 = try Library.open(at: second, passphrase: "member's passphrase", create: false)
        #expect(try b2.liveItems().isEmpty)
        #expect(try p.a.store.list(prefix: Library.sharedStoresPrefix).isEmpty, "nothing of B's is written into A's store")
        #expect(try p.b.store.list(prefix: Library.sharedStoresPrefix).count == 1)
        _ = try b2.syncShares()
        #expect(try b2.liveItems(inAlbum: "Trip").map(\.id) == [item.id])
        #expect(try original(item.id, in: b2) == item.bytes)
        // Removed in one folder, gone from the other at its next sync.
        #expect(try p.b.removeSharedStore(p.address))
        #expect(try p.b.liveItems().isEmpty)
        _ = try b2.syncShares()
        #expect(try b2.sharedAlbums().isEmpty)
    }

    @Test func aStoreThatSharesNothingWithThisLibraryIsSaidSo() throws {
        let p = try pair()
        try commit(to: p.a, album: "Trip")
        do {
            _ = try p.b.addSharedStore(p.address)
            Issue.record("added a store that shares nothing")
        } catch let error as ShareError {
            guard case .nothingSharedWithYou = error else { Issue.record("\(error)"); return }
        }
        #expect(try p.b.sharedAlbums().isEmpty)
    }
}

struct ShareTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Library {
    /// What `verify` finds wrong (empty: nothing).
    func verifyOutcome() throws -> [String] {
        try Verifier(library: self).run(readData: true).problems.map(\.description)
    }
}
