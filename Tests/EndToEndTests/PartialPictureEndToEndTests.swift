import Foundation
import Testing
import TestSupport

/// Issue 20, item 5, as a user sees it: the corpus pictures cut short are stored with a thumbnail of what is there,
/// through the sandboxed media workers, and `ls --json` says which are partial.
@Suite struct PartialPictureEndToEndTests {
    @Test(.needsCorpus) func shortenedPicturesHaveThumbnailsAndTheCutOnesAreMarkedPartial() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let root = try TestEnvironment.makeTempDirectory("partial")
        let folder = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let expected = ["androidx-media__non-motion-photo-shortened.jpg": true, "androidx-media__ss-motion-photo-shortened.jpg": true,
                        "androidx-media__pixel-motion-photo-shortened.jpg": false,
                        "androidx-media__pixel-motion-photo-video-removed-shortened.jpg": false,
                        "androidx-media__non-motion-photo-shortened.png": false]
        for name in expected.keys {
            try FileManager.default.copyItem(at: corpus.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let library = root.appendingPathComponent("library").path
        let ingest = try Keepsake.run(["ingest", folder.path, "--library", library])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let listing = try Keepsake.run(["ls", "--json", "--library", library])
        let items = listing.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(items.count == expected.count)
        for item in items {
            let name = try #require(((item["originals"] as? [[String: Any]])?.first?["name"]) as? String)
            #expect(item["thumbnail"] as? Bool == true, "\(name) has no thumbnail")
            #expect(item["partial"] as? Bool == expected[name], "\(name)")
            #expect(((item["notProduced"] as? [[String: Any]]) ?? []).allSatisfy { $0["stage"] as? String != "thumbnail" }, "\(name)")
        }
    }
}
