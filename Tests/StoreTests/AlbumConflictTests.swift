import Foundation
@testable import Store
import Testing
import TestSupport

/// The conflict rules of album editing (docs/store-format.md, "Conflicts"), one pair of edits at a time: A and B
/// are two library folders on one store that edit without seeing each other's edits, then sync. A applies its own
/// entries then B's, B the other way round; C is rebuilt from the log alone (entries in time order) and D from a
/// checkpoint A wrote before it saw B's edits plus B's entries after it. All four must end the same, and A's and B's
/// `sync` say which edits lost.
@Suite struct AlbumConflictTests {
    struct Machines {
        var a: Library
        var b: Library
        var root: String
        var store: MemoryStore
    }

    func machines() throws -> Machines {
        let root = try TestEnvironment.makeTempDirectory().path
        let store = MemoryStore()
        let a = try Library.open(at: root + "/a", store: .memory(store), passphrase: "pw", create: true)
        let b = try Library.open(at: root + "/b", store: .memory(store), passphrase: "pw", create: true)
        return Machines(a: a, b: b, root: root, store: store)
    }

    func store(_ library: Library, _ hash: String, _ album: AlbumTarget = .uncategorized) throws -> String {
        try LibraryTests().storeItem(library, hash: hash, album: album).itemId
    }

    /// Entry times are compared to the millisecond: an edit made after this is later than every edit before it.
    func later() { Thread.sleep(forTimeInterval: 0.005) }

    /// The library as `album ls` and `ls` show it.
    func view(_ library: Library) throws -> [String] {
        var lines = try library.albumSummaries().map { "album \($0.name): \($0.items)" }
        for item in try library.index.allItems() {
            lines.append("item \(item.id) \(item.deletedAt == nil ? "live" : "deleted") in \(try library.index.albumNames(of: item.id))")
        }
        for summary in try library.albumSummaries() {
            lines.append("\(summary.name) holds \(try library.index.items(inAlbum: summary.name).map(\.id))")
        }
        return lines
    }

    /// Brings A and B together (see the suite) and checks that all four folders agree; returns what they show and
    /// what A's and B's syncs said lost.
    func converge(_ m: Machines) throws -> (view: [String], a: [SupersededEdit], b: [SupersededEdit]) {
        let c = try Library.open(at: m.root + "/c", store: .memory(m.store), passphrase: "pw", create: false)
        try m.a.changeLog.writeCheckpoint()
        let d = try Library.open(at: m.root + "/d", store: .memory(m.store), passphrase: "pw", create: false)
        let syncedA = try m.a.sync()
        // On B another command's pull applies A's entries first; `sync` still reports what lost, once.
        _ = try m.b.lockForWriting()
        let syncedB = try m.b.sync()
        #expect(syncedA.problems.isEmpty && syncedB.problems.isEmpty)
        #expect(try m.a.sync().superseded.isEmpty && m.b.sync().superseded.isEmpty)
        #expect(try c.sync().superseded.isEmpty && d.sync().superseded.isEmpty, "a rebuilt folder does not report old conflicts")
        let seen = try view(m.a)
        #expect(try view(m.b) == seen, "B applied B's edits then A's, A the other way round")
        #expect(try view(c) == seen, "rebuilt from the log")
        #expect(try view(d) == seen, "rebuilt from A's checkpoint and B's entries after it")
        return (seen, syncedA.superseded, syncedB.superseded)
    }

    @Test func renameOnOneAndAddOnTheOtherKeepsBoth() throws {
        let m = try machines()
        let x = try store(m.a, "x", .named("Trip")), y = try store(m.a, "y")
        _ = try m.b.sync()
        try m.a.renameAlbum("Trip", to: "Holiday")
        later()
        try m.b.addToAlbum("Trip", itemId: y)
        let result = try converge(m)
        #expect(result.view.filter { $0.hasPrefix("album") } == ["album Holiday: 2"])
        #expect(try m.a.index.items(inAlbum: "Holiday").map(\.id).sorted() == [x, y].sorted())
        #expect(result.a.isEmpty && result.b.isEmpty)
    }

    @Test func twoRenamesAtOnceKeepTheLaterWhateverTheOrder() throws {
        let m = try machines()
        _ = try store(m.a, "x", .named("Trip"))
        _ = try m.b.sync()
        try m.a.renameAlbum("Trip", to: "Paris")
        later()
        try m.b.renameAlbum("Trip", to: "Berlin")
        let result = try converge(m)
        // A applied Paris then Berlin, B Berlin then Paris: neither "first applied" nor "last applied" gives both Berlin.
        #expect(result.view.filter { $0.hasPrefix("album") } == ["album Berlin: 1"])
        let note = "the album 'Trip' was renamed to 'Paris' and, at the same time elsewhere, to 'Berlin': 'Berlin', the later rename, is kept"
        #expect(result.a.map(\.description) == [note])
        #expect(result.b.map(\.description) == [note])
    }

    @Test func oneNameMadeOnBothIsOneAlbum() throws {
        let m = try machines()
        let x = try store(m.a, "x"), y = try store(m.a, "y")
        _ = try m.b.sync()
        try m.a.createAlbum(named: "Trip")
        try m.b.createAlbum(named: "Trip")
        try m.a.addToAlbum("Trip", itemId: x)
        try m.b.addToAlbum("Trip", itemId: y)
        let result = try converge(m)
        #expect(result.view.filter { $0.hasPrefix("album") } == ["album Trip: 2"])
        #expect(try m.b.index.items(inAlbum: "Trip").map(\.id).sorted() == [x, y].sorted())
        #expect(try m.a.index.userAlbums(named: "Trip").count == 2, "both albums are kept; they list as one")
        // Edited by name, they stay one: a rename renames both, an add finds the item in either.
        #expect(try !m.b.addToAlbum("Trip", itemId: x))
        try m.b.renameAlbum("Trip", to: "Rome")
        _ = try m.a.sync()
        #expect(try m.a.albumSummaries() == [AlbumSummary(name: "Rome", items: 2)])
    }

    @Test func deletingAnAlbumWhileTheOtherAddsToItWinsAndLosesNoItem() throws {
        let m = try machines()
        let x = try store(m.a, "x", .named("Trip")), y = try store(m.a, "y")
        _ = try m.b.sync()
        try m.a.deleteAlbum("Trip")
        later()
        try m.b.addToAlbum("Trip", itemId: y)
        let result = try converge(m)
        #expect(result.view.filter { $0.hasPrefix("album") } == ["album Uncategorized: 2"])
        #expect(try m.b.index.items(inAlbum: "Uncategorized").map(\.id).sorted() == [x, y].sorted())
        #expect(result.a.map(\.itemId) == [y], "A learns that B's add lost")
        #expect(result.b.map(\.itemId) == [y], "B learns that its add lost")
        // The deleted album does not come back: a new one of that name is a new album.
        try m.b.createAlbum(named: "Trip")
        #expect(try m.b.albumSummaries().first == AlbumSummary(name: "Trip", items: 0))
    }

    @Test func anItemDeletedOnOneAndAddedToAnAlbumOnTheOtherEndsDeleted() throws {
        let m = try machines()
        let x = try store(m.a, "x")
        _ = try store(m.a, "other", .named("Trip"))
        _ = try m.b.sync()
        try m.a.markDeleted(itemId: x)
        later()
        try m.b.addToAlbum("Trip", itemId: x)
        let result = try converge(m)
        #expect(result.view.contains("item \(x) deleted in [\"Trip\"]"))
        #expect(try m.a.index.items(inAlbum: "Trip").count == 1)
        #expect(result.a.map(\.itemId) == [x])
        // Re-upload protection holds on both.
        #expect(try LibraryTests().storeItem(m.a, hash: "x", album: .uncategorized) == .previouslyDeleted(itemId: x))
        #expect(try LibraryTests().storeItem(m.b, hash: "x", album: .uncategorized) == .previouslyDeleted(itemId: x))
    }

    @Test func aRemovalLaterThanAnAddMadeAtTheSameTimeWins() throws {
        let m = try machines()
        let x = try store(m.a, "x")
        _ = try store(m.a, "other", .named("Trip"))
        _ = try m.b.sync()
        try m.a.addToAlbum("Trip", itemId: x)
        try m.b.addToAlbum("Trip", itemId: x)
        later()
        try m.a.removeFromAlbum("Trip", itemId: x)
        let result = try converge(m)
        #expect(result.view.contains("item \(x) live in []"))
        #expect(result.view.contains("Uncategorized holds [\"\(x)\"]"))
        #expect(result.a.map(\.itemId) == [x], "A read B's add after its own later removal")
    }

    @Test func anAddLaterThanARemovalMadeAtTheSameTimeWins() throws {
        let m = try machines()
        let x = try store(m.a, "x", .named("Trip"))
        _ = try m.b.sync()
        try m.a.removeFromAlbum("Trip", itemId: x)
        later()
        try m.b.removeFromAlbum("Trip", itemId: x)
        later()
        try m.b.addToAlbum("Trip", itemId: x)
        let result = try converge(m)
        #expect(result.view.contains("item \(x) live in [\"Trip\"]"))
        #expect(result.b.map(\.itemId) == [x], "B read A's removal after its own later add")
    }

    @Test func editsMadeAfterSeeingAnEntryFromAClockAheadAllTakeEffect() throws {
        let m = try machines()
        let x = try store(m.a, "x")
        // A head of another writer whose clock runs a minute ahead, at a time within a millisecond: every edit A makes
        // next is named after it, one right after the other, and each must still be later than the one before.
        let ahead = Date(timeIntervalSinceNow: 60).addingTimeInterval(0.000_7)
        try m.a.index.write { db in
            try m.a.index.advance(writer: "00000000000000aa", to: LogHead(sequence: 1, hash: "", time: ahead.microseconds, device: nil), in: db)
        }
        try m.a.createAlbum(named: "Trip")
        try m.a.renameAlbum("Trip", to: "Alps")
        try m.a.addToAlbum("Alps", itemId: x)
        try m.a.removeFromAlbum("Alps", itemId: x)
        #expect(try m.a.albumSummaries() == [AlbumSummary(name: "Alps", items: 0), AlbumSummary(name: "Uncategorized", items: 1)])
    }

    @Test func editsNameExistingAlbumsAndItems() throws {
        let m = try machines()
        let x = try store(m.a, "x")
        #expect(throws: LibraryEditError.noSuchAlbum("Trip")) { try m.a.addToAlbum("Trip", itemId: x) }
        try m.a.createAlbum(named: " Trip ")
        #expect(throws: LibraryEditError.albumExists("Trip")) { try m.a.createAlbum(named: "Trip") }
        #expect(throws: LibraryEditError.self) { try m.a.createAlbum(named: "uncategorized") }
        #expect(throws: LibraryEditError.self) { try m.a.renameAlbum("Trip", to: "") }
        #expect(throws: LibraryEditError.noSuchItem("nope")) { try m.a.addToAlbum("Trip", itemId: "nope") }
        #expect(try m.a.addToAlbum("Trip", itemId: x))
        #expect(try !m.a.addToAlbum("Trip", itemId: x))
        try m.a.markDeleted(itemId: x)
        #expect(try m.a.removeFromAlbum("Trip", itemId: x))
        #expect(throws: LibraryEditError.itemDeleted(x)) { try m.a.addToAlbum("Trip", itemId: x) }
    }
}
