import Foundation
import KeepsakeCrypto
import Store
import Testing
import TestSupport

/// The binary against a real S3-compatible server (moto on loopback), checked from outside with the AWS CLI.
@Suite(.serialized) struct S3EndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func run(_ arguments: [String], store: String, endpoint: String, library: String) throws -> ProcessResult {
        try Keepsake.run(arguments + ["--library", library, "--store", store, "--s3-endpoint", endpoint],
                         environment: MotoServer.environment)
    }

    @Test func ingestIntoABucketThenRecoverOnANewMachine() throws {
        let moto = try MotoServer.shared()
        let bucket = "keepsake-e2e-\(ObjectID.random().hex.prefix(8))"
        let store = "s3://\(bucket)/photos/keepsake"
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path

        let ingest = try run(["ingest", samples, "--album-per-folder"], store: store, endpoint: moto.endpoint, library: library)
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: Library.storePath(library: library)), "no local store beside an S3 one")

        // From outside: only random names under the prefix.
        let listing = try moto.aws(["s3", "ls", "s3://\(bucket)/photos/keepsake/", "--recursive"])
        #expect(listing.status == 0, "\(listing.stderrText)")
        let keys = listing.stdoutText.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(keys.contains("photos/keepsake/keys/master"))
        #expect(keys.filter { $0.hasPrefix("photos/keepsake/data/") }.count >= 3)
        for key in keys where key != "photos/keepsake/keys/master" {
            #expect(key.wholeMatch(of: /photos\/keepsake\/(data|index)\/[0-9a-f]{32}/) != nil, "\(key)")
        }

        // One original fetched with the AWS CLI decrypts to the file that was ingested.
        let location = StoreLocation.s3(try S3Configuration(url: store, endpoint: moto.endpoint, environment: MotoServer.environment))
        let opened = try Library.open(at: library, store: location, passphrase: "test passphrase", create: false)
        let item = try #require(try opened.index.items().first { $0.type == .image })
        let original = try #require(try opened.index.originals(of: item.id).first)
        let download = try TestEnvironment.makeTempDirectory().appendingPathComponent("object").path
        let copy = try moto.aws(["s3", "cp", "s3://\(bucket)/photos/keepsake/\(original.objectName)", download])
        #expect(copy.status == 0, "\(copy.stderrText)")
        var plain = [UInt8]()
        let opener = try OpeningStream(key: try opened.fileKey(of: item.id)) { plain.append(contentsOf: $0) }
        try opener.write(Array(try Data(contentsOf: URL(fileURLWithPath: download))))
        try opener.finish()
        #expect(plain == Array(try Data(contentsOf: URL(fileURLWithPath: original.sourcePath))))

        // A new machine: nothing but the store and the passphrase.
        let before = try Keepsake.run(["ls", "--json", "--library", library], environment: MotoServer.environment.merging(
            ["KEEPSAKE_STORE": store, "AWS_ENDPOINT_URL": moto.endpoint]) { $1 })
        #expect(before.status == 0, "\(before.stderrText)")
        try FileManager.default.removeItem(atPath: library)
        let newMachine = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let after = try run(["ls", "--json"], store: store, endpoint: moto.endpoint, library: newMachine)
        #expect(after.status == 0, "\(after.stderrText)")
        #expect(after.stdoutText == before.stdoutText)
        #expect(after.stdoutText.split(separator: "\n").count >= 3)
        let verify = try run(["verify", "--read-data", "--grace", "0"], store: store, endpoint: moto.endpoint, library: newMachine)
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        #expect(!verify.stdoutText.contains("orphan"), "\(verify.stdoutText)")
        let again = try run(["ingest", samples, "--album-per-folder", "--json"], store: store, endpoint: moto.endpoint, library: newMachine)
        #expect(again.status == 0, "\(again.stderrText)")
        let summary = try JSONSerialization.jsonObject(with: Data(again.stdoutText.split(separator: "\n").last!.utf8)) as! [String: Any]
        #expect(summary["bytesStored"] as? Int == 0, "everything is a duplicate on the new machine: \(again.stdoutText)")
    }

    @Test func anUnreachableOrRefusingStoreOrAMissingLibraryIsExitStatusThree() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let unreachable = try run(["ls"], store: "s3://bucket/x", endpoint: "http://127.0.0.1:1", library: library)
        #expect(unreachable.status == 3)
        #expect(unreachable.stderrText.contains("unreachable"), "\(unreachable.stderrText)")

        let moto = try MotoServer.shared()
        let missing = try run(["ls"], store: "s3://keepsake-e2e-none/x", endpoint: moto.endpoint, library: library)
        #expect(missing.status == 3)
        #expect(missing.stderrText.contains("s3://keepsake-e2e-none/x is not a Keepsake library"), "\(missing.stderrText)")

        let refused = try run(["ingest", samples], store: "s3://keepsake-e2e/x", endpoint: try MotoServer.refusingEveryKey().endpoint,
                              library: library)
        #expect(refused.status == 3)
        #expect(refused.stderrText.contains("HTTP 403 (check AWS_ACCESS_KEY_ID"), "\(refused.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: library + "/index.sqlite"))

        let noCredentials = try Keepsake.run(["ls", "--library", library, "--store", "s3://bucket/x"],
                                             environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        #expect(noCredentials.status == 2)
        #expect(noCredentials.stderrText.contains("AWS_ACCESS_KEY_ID"))
    }
}
