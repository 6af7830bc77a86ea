import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake serve` on a library ingested from samples/, driven by Debian's chromium through chromedriver (selenium,
/// Tests/Browser/gallery_browser.py). Screenshots go to /tmp/keepsake-gallery-shots.
@Suite(.serialized, .enabled(if: GalleryBrowser.missing == nil, "\(GalleryBrowser.missing ?? "")"))
struct GalleryBrowserTests {
    @Test func logsInWithTheTokenURLAndWithThePassphraseForm() throws {
        try GalleryBrowser.run(["token-login", "passphrase-login"])
    }

    @Test func theTimelineAndAnAlbumShowEveryThumbnail() throws {
        try GalleryBrowser.run(["timeline", "album"])
    }

    @Test func aVideoPlaysAndSeeksAndALivePhotoPlays() throws {
        try GalleryBrowser.run(["video", "live-photo"])
    }

    @Test func aDownloadIsBitExact() throws {
        try GalleryBrowser.run(["download"])
    }

    /// The rendition made at ingest, not the 720 px thumbnail.
    @Test func theHEICItemShowsARenditionOfAtLeast1440Pixels() throws {
        try GalleryBrowser.run(["heic-rendition"])
    }
}

enum GalleryBrowser {
    static let passphrase = "gallery browser test"
    static let screenshots = "/tmp/keepsake-gallery-shots"

    /// Why the browser tests cannot run here (said in the test summary), or nil.
    static let missing = Chromium.missing

    /// The samples library, ingested once per test process.
    static let library = Result { () throws -> String in
        let root = try TestEnvironment.makeTempDirectory("gallery-browser").path
        let result = try Keepsake.run(["ingest", TestEnvironment.samples.appendingPathComponent("media").path,
                                       "--library", root + "/lib", "--album-per-folder"], passphrase: passphrase)
        guard result.status == 0 else { throw BrowserTestError("ingest of samples/ failed: \(result.stderrText)") }
        return root + "/lib"
    }

    /// Starts `keepsake serve` on a free loopback port, runs the browser `checks` against it, stops it.
    static func run(_ checks: [String]) throws {
        let library = try library.get()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Keepsake.binary)
        server.arguments = ["serve", "--library", library, "--listen", "127.0.0.1:0"]
        server.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": passphrase]) { $1 }
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let (base, tokenURL) = try readURLs(output.fileHandleForReading)
        try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/gallery_browser.py").path
        let result = try runProcess("python3", [script, base, tokenURL, passphrase,
                                                TestEnvironment.samples.appendingPathComponent("media").path, screenshots] + checks)
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
        print(lines.joined(separator: "\n"))
        for check in checks {
            #expect(lines.contains { $0 == "PASS \(check)" }, "\(lines.first { $0.hasPrefix("FAIL \(check)") } ?? "\(check): no result; \(result.stderrText.suffix(2000))")")
        }
        #expect(result.status == 0)
    }

    /// The server's base URL and one-time login URL, from its first lines.
    private static func readURLs(_ handle: FileHandle) throws -> (String, String) {
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("/login?token=") }),
               let start = line.range(of: "http") {
                let url = String(line[start.lowerBound...])
                return (String(url[..<url.range(of: "/login?")!.lowerBound]), url)
            }
        }
        throw BrowserTestError("keepsake serve printed no login URL: \(text)")
    }
}

struct BrowserTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
