import Foundation
import Testing
import TestSupport

/// `keepsake ingest` over the whole test corpus: every media file stored by its real type, every other file
/// listed with a reason, exit status 1, and a rerun that stores nothing.
@Suite(.serialized) struct CorpusIngestTests {
    struct Expected: Decodable { var file: String; var mime: String?; var kind: String }

    @Test(.needsCorpus)
    func corpusIngestHandlesEveryFile() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let expected = try JSONDecoder().decode([Expected].self, from: Data(contentsOf: corpus.appendingPathComponent("expected.json")))
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path

        let first = try Keepsake.run(["ingest", corpus.path, "--library", library, "--json"])
        #expect(first.status == 1, "some corpus files are not media, so the run reports failures")
        let outcomes = try jsonLines(first.stdoutText)
        let perFile = Dictionary(uniqueKeysWithValues: outcomes.dropLast().map { (($0["path"] as! NSString).lastPathComponent, $0) })

        for entry in expected where entry.file != "expected.json" {
            let outcome = try #require(perFile[entry.file], "\(entry.file) has no outcome")
            let status = outcome["status"] as? String
            if entry.kind == "unsupported" {
                #expect(status == "rejected", "\(entry.file)")
                #expect((outcome["reason"] as? String).map { $0 == "empty file" || $0.hasPrefix("unsupported: ") } == true)
            } else {
                // Two corpus files are byte-identical copies of others, so one of each pair is a duplicate.
                #expect(status == "stored" || status == "duplicate", "\(entry.file): \(outcome)")
                if status == "stored" { #expect(outcome["mimeType"] as? String == entry.mime, "\(entry.file) sniffed by its bytes") }
            }
        }
        #expect(perFile["expected.json"] == nil, "JSON sidecars are read as metadata, not ingested")
        let summary = try #require(outcomes.last)
        #expect(summary["rejected"] as? Int == expected.filter { $0.kind == "unsupported" && $0.file != "expected.json" }.count)
        #expect(summary["failed"] as? Int == 0)
        // SOURCES.md: four Live Photo pairs (one with differing names) and three motion photos; IMG_2908's
        // screenshot and video share a stem but are not a pair.
        #expect(summary["livePhotos"] as? Int == 4)
        #expect(summary["motionPhotos"] as? Int == 3)
        #expect(perFile["osxphotos__IMG_2908.PNG"]?["type"] as? String == "image")
        #expect(perFile["osxphotos__IMG_2908.MOV"]?["type"] as? String == "video")
        #expect(perFile["osxphotos__51F2BEF7-431A-4D31-8AC1-3284A57826AE_3.mov"]?["type"] as? String == "livePhoto")

        let second = try Keepsake.run(["ingest", corpus.path, "--library", library, "--json"])
        #expect(second.status == 1)
        let again = try #require(try jsonLines(second.stdoutText).last)
        #expect(again["bytesStored"] as? Int == 0)
        #expect(again["duplicates"] as? Int == expected.filter { $0.kind != "unsupported" }.count)

        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)")
    }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }
}
