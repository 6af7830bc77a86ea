import Foundation
import KeepsakeCrypto
import Testing
import TestSupport

/// A library written by the round-1 code (`Tests/Fixtures/format1-library`, see its README) keeps opening with
/// today's code: the same listing, every object verified, every original exported bit-exact, and the same listing
/// again when the index is rebuilt from its store alone.
@Suite(.serialized) struct FormatOneFixtureTests {
    static let fixture = TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures/format1-library")
    static let passphrase = "format-1 fixture"

    /// A copy of the fixture's library folder: opening a library may upgrade it in place.
    func copyOfLibrary() throws -> String {
        let copy = try TestEnvironment.makeTempDirectory("format1").appendingPathComponent("library").path
        try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("library").path, toPath: copy)
        return copy
    }

    func run(_ arguments: [String]) throws -> ProcessResult {
        try Keepsake.run(arguments, passphrase: Self.passphrase)
    }

    func listing(_ library: String) throws -> [[String: Any]] {
        let result = try run(["ls", "--json", "--library", library])
        #expect(result.status == 0, "\(result.stderrText)")
        return try Self.parseLines(result.stdout)
    }

    static func parseLines(_ data: Data) throws -> [[String: Any]] {
        try String(decoding: data, as: UTF8.self).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// A JSON value as sorted-key JSON text, to compare values of any type.
    static func canonical(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]), as: UTF8.self)
    }

    /// Every field the round-1 listing had is still there with the same value (later versions may add fields).
    func expectSameListing(_ listing: [[String: Any]]) throws {
        let expected = try Self.parseLines(try Data(contentsOf: Self.fixture.appendingPathComponent("ls.json")))
        #expect(listing.count == expected.count)
        let byId = Dictionary(uniqueKeysWithValues: listing.map { ($0["id"] as! String, $0) })
        for var item in expected {
            let id = item["id"] as! String
            // Since issue 15, `albums` names Uncategorized for an item in no album, where round 1 printed [].
            if (item["albums"] as? [String])?.isEmpty == true { item["albums"] = ["Uncategorized"] }
            guard let actual = byId[id] else {
                Issue.record("item \(id) is missing from the listing")
                continue
            }
            for (key, value) in item {
                #expect(try actual[key].map(Self.canonical) == Self.canonical(value),
                        "item \(id), \(key): \(String(describing: actual[key])) instead of \(value)")
            }
        }
    }

    @Test func theRoundOneLibraryListsVerifiesAndExportsAsBefore() throws {
        let library = try copyOfLibrary()
        try expectSameListing(try listing(library))

        let verify = try run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        #expect(verify.stdoutText.contains("verified 5 items"), "\(verify.stdoutText)")
        // Its objects have no recorded digests: counted, checked by decryption, not problems.
        #expect(verify.stdoutText.contains("objects were stored before objects had hashes: checked by decryption only"),
                "\(verify.stdoutText)")

        let target = try TestEnvironment.makeTempDirectory("format1-export").path
        let export = try run(["export", "--to", target, "--library", library])
        #expect(export.status == 0, "\(export.stdoutText)\(export.stderrText)")
        let expected = try String(contentsOf: Self.fixture.appendingPathComponent("export.b2"), encoding: .utf8)
            .split(separator: "\n").map { line in (hash: String(line.prefix(128)), path: String(line.dropFirst(129))) }
        #expect(expected.count == 6)
        for (hash, path) in expected {
            guard let bytes = FileManager.default.contents(atPath: target + "/" + path) else {
                Issue.record("\(path) was not exported")
                continue
            }
            #expect(Blake2b.hash(Array(bytes)).hexString == hash, "\(path) is not bit-exact")
        }
        // Opening it again (after whatever the first opening upgraded) changes nothing.
        try expectSameListing(try listing(library))
    }

    @Test func theRoundOneStoreAloneRebuildsTheSameLibrary() throws {
        let library = try copyOfLibrary()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: library + "/index.sqlite" + suffix) }
        try expectSameListing(try listing(library))
        let verify = try run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
    }
}
