import Foundation
import Testing
import TestSupport

/// Public links as a user makes and serves them (issue 17): `share link create|ls|rm` and `serve --links-only`
/// started without the passphrase, checked with an oracle that opens links with Python's `cryptography`
/// (`Tests/Browser/link_oracle.py`) rather than with keepsake's own code.
@Suite(.serialized, .enabled(if: TestEnvironment.hasPython(module: "cryptography"), "needs python3 with cryptography (scripts/setup --test)"))
struct PublicLinkEndToEndTests {
    static let passphrase = "links end to end"

    struct Served {
        var base: String
        var process: Process
        var output: Pipe
        var errors: Pipe
    }

    /// A library of the samples' still photos and one video in the album "Holiday".
    func makeLibrary() throws -> String {
        let root = try TestEnvironment.makeTempDirectory("keepsake-links").path
        let input = root + "/in"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let media = TestEnvironment.samples.appendingPathComponent("media").path
        for name in ["cameras/osxphotos__Tulips.jpg", "iphone/osxphotos__IMG_0102.HEIC", "iphone/osxphotos__IMG_3539.MOV"] {
            try FileManager.default.copyItem(atPath: media + "/" + name, toPath: input + "/" + (name as NSString).lastPathComponent)
        }
        let ingest = try Keepsake.run(["ingest", input, "--library", root + "/lib", "--album", "Holiday"], passphrase: Self.passphrase)
        #expect(ingest.status == 0, "\(ingest.stderrText)")
        return root + "/lib"
    }

    func serveLinks(_ library: String) throws -> Served {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Keepsake.binary)
        server.arguments = ["serve", "--links-only", "--library", library, "--listen", "127.0.0.1:0"]
        var environment = ProcessInfo.processInfo.environment
        environment["KEEPSAKE_PASSPHRASE"] = nil
        server.environment = environment
        let output = Pipe(), errors = Pipe()
        server.standardOutput = output
        server.standardError = errors
        try server.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !text.contains("/l/") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let start = text.range(of: "http"), let end = text.range(of: "/l/") else {
            server.terminate()
            throw LinkTestError("keepsake serve --links-only printed no address: \(text)")
        }
        return Served(base: String(text[start.lowerBound..<end.lowerBound]), process: server, output: output, errors: errors)
    }

    func oracle(_ url: String, password: String? = nil) throws -> [String: Any] {
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/link_oracle.py").path
        let result = try runProcess("python3", [script, url] + (password.map { [$0] } ?? []))
        #expect(result.status == 0, "\(result.stderrText)")
        return try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] ?? [:]
    }

    func create(_ library: String, base: String, _ options: [String] = []) throws -> (url: String, key: String) {
        let made = try Keepsake.run(["share", "link", "create", "Holiday", "--library", library, "--base-url", base] + options,
                                    passphrase: Self.passphrase)
        #expect(made.status == 0, "\(made.stderrText)")
        let url = made.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        return (url, String(url.split(separator: "#").last ?? ""))
    }

    @Test func aLinkServedWithoutThePassphraseOpensAndItsKeyIsNowhereOnTheServer() throws {
        let library = try makeLibrary()
        let served = try serveLinks(library)
        defer { served.process.terminate(); served.process.waitUntilExit() }
        let plain = try create(library, base: served.base)
        let root = (library as NSString).deletingLastPathComponent
        let passwordFile = root + "/password"
        try "a long walk\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let guarded = try create(library, base: served.base, ["--password-file", passwordFile, "--allow-download", "--no-location"])

        let opened = try oracle(plain.url)
        #expect(opened["items"] as? Int == 3 && opened["originals"] as? Int == 0 && opened["allowDownload"] as? Bool == false)
        let counts = opened["opened"] as? [String: Int] ?? [:]
        #expect(counts["thumbnail"] == 3 && counts["large"] == 2 && counts["playlist"] == 1, "\(opened)")
        #expect(try oracle(guarded.url)["passwordAsked"] as? Bool == true)
        #expect(try oracle(guarded.url, password: "a wrong walk")["unlock"] as? Int == 403)
        let unlocked = try oracle(guarded.url, password: "a long walk")
        #expect(unlocked["unlock"] as? Int == 200 && unlocked["originals"] as? Int == 3 && unlocked["places"] as? Int == 0)

        // The fragment keys are in no file of the library folder (store, index, caches) and in nothing the server said.
        let listed = try Keepsake.run(["share", "link", "ls", "--json", "--library", library], passphrase: Self.passphrase)
        let lines = try listed.stdoutText.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        #expect(listed.status == 0 && lines.count == 2)
        // Each was opened once (the password link: once with the right password; refusals are not opens).
        #expect(lines.allSatisfy { $0["opens"] as? Int == 1 && $0["state"] as? String == "live" && $0["album"] as? String == "Holiday" }, "\(lines)")
        #expect(lines.contains { $0["password"] as? Bool == true && $0["allowDownload"] as? Bool == true && $0["showLocation"] as? Bool == false })
        served.process.terminate()
        served.process.waitUntilExit()
        let said = served.output.fileHandleForReading.readDataToEndOfFile() + served.errors.fileHandleForReading.readDataToEndOfFile()
        for key in [plain.key, guarded.key] {
            let raw = Data(base64Encoded: key.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")!
            let forms = [Data(key.utf8), raw, Data(raw.base64EncodedString().utf8), Data(raw.map { String(format: "%02x", $0) }.joined().utf8)]
            #expect(forms.allSatisfy { said.range(of: $0) == nil })
            let enumerator = FileManager.default.enumerator(atPath: library)!
            var files = 0
            while let path = enumerator.nextObject() as? String {
                let full = library + "/" + path
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue,
                      let data = FileManager.default.contents(atPath: full) else { continue }
                files += 1
                #expect(forms.allSatisfy { data.range(of: $0) == nil }, "a form of the link key is in \(path)")
            }
            #expect(files > 20)
        }
        let verify = try Keepsake.run(["verify", "--library", library], passphrase: Self.passphrase)
        #expect(verify.status == 0, "links/ objects are not the library's to report: \(verify.stdoutText)")
    }

    @Test func aRevokedLinkIsGoneEvenForAServerStartedAfterwards() throws {
        let library = try makeLibrary()
        var served = try serveLinks(library)
        let link = try create(library, base: served.base)
        #expect(try oracle(link.url)["items"] as? Int == 3)
        let id = String(link.url.split(separator: "/l/").last!.split(separator: "#").first!)
        let removed = try Keepsake.run(["share", "link", "rm", id, "--library", library], passphrase: Self.passphrase)
        #expect(removed.status == 0, "\(removed.stderrText)")
        served.process.terminate()
        served.process.waitUntilExit()
        served = try serveLinks(library)
        defer { served.process.terminate(); served.process.waitUntilExit() }
        let again = try oracle(link.url.replacingOccurrences(of: link.url.components(separatedBy: "/l/")[0], with: served.base))
        #expect(again["page"] as? Int == 410 && again["items"] == nil)
        let listed = try Keepsake.run(["share", "link", "ls", "--library", library], passphrase: Self.passphrase)
        #expect(listed.stdoutText.contains("\(id)  Holiday  revoked"))
    }
}

struct LinkTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
