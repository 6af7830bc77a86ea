import Foundation
import KeepsakeCrypto
@testable import Store
import Testing
import TestSupport

/// The store backends the same tests run against.
enum Backend: String, CaseIterable, Sendable {
    case localFolder, memory, s3

    /// A fresh, empty store. S3 stores live in their own prefix of one bucket on the test process's moto server,
    /// with 5 MiB parts (S3's smallest) so multipart uploads are cheap to test, and 1 MiB read windows.
    func makeStore(listPageSize: Int = 1000) throws -> any ObjectStore {
        switch self {
        case .localFolder:
            return try LocalFolderStore(root: try TestEnvironment.makeTempDirectory().path + "/store")
        case .memory:
            return MemoryStore()
        case .s3:
            return try makeS3Store(listPageSize: listPageSize)
        }
    }
}

func s3Configuration(bucket: String = "keepsake-store-tests", endpoint: String? = nil) throws -> S3Configuration {
    var configuration = try S3Configuration(url: "s3://\(bucket)/\(ObjectID.random().hex.prefix(12))",
                                            endpoint: endpoint ?? MotoServer.shared().endpoint, environment: MotoServer.environment)
    configuration.partSize = 5 << 20
    configuration.readWindow = 1 << 20
    configuration.retry.firstDelay = 0.01
    return configuration
}

func makeS3Store(listPageSize: Int = 1000, transport: (any S3Transport)? = nil) throws -> S3Store {
    var configuration = try s3Configuration()
    configuration.listPageSize = listPageSize
    let store = transport.map { S3Store(configuration: configuration, transport: $0) } ?? S3Store(configuration: configuration)
    try store.createBucketIfMissing()
    return store
}

/// The 16 hex digits of a log entry's time: entry `i` of a test's log.
func logTime(_ i: Int) -> String {
    let hex = String(0x18a0_0000_0000_0000 + UInt64(i) * 0x1_0000, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// What a killed writer could have left: partial files, or unfinished multipart uploads.
func partialUploads(in store: any ObjectStore) throws -> Int {
    switch store {
    case let local as LocalFolderStore: try FileManager.default.contentsOfDirectory(atPath: local.root + "/tmp").count
    case let s3 as S3Store: try s3.multipartUploads().count
    default: 0
    }
}

func write(_ bytes: [UInt8], to writer: any ObjectWriter, inPiecesOf piece: Int) throws {
    for start in stride(from: 0, to: bytes.count, by: piece) {
        try bytes[start..<min(start + piece, bytes.count)].withUnsafeBytes { try writer.write($0) }
    }
}

@Suite struct ObjectStoreTests {
    @Test(arguments: Backend.allCases) func putGetRangeListDelete(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let name = ObjectName.randomData()
        let bytes = randomBytes(3 << 20)
        try store.put(name, bytes: bytes)
        #expect(try store.get(name) == bytes)
        #expect(try store.size(of: name) == UInt64(bytes.count))
        var range = [UInt8]()
        try store.read(name, range: 1000..<1_500_000) { range.append(contentsOf: $0) }
        #expect(range == Array(bytes[1000..<1_500_000]))
        var tail = [UInt8]()
        try store.read(name, range: UInt64(bytes.count - 10)..<UInt64(bytes.count + 100)) { tail.append(contentsOf: $0) }
        #expect(tail == Array(bytes.suffix(10)))
        #expect(try store.list(prefix: "data/") == [name])
        try store.delete(name)
        #expect(try store.size(of: name) == nil)
        #expect(throws: StoreError.notFound(name.path)) { try store.get(name) }
        try store.delete(name)
    }

    @Test(arguments: Backend.allCases) func emptyAndTinyObjects(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let empty = ObjectName.randomData(), tiny = try ObjectName("keys/master")
        try store.put(empty, bytes: [])
        try store.put(tiny, bytes: [42])
        #expect(try store.get(empty) == [])
        #expect(try store.size(of: empty) == 0)
        #expect(try store.get(tiny) == [42])
        #expect(try store.list(prefix: "") == [empty, tiny].sorted { $0.path < $1.path })
        #expect(try store.list(prefix: "keys/") == [tiny])
    }

    /// Two creators of one library: the first key file stays, the second learns that it lost.
    @Test(arguments: Backend.allCases) func putIfAbsentNeverReplacesAnObject(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let name = try ObjectName("keys/master")
        #expect(try store.putIfAbsent(name, bytes: [1, 2, 3]))
        #expect(try !store.putIfAbsent(name, bytes: [4, 5]))
        #expect(try store.get(name) == [1, 2, 3])
    }

    /// A name that exists is reported as such, even by a store with no room left for the new bytes.
    @Test func putIfAbsentOnAFullMemoryStoreReportsTheExistingObject() throws {
        let store = MemoryStore(capacity: 10)
        let name = try ObjectName("keys/master")
        #expect(try store.putIfAbsent(name, bytes: Array(repeating: 1, count: 8)))
        #expect(try !store.putIfAbsent(name, bytes: Array(repeating: 2, count: 8)))
        #expect(throws: StoreError.io(operation: "write", path: "\(store)/keys/other", errno: ENOSPC)) {
            try store.putIfAbsent(ObjectName("keys/other"), bytes: [1, 2, 3])
        }
        #expect(try store.list(prefix: "") == [name])
    }

    @Test(arguments: Backend.allCases) func listingGivesWhenEachObjectWasWrittenAndGetIsBounded(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let name = ObjectName.randomData()
        let before = Date().addingTimeInterval(-5)
        try store.put(name, bytes: randomBytes(100))
        let listing = try store.listing(prefix: "data/")
        #expect(listing.map(\.name) == [name])
        #expect(listing.allSatisfy { $0.modified > before && $0.modified < Date().addingTimeInterval(5) }, "\(listing)")
        #expect(throws: ObjectTooLarge.self) { try store.get(name, limit: 99) }
        #expect(try store.get(name, limit: 100).count == 100)
    }

    /// Objects larger than a part (multipart on S3), written in pieces that do not line up with the parts.
    @Test(arguments: Backend.allCases) func largeObjectsInUnevenPieces(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let part = 5 << 20
        for size in [part, 2 * part + 7] {
            let name = ObjectName.randomData()
            let bytes = randomBytes(size)
            let writer = try store.makeWriter(for: name)
            try write(bytes, to: writer, inPiecesOf: 1_000_003)
            try writer.commit()
            #expect(try store.size(of: name) == UInt64(size))
            #expect(try store.get(name) == bytes)
            var middle = [UInt8]()
            try store.read(name, range: UInt64(part - 5)..<UInt64(part + 5)) { middle.append(contentsOf: $0) }
            #expect(middle == Array(bytes[(part - 5)..<min(part + 5, size)]))
        }
        #expect(try partialUploads(in: store) == 0)
    }

    @Test(arguments: Backend.allCases) func anUncommittedWriterLeavesNothing(_ backend: Backend) throws {
        let store = try backend.makeStore()
        do {
            let writer = try store.makeWriter(for: ObjectName.randomData())
            try write(randomBytes(11 << 20), to: writer, inPiecesOf: 1 << 20)  // parts already uploaded on S3
            writer.abort()
        }
        do {
            let dropped = try store.makeWriter(for: ObjectName.randomData())
            try write(randomBytes(6 << 20), to: dropped, inPiecesOf: 1 << 20)
        }
        #expect(try store.list(prefix: "").isEmpty)
        #expect(try partialUploads(in: store) == 0)
    }

    /// Ranges that start, end or straddle the edges of the pieces a backend reads in (1 MiB buffers locally,
    /// 1 MiB windows on S3 here), empty ranges, and ranges past the end.
    @Test(arguments: Backend.allCases) func rangedReadsAtChunkEdges(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let name = ObjectName.randomData()
        let mib = 1 << 20
        let bytes = randomBytes(2 * mib + 5)
        try store.put(name, bytes: bytes)
        let size = UInt64(bytes.count)
        let ranges: [Range<UInt64>] = [0..<1, UInt64(mib - 1)..<UInt64(mib + 1), UInt64(mib)..<UInt64(2 * mib), 0..<UInt64(mib),
                                       UInt64(2 * mib)..<size, UInt64(mib - 1)..<size, 0..<size, 0..<(size + 1), 5..<5,
                                       (size - 1)..<(size + 10), size..<(size + 10), (size + 10)..<(size + 20)]
        for range in ranges {
            var got = [UInt8]()
            try store.read(name, range: range) { got.append(contentsOf: $0) }
            let end = Int(min(range.upperBound, size)), start = min(Int(range.lowerBound), end)
            #expect(got == Array(bytes[start..<end]), "\(range)")
        }
        var whole = [UInt8]()
        try store.read(name, range: nil) { whole.append(contentsOf: $0) }
        #expect(whole == bytes)
    }

    /// Writing a name again replaces the object whole (larger or smaller); an aborted rewrite leaves the old one.
    @Test(arguments: Backend.allCases) func writingANameAgainReplacesTheObject(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let name = ObjectName.randomData()
        try store.put(name, bytes: randomBytes(3000))
        let larger = randomBytes(70_000), smaller = randomBytes(10)
        try store.put(name, bytes: larger)
        #expect(try store.get(name) == larger)
        try store.put(name, bytes: smaller)
        #expect(try store.get(name) == smaller)
        #expect(try store.size(of: name) == 10)
        let abandoned = try store.makeWriter(for: name)
        try write(randomBytes(500), to: abandoned, inPiecesOf: 100)
        abandoned.abort()
        #expect(try store.get(name) == smaller)
        #expect(try store.list(prefix: "data/") == [name])
    }

    @Test(arguments: Backend.allCases) func listingPagesThroughEveryName(_ backend: Backend) throws {
        let store = try backend.makeStore(listPageSize: 7)
        var names: [ObjectName] = []
        for _ in 0..<23 {
            let name = ObjectName.randomData()
            try store.put(name, bytes: [1])
            names.append(name)
        }
        try store.put(try ObjectName("index/0123"), bytes: [2])
        #expect(try store.list(prefix: "data/") == names.sorted { $0.path < $1.path })
        #expect(try store.list(prefix: "").count == 24)
    }

    /// A reader lists only the log entries after the last it has seen, in byte order, across list pages (7 names a
    /// page on S3); names under other prefixes, and one that only starts like the prefix, are never listed.
    @Test(arguments: Backend.allCases) func listAfterGivesOnlyTheLaterNamesInOrder(_ backend: Backend) throws {
        let store = try backend.makeStore(listPageSize: 7)
        let entries = try (0..<23).map { i in
            try ObjectName("log/" + logTime(i) + "-" + ["f0e1d2c3", "0a1b2c3d"][i % 2] + "-\(i)")
        }
        for entry in entries.shuffled() { try store.put(entry, bytes: [UInt8(entries.firstIndex(of: entry)!)]) }
        let data = ObjectName.randomData()
        for other in [data, try ObjectName("logs/0"), try ObjectName("checkpoints/" + logTime(30))] { try store.put(other, bytes: [0]) }

        #expect(try store.list(prefix: "log/", after: nil) == entries)
        #expect(try store.list(prefix: "log/") == entries)
        for seen in [0, 10, 15, 21, 22] {
            #expect(try store.list(prefix: "log/", after: entries[seen].path) == Array(entries[(seen + 1)...]), "after \(seen)")
        }
        // After a name that is not stored: what sorts after it.
        #expect(try store.list(prefix: "log/", after: "log/" + logTime(10) + "-z") == Array(entries[11...]))
        #expect(try store.list(prefix: "log/", after: "log/") == entries)
        #expect(try store.list(prefix: "log/", after: "a") == entries)
        #expect(try store.list(prefix: "log/", after: "log0").isEmpty)
        #expect(try store.list(prefix: "", after: "keys/") == entries + [try ObjectName("logs/0")])
        #expect(try store.list(prefix: "data/", after: "data/") == [data])
        #expect(try store.list(prefix: "data/", after: data.path).isEmpty)
    }

    /// The first object under a new prefix, one and two folders deep: written once, then never replaced.
    @Test(arguments: Backend.allCases) func putIfAbsentUnderANewPrefix(_ backend: Backend) throws {
        let store = try backend.makeStore()
        for name in [try ObjectName("log/" + logTime(1) + "-0a1b2c3d-1"), try ObjectName("items/ab/cdef")] {
            let first = randomBytes(100)
            #expect(try store.putIfAbsent(name, bytes: first))
            #expect(try !store.putIfAbsent(name, bytes: randomBytes(50)))
            #expect(try store.get(name) == first)
            #expect(try store.list(prefix: String(name.path.prefix { $0 != "/" }) + "/") == [name])
        }
        #expect(try partialUploads(in: store) == 0)
    }

    @Test func namesThatCouldEscapeTheStoreAreRefused() {
        for bad in ["", "/etc/passwd", "data/../../x", "data//x", "Data/X", "data/./x"] {
            #expect(throws: StoreError.self) { try ObjectName(bad) }
        }
    }
}

@Suite struct LibraryTests {
    func makeLibrary() throws -> (Library, String) {
        let path = try TestEnvironment.makeTempDirectory().path + "/lib"
        return (try Library.open(at: path, passphrase: "pw", create: true), path)
    }

    func storeItem(_ library: Library, hash: String, album: AlbumTarget) throws -> CommitOutcome {
        let upload = library.beginUpload()
        let name = try upload.storeSealed(Array("original \(hash)".utf8), role: .original)
        let original = OriginalRecord(itemId: "", role: "main", name: "x.jpg", sourcePath: "/x.jpg", size: 10,
                                      blake2b: hash, mimeType: "image/jpeg", objectName: name.path)
        return try upload.commit(NewItem(type: .image, dedupHash: hash, fileKey: upload.fileKey, originals: [original]), album: album)
    }

    @Test func reopeningNeedsThePassphrase() throws {
        let (_, path) = try makeLibrary()
        #expect(throws: LibraryError.self) { try Library.open(at: path, passphrase: "wrong", create: false) }
        _ = try Library.open(at: path, passphrase: "pw", create: false)
    }

    @Test func aFolderWithOtherFilesIsNeverTakenOver() throws {
        let folder = try TestEnvironment.makeTempDirectory().path
        #expect(FileManager.default.createFile(atPath: folder + "/holiday.jpg", contents: Data([1])))
        #expect(throws: LibraryError.self) { try Library.open(at: folder, passphrase: "pw", create: true) }
    }

    @Test func dedupBySameAlbumOtherAlbumAndRace() throws {
        let (library, _) = try makeLibrary()
        guard case .stored(let id) = try storeItem(library, hash: "h1", album: .uncategorized) else { Issue.record("not stored"); return }
        #expect(try storeItem(library, hash: "h1", album: .uncategorized) == .duplicate(itemId: id))
        #expect(try storeItem(library, hash: "h1", album: .named("Trip")) == .addedToAlbum(itemId: id))
        #expect(try library.index.albumNames(of: id) == ["Trip"])
        #expect(try library.resolveExisting(hash: "h1", album: .named("Trip"), sourceFiles: []) == .duplicate(itemId: id))
        #expect(try library.resolveExisting(hash: "h2", album: .named("Trip"), sourceFiles: []) == nil)
        // The losing commit of a race discards its objects: only the first item's two objects remain.
        #expect(try library.store.list(prefix: "data/").count == 1)
        // The file key opens under either album's wrapping.
        let key = try library.fileKey(of: id)
        let object = try ObjectName(try library.index.originals(of: id)[0].objectName)
        var plain = [UInt8]()
        try library.readDecrypted(object, key: key) { plain.append(contentsOf: $0) }
        #expect(plain == Array("original h1".utf8))
    }

    @Test func removingFromTheLastAlbumMovesToUncategorizedAndDeletingHidesTheItem() throws {
        let (library, _) = try makeLibrary()
        guard case .stored(let id) = try storeItem(library, hash: "h1", album: .named("A")) else { Issue.record("not stored"); return }
        #expect(try storeItem(library, hash: "h1", album: .named("B")) == .addedToAlbum(itemId: id))
        #expect(try library.moveOutOfAlbum(itemId: id, albumName: "A"))
        #expect(try library.index.albumNames(of: id) == ["B"])
        #expect(try library.index.items(inAlbum: "A").isEmpty)
        #expect(try library.moveOutOfAlbum(itemId: id, albumName: "B"))
        #expect(try library.index.albumNames(of: id).isEmpty)
        #expect(try library.index.items().map(\.id) == [id], "still in the library, in Uncategorized")
        var plain = [UInt8]()
        let object = try ObjectName(try library.index.originals(of: id)[0].objectName)
        try library.readDecrypted(object, key: try library.fileKey(of: id)) { plain.append(contentsOf: $0) }
        #expect(plain == Array("original h1".utf8), "the file key opens under Uncategorized's wrapping")
        #expect(try library.moveOutOfAlbum(itemId: id, albumName: "B") == false)

        try library.markDeleted(itemId: id)
        #expect(try library.index.items().isEmpty)
        #expect(try storeItem(library, hash: "h1", album: .uncategorized) == .previouslyDeleted(itemId: id))
        #expect(throws: LibraryEditError.noSuchItem("nope")) { try library.markDeleted(itemId: "nope") }
    }

    @Test func objectsOfAKilledRunAreRemovedByTheNextWriter() throws {
        let (library, _) = try makeLibrary()
        _ = try storeItem(library, hash: "kept", album: .uncategorized)
        let orphan = try library.beginUpload().storeSealed([1, 2, 3], role: .thumbnail)  // stored, never committed
        let (pendingName, writer) = try library.ledger.begin()                          // killed mid-write
        try [9].withUnsafeBytes { try writer.write($0) }
        _ = pendingName
        let (lock, removed) = try library.lockForWriting()
        #expect(removed == 2)
        #expect(try library.store.size(of: orphan) == nil)
        #expect(try library.store.list(prefix: "data/").count == 1)
        #expect(throws: LibraryError.self) { _ = try library.lockForWriting() }
        withExtendedLifetime(lock) {}
    }

    /// The holder names itself in the lock file; a process that waits reads it, and one that gives up leaves it alone.
    @Test func theWriterLockNamesItsHolder() throws {
        let (library, _) = try makeLibrary()
        var lock: WriterLock? = try library.lockForWriting().lock
        let record = try String(contentsOfFile: library.path + "/lock", encoding: .utf8)
        #expect(record.hasPrefix("\(getpid()) "), "\(record)")
        var seen: [LockHolder?] = []
        #expect(throws: LibraryError.self) { _ = try library.lockForWriting(waitingUpTo: .milliseconds(200)) { seen.append($0) } }
        #expect(seen.count == 1 && seen.first??.pid == getpid(), "\(seen)")
        #expect(try String(contentsOfFile: library.path + "/lock", encoding: .utf8) == record, "a waiter that gave up left the record")
        withExtendedLifetime(lock) {}
        lock = nil
        #expect(try String(contentsOfFile: library.path + "/lock", encoding: .utf8).isEmpty, "released: nobody named")
    }

    /// A run killed after its item record reached the store but before its log entry: the index says the objects
    /// are only `stored`, yet the store's record names them. The next writer keeps them and recovers the item.
    @Test func theNextWriterKeepsWhatAnItemRecordInTheStoreNames() throws {
        let (library, _) = try makeLibrary()
        let upload = library.beginUpload()
        let name = try upload.storeSealed(Array("original".utf8), role: .original)
        let digest = try #require(library.ledger.measured(name))
        let item = ItemRecord(id: "recordonly", type: .image, dedupHash: library.keyring.keyedHash("h"), createdAt: Date(), deletedAt: nil,
                              metadataJSON: nil, metadataObject: nil, thumbnailObject: nil, streamObject: nil, playlistObject: nil,
                              stageProblems: nil)
        let original = OriginalRecord(itemId: "recordonly", role: "main", name: "x.jpg", sourcePath: "/x.jpg", size: 8,
                                      blake2b: "h", mimeType: "image/jpeg", objectName: name.path)
        try library.changeLog.putRecord(ItemState(item: item, originals: [original], objects: [
            ObjectDigest(itemId: "recordonly", name: name.path, role: "original", size: digest.size, blake2b: digest.blake2b)
        ], wrappedFileKey: library.keyring.wrapFileKey(upload.fileKey)))
        let (lock, removed) = try library.lockForWriting()
        #expect(removed == 0)
        #expect(try library.store.size(of: name) != nil)
        #expect(try library.index.counts().uncommittedObjects == 0)
        #expect(try library.index.items().map(\.id) == ["recordonly"])
        var plain = [UInt8]()
        try library.readDecrypted(name, key: try library.fileKey(of: "recordonly")) { plain.append(contentsOf: $0) }
        #expect(plain == Array("original".utf8))
        withExtendedLifetime(lock) {}
    }
}

@Suite struct ChangeLogTests {
    /// Two library folders ("machines") on one store.
    func twoMachines() throws -> (Library, Library, MemoryStore) {
        let root = try TestEnvironment.makeTempDirectory().path
        let store = MemoryStore()
        let a = try Library.open(at: root + "/a", store: .memory(store), passphrase: "pw", create: true)
        let b = try Library.open(at: root + "/b", store: .memory(store), passphrase: "pw", create: true)
        return (a, b, store)
    }

    @Test func twoMachinesStoringTheSameBytesSyncToOneItem() throws {
        let (a, b, _) = try twoMachines()
        let first = try LibraryTests().storeItem(a, hash: "same", album: .named("A"))
        _ = try b.sync()
        #expect(try b.index.items().map(\.id) == [first.itemId])
        #expect(try LibraryTests().storeItem(b, hash: "same", album: .named("B")) == .addedToAlbum(itemId: first.itemId))
        _ = try a.sync()
        #expect(try a.index.albumNames(of: first.itemId) == ["A", "B"])
        #expect(try a.index.albumNames(of: first.itemId) == b.index.albumNames(of: first.itemId))
    }

    @Test func aSecondFolderSeesWhatTheFirstAddsAfterItsFirstUseAndNothingWhenNothingChanged() throws {
        let (a, b, _) = try twoMachines()
        #expect(try b.sync().applied == 0)
        let stored = try LibraryTests().storeItem(a, hash: "later", album: .named("Trip"))
        let pulled = try b.sync()
        #expect(pulled.applied == 2, "the album and the item")
        #expect(pulled.problems.isEmpty)
        #expect(try b.index.items(inAlbum: "Trip").map(\.id) == [stored.itemId])
        #expect(try b.sync().applied == 0)
        try a.markDeleted(itemId: stored.itemId)
        _ = try b.sync()
        #expect(try b.index.items().isEmpty)
    }

    /// The same bytes committed on two machines before either saw the other's: both end with one item, the same
    /// one (the smaller id), in the albums of both; the loser's objects are orphans for a repair.
    @Test func theSameBytesOnTwoMachinesAtOnceConvergeOnOneWinner() throws {
        let (a, b, _) = try twoMachines()
        let onA = try LibraryTests().storeItem(a, hash: "same", album: .named("FromA")).itemId
        let onB = try LibraryTests().storeItem(b, hash: "same", album: .named("FromB")).itemId
        #expect(onA != onB)
        _ = try a.sync()
        _ = try b.sync()
        let winner = min(onA, onB), loser = max(onA, onB)
        _ = try a.sync()
        for library in [a, b] {
            #expect(try library.index.items().map(\.id) == [winner])
            #expect(try library.index.albumNames(of: winner) == ["FromA", "FromB"])
            var plain = [UInt8]()
            let object = try ObjectName(try library.index.originals(of: winner)[0].objectName)
            try library.readDecrypted(object, key: try library.fileKey(of: winner)) { plain.append(contentsOf: $0) }
            #expect(plain == Array("original same".utf8))
        }
        // A change naming the loser (a deletion made on its machine before it synced) applies to the winner.
        let c = try Library.open(at: try TestEnvironment.makeTempDirectory().path + "/c", store: .memory(a.store as! MemoryStore),
                                 passphrase: "pw", create: false)
        #expect(try c.index.items().map(\.id) == [winner])
        #expect(try c.index.albumNames(of: winner) == ["FromA", "FromB"])
        let loserObjects = try #require(try c.changeLog.readRecord(ItemRecordName.objectName(itemId: loser))).referencedObjects
        // (readData false: the test's originals carry made-up plaintext hashes.)
        let report = try Verifier(library: c).run(readData: false, grace: .zero)
        #expect(report.isClean, "\(report.problems)")
        #expect(Set(report.orphans) == Set(loserObjects))
    }

    /// A deletion made on a machine before it saw that its item lost its bytes to another machine's applies to the
    /// winner, on every machine, in either order.
    @Test func aDeletionOfTheLosingItemDeletesTheWinner() throws {
        let (a, b, _) = try twoMachines()
        _ = try LibraryTests().storeItem(a, hash: "same", album: .named("A"))
        let onB = try LibraryTests().storeItem(b, hash: "same", album: .named("B")).itemId
        try b.markDeleted(itemId: onB)
        _ = try a.sync()
        _ = try b.sync()
        #expect(try a.index.items().isEmpty)
        #expect(try b.index.items().isEmpty)
        #expect(try a.index.allItems().map(\.id) == b.index.allItems().map(\.id))
    }
}
