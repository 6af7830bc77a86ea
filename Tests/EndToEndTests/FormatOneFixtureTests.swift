import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeepsakeCrypto
@testable import Store
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
        try expectVerifiesAndExports(library)
        // Opening it again (after whatever the first opening upgraded) changes nothing.
        try expectSameListing(try listing(library))
    }

    /// `verify --read-data` is clean and `export` writes every original bit-exact.
    func expectVerifiesAndExports(_ library: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let verify = try run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)", sourceLocation: sourceLocation)
        #expect(verify.stdoutText.contains("verified 5 items"), "\(verify.stdoutText)", sourceLocation: sourceLocation)
        // Its objects have no recorded digests: counted, checked by decryption, not problems.
        #expect(verify.stdoutText.contains("objects were stored before objects had hashes: checked by decryption only"),
                "\(verify.stdoutText)", sourceLocation: sourceLocation)

        let target = try TestEnvironment.makeTempDirectory("format1-export").path
        let export = try run(["export", "--to", target, "--library", library])
        #expect(export.status == 0, "\(export.stdoutText)\(export.stderrText)", sourceLocation: sourceLocation)
        let expected = try String(contentsOf: Self.fixture.appendingPathComponent("export.b2"), encoding: .utf8)
            .split(separator: "\n").map { line in (hash: String(line.prefix(128)), path: String(line.dropFirst(129))) }
        #expect(expected.count == 6)
        for (hash, path) in expected {
            guard let bytes = FileManager.default.contents(atPath: target + "/" + path) else {
                Issue.record("\(path) was not exported")
                continue
            }
            #expect(Blake2b.hash(Array(bytes)).hexString == hash, "\(path) is not bit-exact", sourceLocation: sourceLocation)
        }
    }

    @Test func theRoundOneStoreAloneRebuildsTheSameLibrary() throws {
        let library = try copyOfLibrary()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: library + "/index.sqlite" + suffix) }
        try expectSameListing(try listing(library))
        let verify = try run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
    }

    // MARK: The upgrade to format 2

    /// Every object of the library's store (its `tmp/` left out), with the BLAKE2b of its bytes.
    func storeObjects(_ library: String) throws -> [String: String] {
        let store = Library.storePath(library: library)
        var objects: [String: String] = [:]
        for case let path as String in FileManager.default.enumerator(atPath: store)! where !path.hasPrefix("tmp") {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: store + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            objects[path] = Blake2b.hash(Array(try Data(contentsOf: URL(fileURLWithPath: store + "/" + path)))).hexString
        }
        return objects
    }

    func keyFile(_ library: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Library.storePath(library: library) + "/keys/master")))
            as! [String: Any]
    }

    /// The store of `library` is format 2 and holds everything `original` (the fixture's store) held, unchanged.
    func expectUpgraded(_ library: String, from original: [String: String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let key = try keyFile(library)
        #expect(key["version"] as? Int == 2, "\(key)", sourceLocation: sourceLocation)
        // The wrapped key under its format-2 name only: a format-1 keepsake, which looks for `wrappedMasterKey`, fails.
        #expect((key["masterKey"] as? [Int])?.count == KeyWrap.wrappedByteCount && key["wrappedMasterKey"] == nil,
                "\(key)", sourceLocation: sourceLocation)
        let objects = try storeObjects(library)
        for (path, hash) in original where path != "keys/master" {
            #expect(objects[path] == hash, "\(path) was changed or removed by the upgrade", sourceLocation: sourceLocation)
        }
        #expect(objects.keys.filter { $0.hasPrefix("data/") }.count == original.keys.filter { $0.hasPrefix("data/") }.count,
                sourceLocation: sourceLocation)
        let index = try LibraryIndex(path: library + "/index.sqlite")
        let ids = try index.allItemIds()
        #expect(ids.count == 5, "four listed and one deleted", sourceLocation: sourceLocation)
        let records = Set(objects.keys.filter { $0.hasPrefix("items/") }.map { String($0.dropFirst("items/".count)) })
        #expect(records == ids, "an item record per item", sourceLocation: sourceLocation)
        let checkpoints = objects.keys.filter { $0.hasPrefix("checkpoints/") }
        #expect(!checkpoints.isEmpty, "a checkpoint", sourceLocation: sourceLocation)
        #expect(objects.keys.filter { $0.hasPrefix("log/") }.isEmpty, "an upgrade writes no log entry", sourceLocation: sourceLocation)
    }

    /// A new machine with the upgraded store alone, and even without the format-1 journal, rebuilds the same library:
    /// the checkpoint holds it whole.
    func expectCheckpointHoldsTheLibrary(_ library: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let folder = try TestEnvironment.makeTempDirectory("format1-new").appendingPathComponent("library").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: Library.storePath(library: library), toPath: Library.storePath(library: folder))
        try FileManager.default.removeItem(atPath: Library.storePath(library: folder) + "/index")
        let result = try run(["ls", "--json", "--library", folder])
        #expect(result.status == 0 && result.stderrText.isEmpty, "\(result.stderrText)", sourceLocation: sourceLocation)
        try expectSameListing(try Self.parseLines(result.stdout))
    }

    @Test func openingUpgradesTheStoreInPlaceOnceWithoutChangingAMediaObject() throws {
        let library = try copyOfLibrary()
        let original = try storeObjects(library)
        #expect(try keyFile(library)["version"] as? Int == 1 && keyFile(library)["wrappedMasterKey"] != nil)
        #expect(original.keys.allSatisfy { $0.hasPrefix("data/") || $0.hasPrefix("index/") || $0 == "keys/master" })

        let first = try run(["ls", "--json", "--library", library])
        #expect(first.status == 0 && first.stderrText.contains("upgraded the store to format 2"), "\(first.stderrText)")
        try expectSameListing(try Self.parseLines(first.stdout))
        try expectUpgraded(library, from: original)
        let upgraded = try storeObjects(library)

        let second = try run(["ls", "--json", "--library", library])
        #expect(second.status == 0 && second.stderrText.isEmpty, "opened as format 2, not upgraded again: \(second.stderrText)")
        try expectSameListing(try Self.parseLines(second.stdout))
        #expect(try storeObjects(library) == upgraded, "a second open writes nothing")
        try expectVerifiesAndExports(library)
        try expectCheckpointHoldsTheLibrary(library)
    }

    /// Where the first opening is killed: once some item records are written, once all are, once the checkpoint is;
    /// and on a new machine (the store alone), once its index is being rebuilt, and once some records are written.
    enum KillPoint: String, CaseIterable, Sendable {
        case firstRecord, everyRecord, checkpoint, newMachineRebuildingIndex, newMachineFirstRecord
        var isNewMachine: Bool { self == .newMachineRebuildingIndex || self == .newMachineFirstRecord }
    }

    @Test(arguments: KillPoint.allCases) func anUpgradeKilledMidwayConvergesWhenRerun(_ point: KillPoint) throws {
        var crashed = 0
        for _ in 1...5 where crashed == 0 {
            let library = try copyOfLibrary()
            if point.isNewMachine {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: library + "/index.sqlite" + suffix) }
            }
            let original = try storeObjects(library)
            let store = Library.storePath(library: library)
            func count(_ folder: String) -> Int { (try? FileManager.default.contentsOfDirectory(atPath: store + "/" + folder).count) ?? 0 }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Keepsake.binary)
            process.arguments = ["ls", "--library", library]
            process.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": Self.passphrase]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            while process.isRunning {
                let reached = switch point {
                case .firstRecord, .newMachineFirstRecord: count("items") >= 1
                case .newMachineRebuildingIndex: FileManager.default.fileExists(atPath: library + "/index.sqlite-wal")
                case .everyRecord: count("items") >= 5
                case .checkpoint: count("checkpoints") >= 1
                }
                if reached { break }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // It finished before the kill: this attempt tests nothing; again.
            guard process.terminationReason == .uncaughtSignal else { continue }
            guard try keyFile(library)["version"] as? Int == 1 else {
                // Killed after its commit point: everything before it must be there.
                try expectUpgraded(library, from: original)
                continue
            }
            crashed += 1
            if point != .newMachineRebuildingIndex { #expect(count("items") >= 1, "killed after it wrote a record") }

            // A new machine that finds the half-upgraded store, and the killed folder itself, both finish it.
            let folder = try TestEnvironment.makeTempDirectory("format1-half").appendingPathComponent("library").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            try FileManager.default.copyItem(atPath: store, toPath: Library.storePath(library: folder))
            let rerun = try run(["ls", "--json", "--library", library])
            #expect(rerun.status == 0 && rerun.stderrText.contains("upgraded the store to format 2"), "\(rerun.stderrText)")
            try expectSameListing(try Self.parseLines(rerun.stdout))
            try expectUpgraded(library, from: original)
            let upgraded = try storeObjects(library)
            #expect(try run(["ls", "--library", library]).stderrText.isEmpty)
            #expect(try storeObjects(library) == upgraded, "converged: a further open writes nothing")
            try expectVerifiesAndExports(library)
            try expectCheckpointHoldsTheLibrary(library)

            let fresh = try run(["ls", "--json", "--library", folder])
            #expect(fresh.status == 0, "\(fresh.stderrText)")
            try expectSameListing(try Self.parseLines(fresh.stdout))
            try expectUpgraded(folder, from: original)
        }
        #expect(crashed == 1, "the upgrade was killed midway in one of five attempts")
    }
}
