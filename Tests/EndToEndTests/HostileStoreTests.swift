import Foundation
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
