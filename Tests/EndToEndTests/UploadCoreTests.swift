import Foundation
@testable import Store
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

    /// A few sample files of each kind, copied so that the runs are short.
    func killTestFolder() throws -> String {
        let folder = try TestEnvironment.makeTempDirectory("kill-input").path
        for name in ["cameras/osxphotos__Tulips.jpg", "cameras/osxphotos__badimage.jpeg", "iphone/osxphotos__IMG_0102.HEIC",
                     "iphone/androidx-media__tokyo.jpg", "android/androidx-media__pixel-motion-photo-shortened.jpg",
                     "android/androidx-media__sample_sef_slow_motion.mp4"] {
            try FileManager.default.copyItem(atPath: samples + "/" + name, toPath: folder + "/" + (name as NSString).lastPathComponent)
        }
        return folder
    }

    @Test func killedAtTwentyPointsTheRunsConverge() throws {
        let folder = try killTestFolder()
        let expected = try FileManager.default.contentsOfDirectory(atPath: folder).map { folder + "/" + $0 }.sorted()
        // How long a whole run takes on this machine now, so that the kill points spread over a real run; a run that
        // ends before its kill point shortens the estimate (this machine's speed drifts).
        let scratch = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let start = Date()
        #expect(try Keepsake.run(["ingest", folder, "--library", scratch]).status == 0)
        var fullRun = Date().timeIntervalSince(start)

        var killedMidRun = 0
        for point in 1...20 {
            let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
            if let finished = try Keepsake.ingestKilled(after: fullRun * Double(point) / 21, folder: folder, library: library) {
                fullRun = min(fullRun, finished)
            } else {
                killedMidRun += 1
            }
            let rerun = try Keepsake.run(["ingest", folder, "--library", library])
            #expect(rerun.status == 0, "kill point \(point): \(rerun.stdoutText)\(rerun.stderrText)")
            #expect(sourcePaths(try listing(library)) == expected, "kill point \(point): every file stored exactly once")
            let verify = try Keepsake.run(["verify", "--read-data", "--grace", "0", "--library", library])
            #expect(verify.status == 0 && !verify.stdoutText.contains("orphan"), "kill point \(point): \(verify.stdoutText)")
        }
        print("kill-and-rerun: \(killedMidRun) of 20 runs killed mid-way (a whole run: \(String(format: "%.1f", fullRun)) s)")
        #expect(killedMidRun >= 15, "most runs must really be killed mid-way for the test to mean anything")
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
        let found = try Keepsake.run(["verify", "--grace", "0", "--library", library])
        #expect(found.stdoutText.contains("1 objects in the store belong to no item"))
        #expect(try Keepsake.run(["verify", "--repair", "--grace", "0", "--library", library]).status == 0)
        #expect(!(try Keepsake.run(["verify", "--grace", "0", "--library", library])).stdoutText.contains("orphan"))
    }
}
