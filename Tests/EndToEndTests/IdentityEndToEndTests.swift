import Foundation
import Testing
import TestSupport

/// `keepsake identity` (issue 18, item 1): the library's public key and verification phrase, the same in every
/// library folder of the library, made for a library that had none, and refused (never replaced) when the store's
/// identity was tampered with.
@Suite(.serialized) struct IdentityEndToEndTests {
    struct Identity: Decodable, Equatable {
        var publicKey: String
        var verificationPhrase: String
    }

    func identity(_ library: String, extra: [String] = [], environment: [String: String] = [:],
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> Identity? {
        let result = try Keepsake.run(["identity", "--json", "--library", library] + extra, environment: environment)
        #expect(result.status == 0, "\(result.stderrText)", sourceLocation: sourceLocation)
        guard result.status == 0 else { return nil }
        return try JSONDecoder().decode(Identity.self, from: result.stdout)
    }

    /// A new library (made by an ingest of an empty folder), and a second library folder whose `store` is the first's.
    func twoFolders() throws -> (String, String) {
        let root = try TestEnvironment.makeTempDirectory("identity")
        let empty = root.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let a = root.appendingPathComponent("a").path, b = root.appendingPathComponent("b").path
        let ingest = try Keepsake.run(["ingest", empty, "--library", a])
        #expect(ingest.status == 0, "\(ingest.stderrText)")
        try FileManager.default.createDirectory(atPath: b, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: b + "/store", withDestinationPath: a + "/store")
        return (a, b)
    }

    /// The phrase, computed from the printed public key alone by Python's hashlib (an independent BLAKE2b).
    func oraclePhrase(_ publicKey: String) throws -> String {
        let script = """
            import base64, hashlib, sys
            key = base64.urlsafe_b64decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 4))
            assert len(key) == 32
            d = hashlib.blake2b(b"keepsake verification 1" + key, digest_size=64).digest()
            print(" ".join("%05d" % (int.from_bytes(d[5 * g:5 * g + 5], "big") % 100000) for g in range(5)))
            """
        let result = try runProcess("/usr/bin/python3", ["-c", script, publicKey])
        #expect(result.status == 0, "\(result.stderrText)")
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func everyFolderPrintsTheSameIdentityAndALibraryWithoutOneGetsOne() throws {
        let (a, b) = try twoFolders()
        let first = try #require(try identity(a))
        #expect(first.publicKey.wholeMatch(of: /[A-Za-z0-9_-]{43}/) != nil, "\(first.publicKey)")
        #expect(first.verificationPhrase == (try oraclePhrase(first.publicKey)))
        #expect(try identity(b) == first)
        let text = try Keepsake.run(["identity", "--library", b])
        #expect(text.status == 0 && text.stdoutText == "public key:          \(first.publicKey)\nverification phrase: \(first.verificationPhrase)\n",
                "\(text.stdoutText)\(text.stderrText)")

        // A library made before identities: no keys/identity in the store, no copy in any folder.
        for path in [a + "/store/keys/identity", a + "/identity", b + "/identity"] { try FileManager.default.removeItem(atPath: path) }
        let made = try #require(try identity(b))
        #expect(made.publicKey != first.publicKey)
        #expect(made.verificationPhrase == (try oraclePhrase(made.publicKey)))
        #expect(FileManager.default.fileExists(atPath: a + "/store/keys/identity"))
        #expect(try identity(a) == made)
    }

    @Test func aTamperedIdentityIsRefusedWithExitThreeAndLeftAsItIs() throws {
        let (a, b) = try twoFolders()
        let object = a + "/store/keys/identity"
        // One bit of the sealed secret key flipped.
        var file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: object))) as? [String: Any])
        var secret = try #require(file["secretKey"] as? [Int])
        secret[40] ^= 1
        file["secretKey"] = secret
        let bytes = try JSONSerialization.data(withJSONObject: file)
        try bytes.write(to: URL(fileURLWithPath: object))

        let refused = try Keepsake.run(["identity", "--library", b])
        #expect(refused.status == 3, "\(refused.stdoutText)\(refused.stderrText)")
        #expect(refused.stderrText.contains("the library's identity (keys/identity in the store) is refused: its secret key does not open"),
                "\(refused.stderrText)")
        #expect(refused.stdoutText.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: object)) == bytes, "never replaced")
        // The library itself still opens (the identity matters to sharing only), and says what is wrong.
        let list = try Keepsake.run(["ls", "--library", b])
        #expect(list.status == 0 && list.stderrText.contains("is refused"), "\(list.stderrText)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: object)) == bytes)
    }

    /// Without the store, a folder prints the identity it keeps a copy of.
    @Test func aFolderPrintsItsIdentityWhileTheStoreIsUnreachable() throws {
        let moto = try MotoServer.shared()
        let root = try TestEnvironment.makeTempDirectory("identity-s3")
        let empty = root.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let library = root.appendingPathComponent("lib").path
        let store = ["--store", "s3://keepsake-identity-\(UUID().uuidString.prefix(8).lowercased())/lib"]
        let ingest = try Keepsake.run(["ingest", empty, "--library", library] + store + ["--s3-endpoint", moto.endpoint],
                                      environment: MotoServer.environment)
        #expect(ingest.status == 0, "\(ingest.stderrText)")
        let online = try #require(try identity(library, extra: store + ["--s3-endpoint", moto.endpoint], environment: MotoServer.environment))
        let offline = try identity(library, extra: store + ["--s3-endpoint", "http://127.0.0.1:1"], environment: MotoServer.environment)
        #expect(offline == online)
    }
}
