import Foundation
import Testing
import TestSupport

/// The daemon takes what guests upload through a collect link at its pull (docs/public-links.md, "Collect links").
/// The upload is sealed by Tests/Browser/collect_upload.py, written from the design with python's `cryptography`: the
/// owner's Swift side opens what another implementation sealed.
@Suite(.serialized, .enabled(if: LinkBrowser.missing == nil, "\(LinkBrowser.missing ?? "")"))
struct CollectDaemonTests {
    /// A library with an album "Party", its collect link, and `keepsake serve --links-only` serving it.
    final class Served {
        let root: URL
        let library: String
        let url: String
        let server = Process()

        init() throws {
            root = try TestEnvironment.makeTempDirectory("collect-daemon")
            let folder = root.appendingPathComponent("watched")
            library = root.appendingPathComponent("lib").path
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for arguments in [["watch", "add", folder.path], ["album", "create", "Party"]] {
                let result = try Keepsake.run(arguments + ["--library", library])
                guard result.status == 0 else { throw BrowserTestError("\(arguments): \(result.stderrText)") }
            }
            let link = try LinkBrowser.linkPath(Keepsake.run(["share", "link", "create", "Party", "--allow-upload", "--library", library]).stdoutText)
            let serverLog = root.appendingPathComponent("server.log").path
            _ = FileManager.default.createFile(atPath: serverLog, contents: nil)
            server.executableURL = URL(fileURLWithPath: Keepsake.binary)
            server.arguments = ["serve", "--links-only", "--library", library, "--listen", "127.0.0.1:0"]
            server.environment = ProcessInfo.processInfo.environment.filter { $0.key != "KEEPSAKE_PASSPHRASE" }
            server.standardOutput = FileHandle(forWritingAtPath: serverLog)
            server.standardError = FileHandle(forWritingAtPath: serverLog)
            try server.run()
            var base: String?
            let deadline = Date().addingTimeInterval(60)
            while base == nil && Date() < deadline {
                base = ((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "").firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/).map { String($0.output) }
                usleep(100_000)
            }
            guard let base else { throw BrowserTestError("the link server printed no address") }
            url = base + link
        }

        /// Uploads `file` as `name` with Tests/Browser/collect_upload.py.
        func upload(_ file: String, as name: String, tamper: Bool = false) throws {
            let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/collect_upload.py").path
            let result = try runProcess("python3", [script, url, file, name] + (tamper ? ["--tamper"] : []))
            guard result.status == 0 else { throw BrowserTestError("collect_upload.py: \(result.stderrText)") }
        }

        deinit {
            server.terminate()
            server.waitUntilExit()
        }
    }

    static let photo = TestEnvironment.samples.appendingPathComponent("media/cameras/osxphotos__Tulips.jpg").path

    @Test func theDaemonTakesAnUploadIntoTheAlbumAtItsNextPull() throws {
        let served = try Served()
        let library = served.library
        let daemon = try DaemonTests.RunningDaemon(library: library, folder: served.root, arguments: ["--pull-interval", "1"])
        defer { _ = daemon.terminate() }
        try served.upload(Self.photo, as: "tulips from a guest.jpg")

        let items = try DaemonTests().waitForListing(library) { items in
            items.contains { ($0["originals"] as? [[String: Any]])?.first?["name"] as? String == "tulips from a guest.jpg" }
        }
        let item = items.first { ($0["originals"] as? [[String: Any]])?.first?["name"] as? String == "tulips from a guest.jpg" }
        #expect(item != nil, "the daemon did not take the upload: \(daemon.logText.suffix(2000))")
        #expect(item?["albums"] as? [String] == ["Party"] && item?["thumbnail"] as? Bool == true)
        #expect(daemon.logText.contains("took 1 uploads from collect links"), "\(daemon.logText.suffix(2000))")
    }

    /// An upload altered after sealing, and one that is no photo: `sync` reports both, takes neither, and sets them
    /// aside (the next sync does not try again); the good upload beside them goes in.
    @Test func syncReportsAndSetsAsideAForgedUploadAndANonMediaOne() throws {
        let served = try Served()
        let text = served.root.appendingPathComponent("notes.txt").path
        try Data(String(repeating: "not a photo\n", count: 100).utf8).write(to: URL(fileURLWithPath: text))
        try served.upload(Self.photo, as: "forged.jpg", tamper: true)
        try served.upload(text, as: "notes.txt")
        try served.upload(Self.photo, as: "good.jpg")
        let synced = try Keepsake.run(["sync", "--library", served.library, "--json"])
        #expect(synced.status == 1, "sync: \(synced.stdoutText) \(synced.stderrText)")
        let report = try JSONSerialization.jsonObject(with: Data(synced.stdoutText.utf8)) as? [String: Any]
        let problems = report?["problems"] as? [String] ?? []
        #expect(report?["uploadsTaken"] as? Int == 1)
        #expect(problems.count == 2 && problems.contains { $0.contains("does not authenticate") } && problems.contains { $0.contains("notes.txt") },
                "\(problems)")
        let listed = try Keepsake.run(["ls", "--library", served.library, "--album", "Party", "--json"]).stdoutText
        #expect(listed.contains("good.jpg") && !listed.contains("forged.jpg") && !listed.contains("notes.txt"))
        let links = try Keepsake.run(["share", "link", "ls", "--library", served.library, "--json"]).stdoutText
        #expect(links.contains(#""uploadsRejected":2"#) && links.contains(#""uploadsWaiting":0"#), "\(links)")
        let again = try Keepsake.run(["sync", "--library", served.library, "--json"])
        #expect(again.status == 0 && again.stdoutText.contains(#""uploadsTaken":0"#), "\(again.stdoutText)")
    }
}
