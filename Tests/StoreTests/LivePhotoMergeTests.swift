import FileSystem
import Foundation
import KeepsakeCrypto
@testable import Store
import Testing
import TestSupport

/// A Live Photo whose video arrives after its still was stored as an item of its own (issue 15 item 6), in process:
/// the item that completes it replaces the still's item on every machine, from the log and from a checkpoint.
@Suite struct LivePhotoMergeTests {
    /// Stores an item of one original at `path` (and a thumbnail and metadata object) into `album`.
    func storeHalf(_ library: Library, type: ItemType, path: String, album: AlbumTarget) throws -> (id: String, objects: [String]) {
        let upload = library.beginUpload()
        let original = try upload.storeSealed(Array("original \(path)".utf8), role: .original)
        var item = NewItem(type: type, dedupHash: "hash \(path)", fileKey: upload.fileKey, originals: [
            OriginalRecord(itemId: "", role: "main", name: BytePath(path).lastComponent, sourcePath: BytePath(path), size: 10,
                           blake2b: "hash \(path)", mimeType: "image/heic", objectName: original.path),
        ])
        item.thumbnailObject = try upload.storeSealed(Array("thumbnail \(path)".utf8), role: .thumbnail)
        item.metadataObject = try upload.storeSealed(Array("metadata \(path)".utf8), role: .metadata)
        let id = try upload.commit(item, album: album).itemId
        return (id, [original.path, item.thumbnailObject!.path, item.metadataObject!.path])
    }

    /// What a library folder shows of its items: id, type, originals (role and object), albums, deletion.
    func state(_ library: Library) throws -> [String] {
        try library.index.allItems().map { item in
            let originals = try library.index.originals(of: item.id).map { "\($0.role)=\($0.objectName)" }
            return "\(item.id) \(item.type) \(originals) \(try library.index.albumNames(of: item.id)) deleted=\(item.deletedAt != nil)"
        }
    }

    func aliases(_ library: Library) throws -> [String: String] { try library.index.read { db in try library.index.aliases(db) } }

    /// Completes the Live Photo whose still is `half` with a video, into the album Trip; returns the new item's id and
    /// the video's object.
    func complete(_ library: Library, _ half: LivePhotoHalf) throws -> (String, ObjectName) {
        let upload = try library.beginUpload(completing: half)
        let video = try upload.storeSealed(Array("original video".utf8), role: .video)
        var stillOriginal = half.original
        stillOriginal.id = nil
        stillOriginal.role = "still"
        var item = NewItem(type: .livePhoto, dedupHash: half.item.dedupHash + ":video", fileKey: upload.fileKey, originals: [
            stillOriginal,
            OriginalRecord(itemId: "", role: "video", name: "IMG_1.mov", sourcePath: "/phone/IMG_1.mov", size: 5,
                           blake2b: "video", mimeType: "video/quicktime", objectName: video.path),
        ])
        item.thumbnailObject = try ObjectName(try #require(half.item.thumbnailObject))
        item.metadataObject = try upload.storeSealed(Array("metadata pair".utf8), role: .metadata)
        let outcome = try upload.commit(item, album: .named("Trip"))
        #expect(outcome == .stored(itemId: outcome.itemId))
        return (outcome.itemId, video)
    }

    @Test func aVideoThatArrivesLaterCompletesTheStillsItemOnEveryMachine() throws {
        let root = try TestEnvironment.makeTempDirectory().path
        let store = MemoryStore()
        func open(_ name: String) throws -> Library {
            try Library.open(at: root + "/" + name, store: .memory(store), passphrase: "pw", create: true)
        }
        let (a, b) = (try open("a"), try open("b"))
        let still = try storeHalf(a, type: .image, path: "/phone/IMG_1.heic", album: .named("Trip"))
        // Not halves of anything in /phone: a Live Photo, an item in a subfolder or a folder of a longer name, one deleted.
        _ = try storeHalf(a, type: .livePhoto, path: "/phone/IMG_2.heic", album: .uncategorized)
        _ = try storeHalf(a, type: .image, path: "/phone/sub/IMG_3.heic", album: .uncategorized)
        _ = try storeHalf(a, type: .image, path: "/phonebook/IMG_4.heic", album: .uncategorized)
        try a.markDeleted(itemId: try storeHalf(a, type: .video, path: "/phone/IMG_5.mov", album: .uncategorized).id)
        // Machine B adds the still to an album before it sees the Live Photo: that change names the still's id.
        _ = try b.sync()
        _ = try b.resolveExisting(hash: "hash /phone/IMG_1.heic", album: .named("Other"), sourceFiles: [])

        let halves = try a.livePhotoHalves(inFolders: [BytePath("/phone")])
        #expect(halves.map(\.item.id) == [still.id])
        let (id, video) = try complete(a, try #require(halves.first))

        _ = try a.sync()
        _ = try b.sync()
        let c = try open("c")  // a new machine, from the log
        try a.changeLog.writeCheckpoint()
        let d = try open("d")  // a new machine, from the checkpoint
        let expected = try state(a)
        #expect(expected.filter { $0.hasPrefix(still.id) }.isEmpty, "the still's item is gone")
        #expect(expected.contains("\(id) livePhoto [\"still=\(still.objects[0])\", \"video=\(video.path)\"] [\"Other\", \"Trip\"] deleted=false"),
                "\(expected)")
        for library in [a, b, c, d] {
            #expect(try state(library) == expected)
            #expect(try aliases(library)[still.id] == id)
            // One key opens both originals: the still's, stored by the first run, and the video.
            let key = try library.fileKey(of: id)
            for (object, plain) in [(still.objects[0], "original /phone/IMG_1.heic"), (video.path, "original video")] {
                var bytes = [UInt8]()
                try library.readDecrypted(ObjectName(object), key: key) { bytes.append(contentsOf: $0) }
                #expect(bytes == Array(plain.utf8))
            }
        }
        // The still's metadata object is the only one no item references any more: its original and thumbnail are
        // the Live Photo's. (readData false: the test's originals carry made-up plaintext hashes.)
        let report = try Verifier(library: d).run(readData: false, grace: .zero)
        #expect(report.isClean, "\(report.problems)")
        #expect(report.orphans == [still.objects[2]])
        #expect(try a.livePhotoHalves(inFolders: [BytePath("/phone")]).isEmpty)
    }

    /// The Live Photo's log entry lost (its record written, the entry not): a rebuild recovers it from its record as the
    /// same replacement, not as a second item beside the still's.
    @Test func aLivePhotoWhoseEntryWasLostIsRecoveredFromItsRecordInThePlaceOfTheStill() throws {
        let root = try TestEnvironment.makeTempDirectory().path
        let store = MemoryStore()
        let a = try Library.open(at: root + "/a", store: .memory(store), passphrase: "pw", create: true)
        let still = try storeHalf(a, type: .image, path: "/phone/IMG_1.heic", album: .named("Album"))
        let (id, _) = try complete(a, try #require(try a.livePhotoHalves(inFolders: [BytePath("/phone")]).first))
        let newest = try #require(try store.list(prefix: "log/").map(\.path).max())
        try store.delete(ObjectName(newest))

        let b = try Library.open(at: root + "/b", store: .memory(store), passphrase: "pw", create: true)
        #expect(try b.index.allItems().map(\.id) == [id])
        #expect(try b.index.allItems().map(\.type) == [.livePhoto])
        #expect(try b.index.albumNames(of: id) == ["Album"], "the still's album, which the lost entry did not name")
        #expect(try aliases(b)[still.id] == id)
    }
}
