import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Watched folders on which inotify sees nothing of what another machine writes (NFS, SMB, FUSE): rescanned every
/// `--poll-interval`. Files are added, changed and deleted behind the daemon's back: in the folder under a FUSE mount
/// (bindfs) the daemon watches, and in a plain folder watched with `--poll`.
@Suite(.serialized) struct NetworkFolderEndToEndTests {
    let daemonTests = DaemonTests()
    var samples: String { daemonTests.samples }

    /// bindfs mirrors a folder through FUSE: what is written into the folder itself reaches the mount without any
    /// inotify event on it, as a NAS's files reach an NFS or SMB client.
    static let bindfs: String? = {
        guard TestEnvironment.hasTool("bindfs"), TestEnvironment.hasTool("fusermount"), access("/dev/fuse", R_OK | W_OK) == 0 else {
            return "bindfs, fusermount or /dev/fuse is missing (apt package bindfs: run scripts/setup --test)"
        }
        return nil
    }()

    /// The inotify watches `pid` holds (its fdinfo lists one `inotify wd:` line per watch).
    func inotifyWatches(of pid: Int32) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fdinfo")) ?? []
        return fds.map { fd in
            ((try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8)) ?? "")
                .split(separator: "\n").filter { $0.hasPrefix("inotify wd:") }.count
        }.reduce(0, +)
    }

    func statusJSON(_ library: String) throws -> [String: Any] {
        let status = try Keepsake.run(["status", "--json", "--library", library])
        #expect(status.status == 0, "\(status.stderrText)")
        return try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
    }

    /// The daemon follows `watched` (which shows the files of `behind`, where the test writes) by rescans alone.
    func followsChangesBehindItsBack(watched: URL, behind: URL, root: URL, watchArguments: [String], fileSystem: String?) throws {
        let library = root.appendingPathComponent("lib").path
        let added = try Keepsake.run(["watch", "add", watched.path, "--poll-interval", "1", "--library", library] + watchArguments)
        #expect(added.status == 0, "\(added.stderrText)")
        let method = fileSystem.map { "rescanned every 1 s (\($0): inotify misses what other machines write there)" }
            ?? "rescanned every 1 s (--poll)"
        #expect(added.stdoutText.contains(method), "\(added.stdoutText)")
        #expect(try Keepsake.run(["watch", "list", "--library", library]).stdoutText.contains(method))

        try daemonTests.copy("cameras/osxphotos__Pumkins1.jpg", to: behind.appendingPathComponent("kept.jpg"))
        try daemonTests.copy("cameras/osxphotos__wedding.jpg", to: behind.appendingPathComponent("deleted.jpg"))
        try daemonTests.copy("cameras/osxphotos__Tulips.jpg", to: behind.appendingPathComponent("sub/changed.jpg"))
        let daemon = try DaemonTests.RunningDaemon(library: library, folder: root)
        func path(_ name: String) -> String { watched.path + "/" + name }
        var items = try daemonTests.waitForListing(library) { items in
            Set(items.flatMap(daemonTests.paths)) == Set(["kept.jpg", "deleted.jpg", "sub/changed.jpg"].map(path))
        }
        #expect(items.count == 3, "\(daemon.logText)")
        #expect(inotifyWatches(of: daemon.process.processIdentifier) == 0, "a polled folder has no inotify watch")

        try daemonTests.copy("android/androidx-media__london.jpg", to: behind.appendingPathComponent("new/london.jpg"))
        try FileManager.default.removeItem(at: behind.appendingPathComponent("deleted.jpg"))
        let edited = try FileHandle(forWritingTo: behind.appendingPathComponent("sub/changed.jpg"))
        edited.seekToEndOfFile()
        edited.write(Data("an edit".utf8))
        try edited.close()
        items = try daemonTests.waitForListing(library) { items in
            items.contains { daemonTests.paths($0) == [path("new/london.jpg")] }
                && items.contains { daemonTests.paths($0) == [path("deleted.jpg")] && daemonTests.albums($0) == ["Uncategorized"] }
                && items.filter { daemonTests.paths($0) == [path("sub/changed.jpg")] }.count == 2
        }
        #expect(items.contains { daemonTests.paths($0) == [path("new/london.jpg")] && daemonTests.albums($0) == [watched.lastPathComponent] },
                "the new file is in the watch's album\n\(daemon.logText)")
        #expect(items.contains { daemonTests.paths($0) == [path("deleted.jpg")] && daemonTests.albums($0) == ["Uncategorized"] },
                "the deleted file left its album")
        let versions = items.filter { daemonTests.paths($0) == [path("sub/changed.jpg")] }.map(daemonTests.albums)
        #expect(versions.sorted { $0.description < $1.description } == [[watched.lastPathComponent], ["Uncategorized"]],
                "the changed file's new version is in the album, its earlier one not: \(versions)")

        // From now on the folder is unchanged: its rescans go on, and read nothing and start no batch.
        let rescans = { daemon.logText.components(separatedBy: "rescanned \(watched.path): 3 files, 0 new or changed").count - 1 }
        let deadline = Date().addingTimeInterval(30)
        while rescans() < 1 && Date() < deadline { usleep(200_000) }
        let batches = daemon.logText.components(separatedBy: "batch from").count
        let seen = rescans()
        while rescans() < seen + 3 && Date() < deadline { usleep(200_000) }
        #expect(rescans() >= seen + 3, "\(daemon.logText)")
        #expect(daemon.logText.components(separatedBy: "batch from").count == batches, "no batch for an unchanged folder\n\(daemon.logText)")

        let watch = try #require((try statusJSON(library)["watches"] as? [[String: Any]])?.first)
        #expect(watch["method"] as? String == "rescan" && watch["pollInterval"] as? Int == 1 && watch["fileSystem"] as? String == fileSystem,
                "\(watch)")
        #expect(watch["lastRescan"] as? String != nil, "the running daemon says when it last rescanned: \(watch)")
        let status = try Keepsake.run(["status", "--library", library]).stdoutText
        #expect(status.contains("watching: \(watched.path) (\(method), last rescan "), "\(status)")
        #expect(daemon.terminate() == 0)
    }

    @Test func pollRescansAFolderAnywhere() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-poll")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("Holiday").resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try followsChangesBehindItsBack(watched: folder, behind: folder, root: root, watchArguments: ["--poll"], fileSystem: nil)
    }

    @Test(.enabled(if: bindfs == nil, "\(bindfs ?? "")"))
    func aFuseMountIsRescannedWithoutBeingAsked() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-fuse").resolvingSymlinksInPath()
        defer { try? FileManager.default.removeItem(at: root) }
        let nas = root.appendingPathComponent("nas-disk"), mount = root.appendingPathComponent("Holiday")
        try FileManager.default.createDirectory(at: nas, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        // In the foreground (-f), a child of this process: unmounting ends it.
        let bindfs = Process()
        bindfs.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        bindfs.arguments = ["bindfs", "-f", nas.path, mount.path]
        bindfs.standardInput = FileHandle.nullDevice
        bindfs.standardOutput = FileHandle.nullDevice
        bindfs.standardError = FileHandle.nullDevice
        try bindfs.run()
        defer {
            _ = try? runProcess("fusermount", ["-u", mount.path])
            if bindfs.isRunning { bindfs.terminate() }
            bindfs.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(20)
        func isFuse() -> Bool { (try? runProcess("stat", ["-f", "-c", "%t", mount.path]))?.stdoutText == "65735546\n" }
        while !isFuse() && bindfs.isRunning && Date() < deadline { usleep(100_000) }
        try #require(isFuse(), "bindfs cannot mount here")
        try followsChangesBehindItsBack(watched: mount, behind: nas, root: root, watchArguments: [], fileSystem: "fuse")
    }
}
