import FileSystem
import Foundation
@testable import Store
import Testing
import TestSupport

/// Group commit (issue 20, item 3), in process on a local-folder store: in a run that groups commits, an item is
/// queued with its id decided, and the queue is committed (objects durable, records, log entries, one index
/// transaction) when it is full, when a lookup needs one of its items, and at the end of the run.
@Suite struct GroupCommitTests {
    func makeLibrary() throws -> (Library, String) {
        let path = try TestEnvironment.makeTempDirectory().path + "/lib"
        return (try Library.open(at: path, passphrase: "pw", create: true), path)
    }

    /// Stores an item of one original, a thumbnail and a metadata object, as ingest does, and commits it.
    func storeItem(_ library: Library, hash: String, album: AlbumTarget = .uncategorized) throws -> CommitOutcome {
        let upload = library.beginUpload()
        let name = try upload.storeSealed(Array("original \(hash)".utf8), role: .original)
        let original = OriginalRecord(itemId: "", role: "main", name: BytePath("\(hash).jpg"), sourcePath: BytePath("/\(hash).jpg"), size: 10,
                                      blake2b: hash, mimeType: "image/jpeg", objectName: name.path)
        var item = NewItem(type: .image, dedupHash: hash, fileKey: upload.fileKey, originals: [original])
        item.thumbnailObject = try upload.storeSealed(Array("thumbnail \(hash)".utf8), role: .thumbnail)
        item.metadataObject = try upload.storeSealed(Array("metadata \(hash)".utf8), role: .metadata)
        return try upload.commit(item, album: album)
    }

    func records(_ library: Library) throws -> Int { try library.store.list(prefix: "items/").count }

    @Test func queuedItemsAreCommittedAtTheEndOfTheRun() throws {
        let (library, path) = try makeLibrary()
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        var ids: [String] = []
        try library.groupingCommits(CommitGrouping(maxItems: 100, maxDelay: .seconds(3600))) {
            for number in 1...3 {
                let outcome = try storeItem(library, hash: "h\(number)")
                #expect(outcome == .stored(itemId: outcome.itemId))
                ids.append(outcome.itemId)
            }
            // Queued: no record, no log entry, no index row yet names them.
            #expect(try library.index.allItems().isEmpty)
            #expect(try records(library) == 0)
        }
        #expect(Set(try library.index.allItems().map(\.id)) == Set(ids))
        #expect(try records(library) == 3)
        #expect(try library.index.uncommittedObjects().isEmpty, "every object of the group is committed with its item")

        // The store alone holds them: a new library folder on a copy of it rebuilds all three.
        let copy = try TestEnvironment.makeTempDirectory().path + "/lib"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Library.storePath(library: path), toPath: Library.storePath(library: copy))
        let rebuilt = try Library.open(at: copy, passphrase: "pw", create: false)
        #expect(Set(try rebuilt.index.allItems().map(\.id)) == Set(ids))
    }

    @Test func aFullGroupIsCommittedAtOnce() throws {
        let (library, _) = try makeLibrary()
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        try library.groupingCommits(CommitGrouping(maxItems: 2, maxDelay: .seconds(3600))) {
            _ = try storeItem(library, hash: "a")
            #expect(try library.index.allItems().count == 0)
            _ = try storeItem(library, hash: "b")
            #expect(try library.index.allItems().count == 2)
            #expect(try records(library) == 2)
            _ = try storeItem(library, hash: "c")
            #expect(try library.index.allItems().count == 2)
        }
        #expect(try library.index.allItems().count == 3)
    }

    @Test func theSameBytesQueuedTwiceAreOneItem() throws {
        let (library, _) = try makeLibrary()
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        try library.groupingCommits(CommitGrouping(maxItems: 100, maxDelay: .seconds(3600))) {
            let first = try storeItem(library, hash: "same")
            #expect(try library.index.allItems().isEmpty)
            // A lookup of queued bytes commits the queue first, so it finds the item.
            #expect(try library.resolveExisting(hash: "same", album: .uncategorized, sourceFiles: []) == .duplicate(itemId: first.itemId))
            #expect(try storeItem(library, hash: "same", album: .named("Trip")) == .addedToAlbum(itemId: first.itemId))
        }
        #expect(try library.index.allItems().count == 1)
        // The second copy's three objects were discarded: only the item's own remain.
        #expect(try library.store.list(prefix: "data/").count == 3)
    }

    @Test func outsideAGroupedRunEachItemIsCommittedAtOnce() throws {
        let (library, _) = try makeLibrary()
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        let outcome = try storeItem(library, hash: "alone")
        #expect(try library.index.allItems().map(\.id) == [outcome.itemId])
        #expect(try records(library) == 1)
        #expect(try library.index.uncommittedObjects().isEmpty)
    }
}
