import Foundation
import Store
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Crash safety, recovery from the store alone, passphrase change and deletion, through the binary.
@Suite(.serialized) struct UploadCoreTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func listing(_ library: String, passphrase: String = "test passphrase") throws -> [[String: Any]] {
        let result = try Keepsake.run(["ls", "--json", "--library", library], passphrase: passphrase)
        #expect(result.status == 0, "\(result.stderrText)")
        return try result.stdoutText.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// Every source path appears in exactly one item, once.
    func sourcePaths(_ items: [[String: Any]]) -> [String] {
        items.flatMap { ($0["originals"] as! [[String: Any]]).map { $0["path"] as! String } }.sorted()
    }

    @Test func killedAtTwentyPointsTheRunsConverge() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        var killedEarly = 0
        for point in 0..<20 {
            let delay = 150 + point * 120  // from inside key derivation to well into the store phase
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Keepsake.binary)
            process.arguments = ["ingest", samples, "--library", library, "--album-per-folder"]
            process.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(delay * 1000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedEarly += 1
            }
            process.waitUntilExit()
        }
        #expect(killedEarly >= 10, "most runs must really be killed mid-way for the test to mean anything")
        let final = try Keepsake.run(["ingest", samples, "--library", library, "--album-per-folder"])
        #expect(final.status == 0, "\(final.stdoutText)\(final.stderrText)")

        let items = try listing(library)
        let expected = FileManager.default.enumerator(atPath: samples)!.compactMap { $0 as? String }
            .map { samples + "/" + $0 }.filter { !(try! FileManager.default.attributesOfItem(atPath: $0)[.type] as! FileAttributeType == .typeDirectory) }
        #expect(sourcePaths(items) == expected.sorted(), "every file stored exactly once")
        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)")
        #expect(!verify.stdoutText.contains("orphan"), "\(verify.stdoutText)")
    }

    @Test func theIndexIsRebuiltFromTheStoreAlone() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", samples, "--library", library, "--album-per-folder"]).status == 0)
        #expect(try Keepsake.run(["ingest", samples + "/cameras", "--library", library, "--album", "Best of"]).status == 0)
        let before = try listing(library)
        let victim = try #require(before.first { ($0["albums"] as! [String]).contains("Best of") })["id"] as! String
        #expect(try Keepsake.run(["rm", victim, "--library", library]).status == 0)
        let beforeRebuild = try listing(library)

        // A new machine: only the store is there.
        let newMachine = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        try FileManager.default.createDirectory(atPath: newMachine, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Library.storePath(library: library), toPath: Library.storePath(library: newMachine))
        let after = try listing(newMachine)
        func summary(_ items: [[String: Any]]) -> [String] {
            items.map { "\($0["id"]!) \(($0["albums"] as! [String]).sorted()) \(sourcePaths([$0])) \($0["captureTime"] ?? "-")" }.sorted()
        }
        #expect(summary(after) == summary(beforeRebuild))
        #expect(!after.contains { $0["id"] as? String == victim }, "the deletion is part of the journal too")
        #expect(try Keepsake.run(["verify", "--read-data", "--library", newMachine]).status == 0)
        #expect(try Keepsake.run(["ls", "--library", newMachine], passphrase: "wrong").status == 3)
    }

    @Test func passwdRewrapsOnlyTheMasterKey() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", samples + "/android", "--library", library]).status == 0)
        let dataBefore = try Library.open(at: library, passphrase: "test passphrase", create: false).store.list(prefix: "data/")
        let change = try Keepsake.run(["passwd", "--library", library], environment: ["KEEPSAKE_NEW_PASSPHRASE": "new one"])
        #expect(change.status == 0, "\(change.stderrText)")
        #expect(try Keepsake.run(["ls", "--library", library]).status == 3)
        #expect(try Keepsake.run(["verify", "--read-data", "--library", library], passphrase: "new one").status == 0)
        #expect(try Library.open(at: library, passphrase: "new one", create: false).store.list(prefix: "data/") == dataBefore)
    }

    @Test func deletedFilesAreNotUploadedAgainUnlessAsked() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let folder = samples + "/cameras"
        #expect(try Keepsake.run(["ingest", folder, "--library", library]).status == 0)
        let items = try listing(library)
        let ids = items.map { $0["id"] as! String }
        #expect(try Keepsake.run(["rm"] + ids + ["--library", library]).status == 0)
        #expect(try listing(library).isEmpty)
        let again = try Keepsake.run(["ingest", folder, "--library", library, "--json", "--rehash"])
        #expect(again.status == 0)
        #expect(again.stdoutText.contains("\"previouslyDeleted\":\(ids.count)"))
        #expect(try listing(library).isEmpty)
        #expect(try Keepsake.run(["ingest", folder, "--library", library, "--reupload-deleted"]).status == 0)
        #expect(try listing(library).count == ids.count)
    }

    @Test func verifyFindsAndRepairsOrphans() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", samples + "/android", "--library", library]).status == 0)
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        try opened.store.put(ObjectName.randomData(), bytes: [1, 2, 3])
        let found = try Keepsake.run(["verify", "--library", library])
        #expect(found.stdoutText.contains("1 objects in the store belong to no item"))
        #expect(try Keepsake.run(["verify", "--repair", "--library", library]).status == 0)
        #expect(!(try Keepsake.run(["verify", "--library", library])).stdoutText.contains("orphan"))
    }
}
