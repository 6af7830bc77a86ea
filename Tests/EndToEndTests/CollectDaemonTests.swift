import Foundation
import Testing
import TestSupport

/// The daemon takes what guests upload through a collect link at its pull (docs/public-links.md, "Collect links").
/// The upload is sealed by Tests/Browser/collect_upload.py, written from the design with python's `cryptography`: the
/// owner's Swift side opens what another implementation sealed.
@Suite(.serialized, .enabled(if: LinkBrowser.missing == nil, "\(LinkBrowser.missing ?? "")"))
struct CollectDaemonTests {
    @Test func theDaemonTakesAnUploadIntoTheAlbumAtItsNextPull() throws {
        let root = try TestEnvironment.makeTempDirectory("collect-daemon")
        let folder = root.appendingPathComponent("watched"), library = root.appendingPathComponent("lib").path
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for arguments in [["watch", "add", folder.path], ["album", "create", "Party"]] {
            let result = try Keepsake.run(arguments + ["--library", library])
            #expect(result.status == 0, "\(arguments): \(result.stderrText)")
        }
        let created = try Keepsake.run(["share", "link", "create", "Party", "--allow-upload", "--library", library])
        let link = try LinkBrowser.linkPath(created.stdoutText)

        let server = Process()
        let serverLog = root.appendingPathComponent("server.log").path
        _ = FileManager.default.createFile(atPath: serverLog, contents: nil)
        server.executableURL = URL(fileURLWithPath: Keepsake.binary)
        server.arguments = ["serve", "--links-only", "--library", library, "--listen", "127.0.0.1:0"]
        server.environment = ProcessInfo.processInfo.environment.filter { $0.key != "KEEPSAKE_PASSPHRASE" }
        server.standardOutput = FileHandle(forWritingAtPath: serverLog)
        server.standardError = FileHandle(forWritingAtPath: serverLog)
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let daemon = try DaemonTests.RunningDaemon(library: library, folder: root, arguments: ["--pull-interval", "1"])
        defer { _ = daemon.terminate() }

        var base: String?
        let deadline = Date().addingTimeInterval(60)
        while base == nil && Date() < deadline {
            base = ((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "").firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/).map { String($0.output) }
            usleep(100_000)
        }
        let url = try #require(base, "the link server printed no address") + link
        let photo = TestEnvironment.samples.appendingPathComponent("media/cameras/osxphotos__Tulips.jpg").path
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/collect_upload.py").path
        let uploaded = try runProcess("python3", [script, url, photo, "tulips from a guest.jpg"])
        #expect(uploaded.status == 0, "collect_upload.py: \(uploaded.stderrText)")

        let items = try DaemonTests().waitForListing(library) { items in
            items.contains { ($0["originals"] as? [[String: Any]])?.first?["name"] as? String == "tulips from a guest.jpg" }
        }
        let item = items.first { ($0["originals"] as? [[String: Any]])?.first?["name"] as? String == "tulips from a guest.jpg" }
        #expect(item != nil, "the daemon did not take the upload: \(daemon.logText.suffix(2000))")
        #expect(item?["albums"] as? [String] == ["Party"] && item?["thumbnail"] as? Bool == true)
        #expect(daemon.logText.contains("took 1 uploads from collect links"), "\(daemon.logText.suffix(2000))")
    }
}
