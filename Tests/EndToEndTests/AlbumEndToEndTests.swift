import Foundation
import Testing
import TestSupport

/// `keepsake album` as a user runs it on one library: create, add, rename, remove, delete, and what `ls` and
/// `album ls` show after each; then the same listing from an index rebuilt from the store alone.
@Suite(.serialized) struct AlbumEndToEndTests {
    func run(_ arguments: [String], library: String, status: Int32 = 0) throws -> String {
        let result = try Keepsake.run(arguments + ["--library", library])
        #expect(result.status == status, "\(arguments): \(result.stderrText)")
        return status == 0 ? result.stdoutText : result.stderrText
    }

    func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// Item id → its `albums` in `ls --json`.
    func albums(_ library: String) throws -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: try lines(try run(["ls", "--json"], library: library)).map {
            ($0["id"] as! String, $0["albums"] as! [String])
        })
    }

    func ids(_ library: String, album: String) throws -> Set<String> {
        Set(try lines(try run(["ls", "--json", "--album", album], library: library)).map { $0["id"] as! String })
    }

    func albumList(_ library: String) throws -> [String] {
        try lines(try run(["album", "ls", "--json"], library: library)).map { "\($0["name"]!): \($0["items"]!)" }
    }

    @Test func createAddRenameRemoveDeleteAndList() throws {
        let root = try TestEnvironment.makeTempDirectory()
        let source = root.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        for name in ["android/androidx-media__london.jpg", "cameras/osxphotos__Tulips.jpg", "cameras/osxphotos__Pumkins1.jpg"] {
            try FileManager.default.copyItem(at: TestEnvironment.samples.appendingPathComponent("media/" + name),
                                             to: source.appendingPathComponent((name as NSString).lastPathComponent))
        }
        let library = root.appendingPathComponent("library").path
        _ = try run(["ingest", source.path], library: library)
        let all = try albums(library)
        #expect(all.count == 3)
        #expect(all.values.allSatisfy { $0 == ["Uncategorized"] }, "ls --json names Uncategorized for an item in no album")
        #expect(try ids(library, album: "Uncategorized") == Set(all.keys))
        let sorted = all.keys.sorted(), (a, b, c) = (sorted[0], sorted[1], sorted[2])

        _ = try run(["album", "create", "Trip"], library: library)
        #expect(try run(["album", "create", "Trip"], library: library, status: 2).contains("exists already"))
        #expect(try run(["album", "create", "Uncategorized"], library: library, status: 2).contains("cannot name an album"))
        #expect(try albumList(library) == ["Trip: 0", "Uncategorized: 3"])

        _ = try run(["album", "add", "Trip", a, b], library: library)
        #expect(try ids(library, album: "Trip") == [a, b])
        #expect(try ids(library, album: "Uncategorized") == [c])
        #expect(try run(["album", "add", "Nowhere", a], library: library, status: 2).contains("no album 'Nowhere'"))
        #expect(try run(["album", "add", "Trip", "0123456789abcdef"], library: library, status: 2).contains("no item"))

        _ = try run(["album", "rename", "Trip", "Holiday"], library: library)
        #expect(try albums(library)[a] == ["Holiday"])
        #expect(try ids(library, album: "Trip").isEmpty)

        _ = try run(["album", "remove", "Holiday", a], library: library)
        #expect(try albums(library)[a] == ["Uncategorized"])
        #expect(try ids(library, album: "Uncategorized") == [a, c])
        #expect(try albumList(library) == ["Holiday: 1", "Uncategorized: 2"])
        #expect(try run(["album", "ls"], library: library) == "Holiday  (1 item)\nUncategorized  (2 items)\n")

        _ = try run(["album", "delete", "Holiday"], library: library)
        #expect(try albumList(library) == ["Uncategorized: 3"], "deleting an album deletes no item")
        #expect(try albums(library) == all)

        // What the commands wrote is in the store: an index rebuilt from it lists the same.
        _ = try run(["album", "create", "Kept"], library: library)
        _ = try run(["album", "add", "Kept", c], library: library)
        let before = try run(["ls", "--json"], library: library)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: library + "/index.sqlite" + suffix) }
        #expect(try run(["ls", "--json"], library: library) == before)
        #expect(try albumList(library) == ["Kept: 1", "Uncategorized: 2"])
    }
}
