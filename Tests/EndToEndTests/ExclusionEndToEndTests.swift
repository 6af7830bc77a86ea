import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// `ingest --exclude` and `.keepsakeignore`, and `watch add --exclude` applied by the daemon, run as a user runs them.
@Suite(.serialized) struct ExclusionEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func copy(_ sample: String, to path: URL) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: samples + "/" + sample, toPath: path.path)
    }

    func write(_ text: String, to path: URL) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: path)
    }

    func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func storedPaths(_ library: String) throws -> Set<String> {
        let listing = try Keepsake.run(["ls", "--json", "--library", library])
        return Set(jsonLines(listing.stdoutText).flatMap { ($0["originals"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String } })
    }

    @Test func ingestLeavesOutWhatThePatternsAndIgnoreFilesExcludeAndCountsIt() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-exclude")
        let folder = root.appendingPathComponent("Photos").resolvingSymlinksInPath()
        try copy("cameras/osxphotos__Pumkins1.jpg", to: folder.appendingPathComponent("pumpkins.jpg"))
        try copy("cameras/osxphotos__badimage.jpeg", to: folder.appendingPathComponent("bad.jpeg"))
        try copy("cameras/osxphotos__Tulips.jpg", to: folder.appendingPathComponent("trip/tulips.jpg"))
        try copy("cameras/osxphotos__wedding.jpg", to: folder.appendingPathComponent("trip/wedding.jpg"))
        try copy("android/androidx-media__london.jpg", to: folder.appendingPathComponent("trip/raw/london.jpg"))
        try copy("iphone/androidx-media__tokyo.jpg", to: folder.appendingPathComponent("trip/keep/tokyo.jpeg"))
        try copy("iphone/osxphotos__IMG_0102.HEIC", to: folder.appendingPathComponent("private/secret.heic"))
        try copy("android/androidx-media__sample_sef_slow_motion.mp4", to: folder.appendingPathComponent("clip.mp4"))
        // Walked, this would be a failure of the run: the excluded folder must not be walked.
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("private/dangling.jpg").path,
                                                   withDestinationPath: "/nonexistent/keepsake")
        try write("# not mine\n*.jpeg\nprivate/\n", to: folder.appendingPathComponent(".keepsakeignore"))
        try write("raw/\nwedding.*\n!keep/*.jpeg\n", to: folder.appendingPathComponent("trip/.keepsakeignore"))
        let library = root.appendingPathComponent("lib").path

        let run = try Keepsake.run(["ingest", folder.path, "--library", library, "--json", "--no-streams",
                                    "--exclude", "*.mp4", "--exclude", "/pumpkins.jpg/"])
        #expect(run.status == 0, "\(run.stderrText)")
        let summary = try #require(jsonLines(run.stdoutText).last)
        // bad.jpeg, trip/wedding.jpg, clip.mp4; and the folders private and trip/raw. The folder-only pattern
        // `/pumpkins.jpg/` leaves the file pumpkins.jpg in.
        #expect(summary["excluded"] as? Int == 3, "\(summary)")
        #expect(summary["excludedFolders"] as? Int == 2, "\(summary)")
        #expect(summary["failed"] as? Int == 0, "\(run.stdoutText)")
        let expected: Set<String> = ["pumpkins.jpg", "trip/tulips.jpg", "trip/keep/tokyo.jpeg"]
        #expect(try storedPaths(library) == Set(expected.map { folder.path + "/" + $0 }))

        let text = try Keepsake.run(["ingest", folder.path, "--library", library, "--no-streams", "--exclude", "*.mp4"])
        #expect(text.status == 0, "\(text.stderrText)")
        #expect(text.stdoutText.contains("excluded:    3 files, 2 folders"), "\(text.stdoutText)")
    }

    @Test func theDaemonAppliesTheWatchsExclusions() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-exclude-daemon")
        let folder = root.appendingPathComponent("Holiday")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let library = root.appendingPathComponent("lib").path
        let added = try Keepsake.run(["watch", "add", folder.path, "--library", library, "--exclude", "*.jpeg", "--exclude", "drafts/"])
        #expect(added.status == 0, "\(added.stderrText)")
        let listed = try Keepsake.run(["watch", "list", "--library", library])
        #expect(listed.stdoutText.contains("--exclude *.jpeg") && listed.stdoutText.contains("--exclude drafts/"), "\(listed.stdoutText)")
        let watched = folder.resolvingSymlinksInPath()
        // There before the daemon starts (its rescan) and landing while it runs (inotify).
        try copy("cameras/osxphotos__badimage.jpeg", to: watched.appendingPathComponent("bad.jpeg"))
        try copy("cameras/osxphotos__Pumkins1.jpg", to: watched.appendingPathComponent("pumpkins.jpg"))

        let log = root.appendingPathComponent("daemon.log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Keepsake.binary)
        daemon.arguments = ["daemon", "--library", library, "--no-streams"]
        daemon.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": "test passphrase", "KEEPSAKE_LOG_LEVEL": "info"]) { $1 }
        daemon.standardOutput = FileHandle(forWritingAtPath: log)
        daemon.standardError = FileHandle(forWritingAtPath: log)
        try daemon.run()
        defer {
            if daemon.isRunning {
                daemon.terminate()
                daemon.waitUntilExit()
            }
        }
        try copy("cameras/osxphotos__Tulips.jpg", to: watched.appendingPathComponent("drafts/tulips.jpg"))
        // The watch's patterns come first: a .keepsakeignore cannot take a *.jpeg back in.
        try write("!*.jpeg\nlondon.jpg\n", to: watched.appendingPathComponent("later/.keepsakeignore"))
        try copy("iphone/androidx-media__tokyo.jpg", to: watched.appendingPathComponent("later/tokyo.jpg"))
        try copy("cameras/osxphotos__badimage.jpeg", to: watched.appendingPathComponent("later/bad.jpeg"))
        try copy("android/androidx-media__london.jpg", to: watched.appendingPathComponent("later/london.jpg"))
        // Last: once it is in, everything written before it has been seen.
        try copy("cameras/osxphotos__wedding.jpg", to: watched.appendingPathComponent("wedding.jpg"))

        let expected = Set(["pumpkins.jpg", "wedding.jpg", "later/tokyo.jpg"].map { watched.path + "/" + $0 })
        let deadline = Date().addingTimeInterval(90)
        var stored = try storedPaths(library)
        while !stored.isSuperset(of: expected) && Date() < deadline {
            usleep(500_000)
            stored = try storedPaths(library)
        }
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(stored == expected, "\(logText)")
        #expect(logText.contains(" files excluded"), "the rescan counts what it left out: \(logText)")
    }
}
