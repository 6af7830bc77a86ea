import Foundation
import KeepsakeCrypto
import Testing
import TestSupport

/// Backup comes first: a photo or video whose `ftyp` box is damaged is stored as it is, whatever its metadata,
/// thumbnail or stream make of it.
@Suite struct DamagedMediaTests {
    @Test func everyDamagedFtypVariantIsStoredBitExact() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-damaged-ftyp")
        defer { try? FileManager.default.removeItem(at: base) }
        let folder = base.appendingPathComponent("in").path, library = base.appendingPathComponent("lib").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var expected: [String: (kind: String, hash: String)] = [:]  // by path
        for source in try FtypDamage.sources() {
            let original = Array(try #require(FileManager.default.contents(atPath: source.path)))
            let name = (source.path as NSString).lastPathComponent
            for damage in FtypDamage.allCases {
                let bytes = damage.apply(to: original)
                let path = folder + "/\(damage.rawValue)-\(name)"
                #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
                expected[path] = (source.kind, Blake2b.hash(bytes).hexString)
            }
        }
        #expect(expected.count == 35)

        let ingest = try Keepsake.run(["ingest", folder, "--library", library, "--json", "--no-streams"])
        let summary = ingest.stdoutText.split(separator: "\n").last.map { String($0) } ?? ""
        #expect(ingest.status == 0, "\(ingest.stdoutText)\n\(ingest.stderrText)")
        #expect(summary.contains("\"failed\":0") && summary.contains("\"rejected\":0"), "\(summary)")

        let listed = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(listed.status == 0, "\(listed.stderrText)")
        var seen: Set<String> = []
        for line in listed.stdoutText.split(separator: "\n") {
            let item = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for original in item["originals"] as? [[String: Any]] ?? [] {
                let path = original["path"] as? String ?? ""
                guard let want = expected[path] else { Issue.record("unexpected original \(path)"); continue }
                #expect(item["type"] as? String == want.kind, "\(path)")
                #expect(original["blake2b"] as? String == want.hash, "\(path)")
                seen.insert(path)
            }
        }
        #expect(seen == Set(expected.keys), "not stored: \(Set(expected.keys).subtracting(seen).sorted())")

        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains("no problems found"), "\(verify.stdoutText)")
    }
}
