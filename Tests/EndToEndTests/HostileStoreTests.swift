import Foundation
import KeepsakeCrypto
@testable import Store
import Testing
import TestSupport

/// A store that holds something it should not: each case is reported, and none keeps the rest of the library from
/// coming back (issue 14's hostile-store suite, as far as format 1 goes).
@Suite(.serialized) struct HostileStoreTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func listedIds(_ library: String) throws -> (status: Int32, ids: Set<String>, stderr: String) {
        let result = try Keepsake.run(["ls", "--json", "--library", library])
        let ids = result.stdoutText.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }
        return (result.status, Set(ids), result.stderrText)
    }

    @Test func aJunkJournalEntryIsReportedAndEverythingElseIsRebuilt() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-junk")
        defer { try? FileManager.default.removeItem(at: root) }
        let photos = root.appendingPathComponent("photos").path
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: false)
        for name in ["iphone/androidx-media__tokyo.jpg", "android/androidx-media__london.jpg"] {
            try FileManager.default.copyItem(atPath: samples + "/" + name, toPath: photos + "/" + (name as NSString).lastPathComponent)
        }
        let library = root.appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", photos, "--library", library, "--album", "Trip"]).status == 0)
        let before = try listedIds(library)
        #expect(before.ids.count == 2)

        // 100 bytes of junk where a journal entry would be, then a new machine: only the store is left.
        let junkName = String(repeating: "ab", count: 16)
        try Data((0..<100).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: library + "/store/index/" + junkName))
        for file in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] { try? FileManager.default.removeItem(atPath: library + "/" + file) }

        let after = try listedIds(library)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.ids == before.ids)
        #expect(after.stderr.contains("index/\(junkName): journal entry cannot be read"), "\(after.stderr)")

        // `verify` names it, and `--repair` keeps it (it may be another machine's, written by a newer keepsake).
        let verify = try Keepsake.run(["verify", "--read-data", "--repair", "--grace", "0", "--library", library])
        #expect(verify.stdoutText.contains(junkName), "\(verify.stdoutText)")
        #expect(FileManager.default.fileExists(atPath: library + "/store/index/" + junkName))
        // Every object of both items is still there and reads back.
        let export = try Keepsake.run(["export", "--to", root.appendingPathComponent("out").path, "--library", library])
        #expect(export.status == 0, "\(export.stdoutText)\(export.stderrText)")
        for name in ["androidx-media__tokyo.jpg", "androidx-media__london.jpg"] {
            #expect(FileManager.default.contentsEqual(atPath: photos + "/" + name, andPath: root.appendingPathComponent("out/Trip/" + name).path))
        }
    }
}

/// The backends issue 14's hostile-store suite runs on: a library folder's own `store/` (one writer), and one S3
/// prefix on the tests' moto server that two library folders write into (two writers).
enum HostileBackend: String, CaseIterable, Sendable { case localFolder, s3TwoFolders }

/// A small library under attack. Folder `a` ingested two photos into the album "Trip" (and, when asked, a video
/// with its stream); on S3 a second folder `b` then ingested a third photo into the same prefix. `store` reaches the
/// store's objects directly, as a hostile server would.
struct HostileLibrary {
    static let media = TestEnvironment.samples.appendingPathComponent("media").path
    static let photos = ["iphone/androidx-media__tokyo.jpg", "android/androidx-media__london.jpg"].map { media + "/" + $0 }
    static let clip = media + "/android/androidx-media__sample_sef_slow_motion.mp4"
    static let passphrase = "test passphrase"

    let backend: HostileBackend
    let root: String
    let inputs: String
    let a: String
    let environment: [String: String]
    let location: StoreLocation
    let store: any ObjectStore
    /// Folder `a`'s writer id (the middle field of its log entries' names).
    let writer: String
    /// Every item id `ls --json` listed before the attack.
    let ids: Set<String>

    init(_ backend: HostileBackend, withVideo: Bool = false) throws {
        self.backend = backend
        root = try TestEnvironment.makeTempDirectory("hostile").path
        inputs = root + "/in"
        a = root + "/a"
        try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: false)
        for photo in Self.photos + (withVideo ? [Self.clip] : []) {
            try FileManager.default.copyItem(atPath: photo, toPath: inputs + "/" + (photo as NSString).lastPathComponent)
        }
        switch backend {
        case .localFolder:
            environment = [:]
            location = .libraryFolder
        case .s3TwoFolders:
            let moto = try MotoServer.shared()
            let url = "s3://keepsake-hostile-\(ObjectID.random().hex.prefix(8))/lib"
            environment = MotoServer.environment.merging(["KEEPSAKE_STORE": url, "AWS_ENDPOINT_URL": moto.endpoint]) { $1 }
            location = .s3(try S3Configuration(url: url, endpoint: moto.endpoint, environment: MotoServer.environment))
        }
        let ingest = try Keepsake.run(["ingest", inputs, "--library", a, "--album", "Trip"], environment: environment)
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let library = try Library.open(at: a, store: location, passphrase: Self.passphrase, create: false)
        writer = library.changeLog.writer
        store = library.store
        var expected = Set(try library.index.allItems().map(\.id))
        if backend == .s3TwoFolders {
            let b = root + "/b"
            let other = try Keepsake.run(["ingest", Self.media + "/cameras/osxphotos__Tulips.jpg", "--library", b], environment: environment)
            #expect(other.status == 0, "\(other.stdoutText)\(other.stderrText)")
            let fromB = try Library.open(at: b, store: location, passphrase: Self.passphrase, create: false)
            #expect(fromB.changeLog.writer != writer)
            expected.formUnion(try fromB.index.allItems().map(\.id))
        }
        ids = expected
        #expect(ids.count == Self.photos.count + (withVideo ? 1 : 0) + (backend == .s3TwoFolders ? 1 : 0))
        #expect(try listed(a).ids == ids, "a sees every item before the attack")
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    func run(_ arguments: [String]) throws -> ProcessResult {
        try Keepsake.run(arguments, environment: environment)
    }

    func listed(_ library: String) throws -> (status: Int32, ids: Set<String>, stderr: String) {
        let result = try run(["ls", "--json", "--library", library])
        let ids = result.stdoutText.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }
        return (result.status, Set(ids), result.stderrText)
    }

    func verify(_ library: String, readData: Bool = false) throws -> ProcessResult {
        try run(["verify", "--library", library] + (readData ? ["--read-data"] : []))
    }

    /// A library folder on a new machine: nothing but the store (for a local store, a copy of it).
    func newMachine() throws -> String {
        let folder = root + "/new-\(UUID().uuidString.prefix(6))"
        if backend == .localFolder {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            try FileManager.default.copyItem(atPath: Library.storePath(library: a), toPath: Library.storePath(library: folder))
        }
        return folder
    }

    /// Folder `a`'s log entries, in sequence.
    func entries() throws -> [LogEntryName] {
        try store.list(prefix: LogEntryName.prefix).compactMap(LogEntryName.init).filter { $0.writer == writer }
            .sorted { $0.sequence < $1.sequence }
    }

    /// The name folder `a`'s next entry would have.
    func nextEntryName() throws -> ObjectName {
        LogEntryName(time: Date().microseconds, writer: writer, sequence: (try entries().last?.sequence ?? 0) + 1).objectName
    }

    /// The id of the item whose original is called `name`, as `ls --json` lists it.
    func id(of name: String) throws -> String {
        let result = try run(["ls", "--json", "--library", a])
        for line in result.stdoutText.split(separator: "\n") {
            let item = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if (item["originals"] as? [[String: Any]])?.contains(where: { $0["name"] as? String == name }) == true { return item["id"] as! String }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "no item holds \(name)"])
    }

    func open() throws -> Library { try Library.open(at: a, store: location, passphrase: Self.passphrase, create: false) }

    /// A new machine lists every item of `expected` and nothing else, and says what it skipped on stderr.
    func expectNewMachineRecovers(_ expected: Set<String>? = nil, reporting mentions: [String],
                                  sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let folder = try newMachine()
        let listing = try listed(folder)
        #expect(listing.status == 0, "\(listing.stderr)", sourceLocation: sourceLocation)
        #expect(listing.ids == expected ?? ids, "\(listing.stderr)", sourceLocation: sourceLocation)
        for mention in mentions {
            #expect(listing.stderr.contains(mention), "stderr should name \(mention): \(listing.stderr)", sourceLocation: sourceLocation)
        }
        return folder
    }

    /// `verify` reports a problem naming each of `mentions`.
    func expectVerifyReports(_ library: String, readData: Bool = false, _ mentions: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try verify(library, readData: readData)
        #expect(result.status == 1, "\(result.stdoutText)\(result.stderrText)", sourceLocation: sourceLocation)
        let problems = result.stdoutText.split(separator: "\n").filter { $0.contains("PROBLEM") }
        for mention in mentions {
            #expect(problems.contains { $0.contains(mention) }, "verify should name \(mention): \(result.stdoutText)",
                    sourceLocation: sourceLocation)
        }
    }
}

/// Issue 14's hostile store, on both backends: a junk entry, a dropped entry, a replayed entry, an entry from a
/// foreign library, a swapped pair of objects, a flipped byte in a stream, a damaged checkpoint. Each is reported by
/// `verify` (by name) and by the command that meets it, none keeps a new machine from rebuilding everything else,
/// and none is applied.
@Suite(.serialized) struct HostileStoreSuite {
    @Test(arguments: HostileBackend.allCases) func junkUnderLogIsReportedOnceAndNeverBlocksARebuild(_ backend: HostileBackend) throws {
        let library = try HostileLibrary(backend)
        defer { library.remove() }
        // Junk under a well-formed entry name of a writer no one knows, and junk under a name that is no entry's.
        let junkEntry = LogEntryName(time: Date().microseconds, writer: randomBytes(8).hexString, sequence: 1).objectName
        let junkName = try ObjectName("log/not-an-entry")
        for name in [junkEntry, junkName] { try library.store.put(name, bytes: randomBytes(100)) }

        let first = try library.listed(library.a)
        #expect(first.status == 0 && first.ids == library.ids, "\(first.stderr)")
        #expect(first.stderr.contains(junkEntry.path) && first.stderr.contains(junkName.path), "\(first.stderr)")
        #expect(!(try library.listed(library.a).stderr.contains("log/")), "reported once, not on every command")
        try library.expectVerifyReports(library.a, [junkEntry.path, junkName.path])
        let folder = try library.expectNewMachineRecovers(reporting: [junkEntry.path, junkName.path])

        // A repair keeps them (they may be a newer keepsake's) and so removes nothing while they are there.
        let dataBefore = try library.store.list(prefix: "data/")
        let repair = try library.run(["verify", "--repair", "--grace", "0", "--library", folder])
        #expect(repair.status == 1, "\(repair.stdoutText)")
        #expect(try library.store.size(of: junkEntry) != nil && library.store.size(of: junkName) != nil)
        #expect(try library.store.list(prefix: "data/") == dataBefore)
        // The writer whose log holds junk keeps writing.
        let ingest = try library.run(["ingest", HostileLibrary.media + "/cameras/osxphotos__wedding.jpg", "--library", library.a])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        #expect(try library.listed(library.a).ids.count == library.ids.count + 1)
    }

    /// Which of folder `a`'s three entries (the album "Trip", then its two items) the store loses.
    enum Dropped: String, CaseIterable, Sendable { case first, middle, last }

    @Test(arguments: HostileBackend.allCases, Dropped.allCases)
    func aDroppedEntryIsReportedAndItsItemComesBackFromItsRecord(_ backend: HostileBackend, _ dropped: Dropped) throws {
        let library = try HostileLibrary(backend)
        defer { library.remove() }
        let entries = try library.entries()
        #expect(entries.count == 3, "an album and two items: \(entries.map(\.objectName.path))")
        let victim = switch dropped {
        case .first: entries[0]
        case .middle: entries[1]
        case .last: entries[entries.count - 1]
        }
        try library.store.delete(victim.objectName)
        let missing = "entries \(victim.sequence)…\(victim.sequence) of writer \(library.writer)"

        // The folder that applied it knows it is gone; so does any reader when a later entry follows the gap.
        try library.expectVerifyReports(library.a, [missing])
        // Without the album's entry its key is lost: its items come back in no album, readable by their own key.
        let folder = try library.expectNewMachineRecovers(reporting: dropped == .last ? ["items/"] : [missing])
        if dropped != .last { try library.expectVerifyReports(folder, [missing]) }
        // Every object of every item is still named: nothing is an orphan.
        let repair = try library.run(["verify", "--read-data", "--repair", "--grace", "0", "--library", folder])
        #expect(!repair.stdoutText.contains("removed"), "\(repair.stdoutText)")
        #expect(try library.listed(try library.newMachine()).ids == library.ids)
        guard dropped == .last else { return }
        // A new machine cannot know of a lost last entry until its writer writes again; from then on, every reader does.
        let ingest = try library.run(["ingest", HostileLibrary.media + "/cameras/osxphotos__wedding.jpg", "--library", library.a])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let later = try library.newMachine()
        let listing = try library.listed(later)
        #expect(listing.ids.count == library.ids.count + 1 && listing.stderr.contains(missing), "\(listing.stderr)")
        try library.expectVerifyReports(later, [missing])
    }

    @Test(arguments: HostileBackend.allCases) func aReplayedDeletionIsReportedAndDeletesNothing(_ backend: HostileBackend) throws {
        let library = try HostileLibrary(backend)
        defer { library.remove() }
        let victim = try library.id(of: "androidx-media__tokyo.jpg")
        #expect(try library.run(["rm", victim, "--library", library.a]).status == 0)
        #expect(try library.listed(library.a).ids == library.ids.subtracting([victim]), "rm deletes it")
        let deletion = try #require(try library.entries().last)
        let reupload = try library.run(["ingest", library.inputs, "--library", library.a, "--reupload-deleted"])
        #expect(reupload.status == 0, "\(reupload.stdoutText)\(reupload.stderrText)")
        #expect(try library.listed(library.a).ids == library.ids, "the reupload restores it")

        // The deletion's bytes again, as the writer's next entry.
        let replayed = try library.nextEntryName()
        try library.store.put(replayed, bytes: try library.store.get(deletion.objectName))

        let listing = try library.listed(library.a)
        #expect(listing.status == 0 && listing.ids == library.ids, "the replay deletes nothing: \(listing.stderr)")
        #expect(listing.stderr.contains(replayed.path), "\(listing.stderr)")
        try library.expectVerifyReports(library.a, [replayed.path])
        _ = try library.expectNewMachineRecovers(reporting: [replayed.path])
        // The writer whose next name was taken keeps writing, and its new entries are read.
        let ingest = try library.run(["ingest", HostileLibrary.media + "/cameras/osxphotos__wedding.jpg", "--library", library.a])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        #expect(try library.listed(try library.newMachine()).ids.count == library.ids.count + 1)
    }

    @Test(arguments: HostileBackend.allCases) func anEntryOfAnotherLibraryIsReportedAndNotApplied(_ backend: HostileBackend) throws {
        let library = try HostileLibrary(backend)
        defer { library.remove() }
        // Another library (same passphrase, its own master key) with one item.
        let other = library.root + "/other"
        #expect(try Keepsake.run(["ingest", HostileLibrary.media + "/cameras/osxphotos__wedding.jpg", "--library", other]).status == 0)
        let foreignStore = try LocalFolderStore(root: Library.storePath(library: other))
        let foreignIds = try Library.open(at: other, passphrase: HostileLibrary.passphrase, create: false).index.allItems().map(\.id)
        #expect(foreignIds.count == 1)
        let foreign = try #require(try foreignStore.list(prefix: LogEntryName.prefix).compactMap(LogEntryName.init).max { $0.sequence < $1.sequence })
        try library.store.put(foreign.objectName, bytes: try foreignStore.get(foreign.objectName))

        let listing = try library.listed(library.a)
        #expect(listing.status == 0 && listing.ids == library.ids, "\(listing.stderr)")
        #expect(listing.stderr.contains(foreign.objectName.path), "\(listing.stderr)")
        try library.expectVerifyReports(library.a, [foreign.objectName.path])
        _ = try library.expectNewMachineRecovers(reporting: [foreign.objectName.path])
    }

    @Test(arguments: HostileBackend.allCases) func objectsSwappedWithinAnItemAreReportedAndNeverServed(_ backend: HostileBackend) throws {
        let library = try HostileLibrary(backend)
        defer { library.remove() }
        let itemId = try library.id(of: "androidx-media__london.jpg")
        let digests = try library.open().index.digests(of: itemId)
        let thumbnail = try ObjectName(try #require(digests.first { $0.role == "thumbnail" }).name)
        let original = try ObjectName(try #require(digests.first { $0.role == "original" }).name)
        let (thumbnailBytes, originalBytes) = (try library.store.get(thumbnail), try library.store.get(original))
        try library.store.put(thumbnail, bytes: originalBytes)
        try library.store.put(original, bytes: thumbnailBytes)

        try library.expectVerifyReports(library.a, readData: true, [thumbnail.path, original.path])
        let folder = try library.expectNewMachineRecovers(reporting: [])
        try library.expectVerifyReports(folder, readData: true, [thumbnail.path, original.path])
        let jpeg = library.root + "/thumb.jpg"
        let thumb = try library.run(["thumb", itemId, "--to", jpeg, "--library", folder])
        #expect(thumb.status == 3 && thumb.stderrText.contains(thumbnail.path), "\(thumb.stdoutText)\(thumb.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: jpeg))
        // The other items export whole.
        let out = library.root + "/out"
        let export = try library.run(["export", "--to", out, "--library", folder])
        #expect(export.status != 0, "the swapped original is refused")
        #expect(FileManager.default.contentsEqual(atPath: HostileLibrary.photos[0], andPath: out + "/Trip/androidx-media__tokyo.jpg"))
        #expect(!FileManager.default.fileExists(atPath: out + "/Trip/androidx-media__london.jpg"))
    }

    @Test(arguments: HostileBackend.allCases) func aFlippedByteInAStreamIsReportedAndRefused(_ backend: HostileBackend) throws {
        let library = try HostileLibrary(backend, withVideo: true)
        defer { library.remove() }
        let video = try #require(try library.open().index.allItems().first { $0.streamObject != nil })
        let stream = try ObjectName(try #require(video.streamObject))
        var bytes = try library.store.get(stream)
        bytes[bytes.count / 2] ^= 0x01
        try library.store.put(stream, bytes: bytes)

        try library.expectVerifyReports(library.a, readData: true, [stream.path])
        let folder = try library.expectNewMachineRecovers(reporting: [])
        try library.expectVerifyReports(folder, readData: true, [stream.path])
        let out = library.root + "/hls"
        let result = try library.run(["stream", video.id, "--to", out, "--library", folder])
        #expect(result.status == 3 && result.stderrText.contains(stream.path), "\(result.stdoutText)\(result.stderrText)")
    }

    enum CheckpointDamage: String, CaseIterable, Sendable { case partCutShort, partMissing }

    @Test(arguments: HostileBackend.allCases, CheckpointDamage.allCases)
    func aDamagedCheckpointIsReportedAndTheRebuildUsesTheLog(_ backend: HostileBackend, _ damage: CheckpointDamage) throws {
        let library = try HostileLibrary(backend)
        defer { library.remove() }
        // A sound checkpoint, then a newer one in two parts (as a library of more than 2000 items writes it).
        let opened = try library.open()
        defer { withExtendedLifetime(opened) {} }
        try opened.changeLog.writeCheckpoint()
        let time = Date()
        let whole = try opened.index.checkpointParts(time: time)
        #expect(whole.count == 1 && whole[0].items.count == library.ids.count)
        var first = whole[0]
        first.items = Array(whole[0].items.prefix(1))
        let parts = [first, CheckpointPart(time: time, items: Array(whole[0].items.dropFirst()))]
        let names = (0..<2).map { CheckpointName(time: time.microseconds, writer: library.writer, part: $0, parts: 2) }
        for (name, part) in zip(names, parts) {
            try library.store.put(name.objectName, bytes: try opened.keyring.seal(part, kind: .checkpoint, name: name.objectName))
        }
        let checkpoint = CheckpointName.prefix + names[0].base
        // Sound as written: a new machine rebuilds from it without a word.
        let sound = try library.listed(try library.newMachine())
        #expect(sound.status == 0 && sound.ids == library.ids && !sound.stderr.contains("checkpoint"), "\(sound.stderr)")

        let damaged = names[1].objectName
        switch damage {
        case .partCutShort: try library.store.put(damaged, bytes: Array(try library.store.get(damaged).dropLast(40)))
        case .partMissing: try library.store.delete(damaged)
        }
        try library.expectVerifyReports(library.a, [checkpoint])
        if damage == .partCutShort { try library.expectVerifyReports(library.a, [damaged.path]) }
        _ = try library.expectNewMachineRecovers(reporting: [checkpoint])
        // With the sound one gone too, the log alone rebuilds everything.
        for name in try library.store.list(prefix: CheckpointName.prefix) where !name.path.hasPrefix(checkpoint) {
            try library.store.delete(name)
        }
        _ = try library.expectNewMachineRecovers(reporting: [checkpoint])
    }

    /// A change naming an album or an item the index does not hold (the entry that made it was lost) applies as far
    /// as it can, and never stops the rest of a pull or rebuild.
    @Test func aChangeNamingAnAlbumOrItemTheIndexLacksAppliesAsFarAsItCan() throws {
        let folder = try TestEnvironment.makeTempDirectory("lacking").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let index = try LibraryIndex(path: folder + "/index.sqlite")
        let unknown = Membership(albumId: "album-from-a-lost-entry", wrappedFileKey: Data(repeating: 1, count: 72))
        try index.write { db in
            try index.apply(.albumRemoval(itemId: "item-from-a-lost-entry", albumId: "album", uncategorized: unknown), at: Date(), in: db)
            try index.apply(.membership(itemId: "item-from-a-lost-entry", unknown), at: Date(), in: db)
        }
        #expect(try index.allItemIds().isEmpty)
    }
}
