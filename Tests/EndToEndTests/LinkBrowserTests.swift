import Foundation
import Testing
import TestSupport

/// Public links (docs/public-links.md) opened by Debian's chromium, a fresh profile for each check, from a
/// `keepsake serve --links-only` started without the passphrase (Tests/Browser/link_browser.py).
/// Screenshots (grid, viewer, password, ended page…) go to a temp folder the test prints.
@Suite(.serialized, .enabled(if: LinkBrowser.missing == nil, "\(LinkBrowser.missing ?? "")"))
struct LinkBrowserTests {
    @Test func aLinkShowsEveryThumbnailTheLargePictureAVideoAndALivePhoto() throws {
        try LinkBrowser.run(["grid", "video", "live-photo"])
    }

    @Test func aPasswordLinkAsksForItRefusesAWrongOneAndOpensWithTheRightOne() throws {
        try LinkBrowser.run(["password"])
    }

    @Test func anExpiredAndARevokedLinkShowAGonePageAndDecryptNothing() throws {
        try LinkBrowser.run(["expired", "revoked"])
    }

    /// No button, and the original's object, named by a download link of the same album, opens with no key this
    /// link has (while the download link's file key opens it: the check is not vacuous).
    @Test func aLinkWithoutDownloadOffersNoneAndCannotDecryptAnOriginal() throws {
        try LinkBrowser.run(["no-download"])
    }

    @Test func aDownloadIsVerifiedAndBitExact() throws {
        try LinkBrowser.run(["download"])
    }

    /// One thumbnail object of the link overwritten in the store with another's bytes: its tile says so.
    @Test func aSwappedObjectShowsAsNotVerified() throws {
        try LinkBrowser.run(["swapped"])
    }

    /// The server's output and the library's files hold no link key, after the browser opened every link.
    @Test func theServerAndTheStoreNeverSeeALinkKey() throws {
        let links = try LinkBrowser.links.get()
        let output = try LinkBrowser.run(["grid", "download"], on: links)
        var files = 0
        let root = URL(fileURLWithPath: links.library)
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)! {
            guard let data = try? Data(contentsOf: url) else { continue }
            files += 1
            for (name, key) in links.keys {
                #expect(data.range(of: key.raw) == nil && data.range(of: Data(key.text.utf8)) == nil, "\(url.path) holds the key of \(name)")
            }
        }
        #expect(files > 10)
        for (name, key) in links.keys {
            #expect(!output.contains(key.text), "the server printed the key of \(name)")
        }
    }

    /// What the page costs: bytes and time to the first thumbnail of a 200-photo album (printed; the bounds are loose).
    /// It ingests 200 photos, so it runs only when asked for.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEEPSAKE_LINK_BENCH"] != nil,
                   "SKIPPED: set KEEPSAKE_LINK_BENCH=1 to measure the link page on a 200-photo album"))
    func aTwoHundredPhotoAlbumsFirstThumbnail() throws {
        try LinkBrowser.run(["bench"], on: LinkBrowser.benchLinks())
    }
}

enum LinkBrowser {
    /// Why the link browser tests cannot run here (said in the test summary), or nil.
    static let missing: String? = GalleryBrowser.missing ?? {
        (try? runProcess("python3", ["-c", "import cryptography"]))?.status == 0 ? nil
            : "SKIPPED: python3's cryptography is missing: run scripts/setup --test"
    }()
    static let passphrase = "link browser test"
    static let password = "correct horse battery"
    static let screenshots = Result { try TestEnvironment.makeTempDirectory("link-browser-shots").path }
    static let album = "Summer"

    struct Links: Sendable {
        var library: String
        /// check name → the link's path and fragment (`/l/<token>#<key>`).
        var paths: [String: String]
        var keys: [String: (raw: Data, text: String)]
    }

    /// The samples in one album and its links, made once per test process.
    static let links = Result { () throws -> Links in
        let root = try TestEnvironment.makeTempDirectory("link-browser").path
        let library = root + "/lib"
        try keepsake(["ingest", TestEnvironment.samples.appendingPathComponent("media").path, "--library", library, "--album", album])
        try Data(password.utf8).write(to: URL(fileURLWithPath: root + "/password"))
        var paths: [String: String] = [:]
        func create(_ name: String, _ options: [String]) throws {
            paths[name] = try linkPath(keepsake(["share", "link", "create", album, "--library", library, "--title", "Summer " + name] + options))
        }
        try create("open", [])
        try create("password", ["--password-file", root + "/password"])
        try create("download", ["--allow-download"])
        try create("swapped", [])
        try create("expired", ["--expires", "1s"])
        try create("revoked", [])
        let revoked = String(paths["revoked"]!.split(separator: "/")[1].prefix { $0 != "#" })
        try keepsake(["share", "link", "rm", revoked, "--library", library])
        Thread.sleep(forTimeInterval: 1.5)  // the expired link's second
        var keys: [String: (raw: Data, text: String)] = [:]
        for (name, path) in paths {
            let text = String(path.split(separator: "#")[1])
            var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            keys[name] = (Data(base64Encoded: base64)!, text)
        }
        return Links(library: library, paths: paths, keys: keys)
    }

    /// 200 small photos (ffmpeg's test pattern, each frame another picture) in one album, and its link.
    static func benchLinks() throws -> Links {
        let root = try TestEnvironment.makeTempDirectory("link-bench").path
        try FileManager.default.createDirectory(atPath: root + "/photos", withIntermediateDirectories: true)
        let made = try runProcess("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1600x1200:rate=1", "-frames:v", "200",
                                             "-q:v", "3", root + "/photos/bench%03d.jpg"])
        guard made.status == 0 else { throw BrowserTestError("ffmpeg made no photos: \(made.stderrText)") }
        let library = root + "/lib"
        try keepsake(["ingest", root + "/photos", "--library", library, "--album", album])
        let path = try linkPath(keepsake(["share", "link", "create", album, "--library", library]))
        return Links(library: library, paths: ["bench": path], keys: [:])
    }

    @discardableResult
    static func keepsake(_ arguments: [String]) throws -> String {
        let result = try Keepsake.run(arguments, passphrase: passphrase)
        guard result.status == 0 else { throw BrowserTestError("keepsake \(arguments.prefix(3).joined(separator: " ")) failed: \(result.stderrText)") }
        return result.stdoutText
    }

    /// `/l/<token>#<key>` from `share link create`'s output.
    static func linkPath(_ output: String) throws -> String {
        guard let match = output.firstMatch(of: /\/l\/[0-9a-f]{32}#[A-Za-z0-9_-]{43}/) else {
            throw BrowserTestError("share link create printed no link: \(output)")
        }
        return String(match.output)
    }

    /// Starts `keepsake serve --links-only` without the passphrase, runs the browser `checks`, stops it; the
    /// server's output.
    @discardableResult
    static func run(_ checks: [String], on links: Links? = nil) throws -> String {
        let links = try links ?? self.links.get()
        let folder = try TestEnvironment.makeTempDirectory("link-browser-run").path
        let log = folder + "/server.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Keepsake.binary)
        server.arguments = ["serve", "--links-only", "--library", links.library, "--listen", "127.0.0.1:0"]
        server.environment = ProcessInfo.processInfo.environment.filter { $0.key != "KEEPSAKE_PASSPHRASE" }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        server.standardOutput = output
        server.standardError = output
        try server.run()
        defer {
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        let base = try readBase(log)
        let screenshots = try screenshots.get()
        print("screenshots: \(screenshots)")
        let media = TestEnvironment.samples.appendingPathComponent("media")
        let config: [String: Any] = [
            "links": links.paths.mapValues { base + $0 },
            "password": password,
            "items": try itemCount(links.library),
            "store": links.library,
            "downloadName": "osxphotos__Pumkins1.jpg",
            "downloadSample": media.appendingPathComponent("cameras/osxphotos__Pumkins1.jpg").path,
            "livePhoto": "IMG_3582",
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/link_browser.py").path
        let result = try runProcess("python3", [script, folder + "/config.json", screenshots] + checks)
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
        print(lines.joined(separator: "\n"))
        for check in checks {
            #expect(lines.contains { $0 == "PASS \(check)" }, "\(lines.first { $0.hasPrefix("FAIL \(check)") } ?? "\(check): no result; \(result.stderrText.suffix(2000))")")
        }
        #expect(result.status == 0)
        server.terminate()
        server.waitUntilExit()
        return try String(contentsOfFile: log, encoding: .utf8)
    }

    static func itemCount(_ library: String) throws -> Int {
        try keepsake(["ls", "--library", library, "--album", album, "--json"]).split(separator: "\n").count
    }

    /// The server's base URL (`http://127.0.0.1:PORT`), from its first lines.
    private static func readBase(_ log: String) throws -> String {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/) { return String(match.output) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BrowserTestError("keepsake serve --links-only printed no URL: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }
}
