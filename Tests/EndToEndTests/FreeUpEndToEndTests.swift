import Foundation
import Store
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake free-up DIR` (issue 21, item 4) against every way it could lose data: it deletes a local file only when the
/// library holds its exact bytes and the store gives them back.
@Suite(.serialized) struct FreeUpEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    struct Line: Decodable { var path: String?, deleted: Bool?, reason: String?, summary: Bool? }

    func freeUp(_ folder: String, _ library: String, _ options: [String] = []) throws -> [String: Line] {
        let result = try Keepsake.run(["free-up", folder, "--json", "--library", library] + options)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        let lines = try result.stdoutText.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        return Dictionary(lines.compactMap { line in line.path.map { (($0 as NSString).lastPathComponent, line) } }) { a, _ in a }
    }

    @Test func onlyWhatTheLibraryHoldsBitExactIsDeleted() throws {
        let root = try TestEnvironment.makeTempDirectory("free-up")
        let photos = root.appendingPathComponent("photos").path, elsewhere = root.appendingPathComponent("elsewhere").path
        let library = root.appendingPathComponent("library").path
        for folder in [photos, elsewhere] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let copy = { (sample: String, to: String) in try FileManager.default.copyItem(atPath: self.samples + "/" + sample, toPath: to) }
        try copy("cameras/osxphotos__Tulips.jpg", photos + "/held.jpg")
        try copy("cameras/osxphotos__wedding.jpg", photos + "/changed.jpg")
        try copy("cameras/osxphotos__Pumkins1.jpg", photos + "/lost-object.jpg")
        try copy("iphone/androidx-media__tokyo.jpg", photos + "/hard.jpg")
        try copy("android/androidx-media__london.jpg", photos + "/removed.jpg")
        try copy("iphone/osxphotos__IMG_0102.HEIC", elsewhere + "/other-album.heic")
        let ingest = try Keepsake.run(["ingest", photos, "--album", "Photos", "--library", library])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let other = try Keepsake.run(["ingest", elsewhere, "--album", "Other", "--library", library])
        #expect(other.status == 0, "\(other.stderrText)")

        // After the ingest: a copy of something held only by another album's item; a file changed; a symlink; a hard
        // link; a file never ingested; an item removed with `rm`; an original whose object the store lost.
        try copy("iphone/osxphotos__IMG_0102.HEIC", photos + "/copy-of-other.heic")
        let changed = try FileHandle(forWritingTo: URL(fileURLWithPath: photos + "/changed.jpg"))
        try changed.seekToEnd()
        try changed.write(contentsOf: Data([0]))
        try changed.close()
        try FileManager.default.createSymbolicLink(atPath: photos + "/link.jpg", withDestinationPath: photos + "/held.jpg")
        #expect(link(photos + "/hard.jpg", photos + "/hard-too.jpg") == 0)
        try copy("cameras/osxphotos__badimage.jpeg", photos + "/never.jpeg")
        let listing = try Keepsake.run(["ls", "--json", "--library", library]).stdoutText.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func id(_ name: String) -> String? {
            listing.first { (($0["originals"] as? [[String: Any]]) ?? []).contains { ($0["path"] as? String)?.hasSuffix("/" + name) == true } }?["id"] as? String
        }
        let removedId = try #require(id("removed.jpg"))
        #expect(try Keepsake.run(["rm", removedId, "--library", library]).status == 0)
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        let lostId = try #require(id("lost-object.jpg"))
        let lostObject = try #require(try opened.originals(of: lostId).first).objectName
        let objectFile = library + "/store/data/" + lostObject.dropFirst("data/".count).prefix(2) + "/" + lostObject.dropFirst("data/".count)
        try FileManager.default.removeItem(atPath: objectFile)

        // A dry run deletes nothing, and says what it would.
        let dry = try freeUp(photos, library, ["--dry-run"])
        #expect(dry["held.jpg"]?.deleted == true)
        #expect(FileManager.default.fileExists(atPath: photos + "/held.jpg"))
        // --older-than keeps what is newer.
        let recent = try freeUp(photos, library, ["--older-than", "30d"])
        #expect(recent.values.allSatisfy { $0.deleted != true }, "\(recent)")

        // --trust-index does not read objects back, but still finds one the store lost.
        let trusted = try freeUp(photos, library, ["--trust-index", "--dry-run"])
        #expect(trusted["lost-object.jpg"]?.deleted == false)

        let decided = try freeUp(photos, library)
        #expect(decided["held.jpg"]?.deleted == true)
        #expect(decided["copy-of-other.heic"]?.deleted == true, "held bit-exact by the item in Other")
        #expect(decided["copy-of-other.heic"]?.reason?.contains("Other") == true)
        for kept in ["changed.jpg", "lost-object.jpg", "link.jpg", "hard.jpg", "hard-too.jpg", "never.jpeg", "removed.jpg"] {
            #expect(decided[kept]?.deleted == false, "\(kept): \(String(describing: decided[kept]))")
            var info = stat()
            #expect(lstat(photos + "/" + kept, &info) == 0, "\(kept) was deleted")
        }
        #expect(decided["link.jpg"]?.reason?.contains("symlink") == true)
        #expect(decided["hard.jpg"]?.reason?.contains("hard link") == true)
        #expect(decided["lost-object.jpg"]?.reason?.contains("store") == true)
        #expect(!FileManager.default.fileExists(atPath: photos + "/held.jpg") && !FileManager.default.fileExists(atPath: photos + "/copy-of-other.heic"))
        // What was deleted comes back from the library (the export fails only the original the store lost).
        let out = root.appendingPathComponent("export").path
        let export = try Keepsake.run(["export", "--to", out, "--album", "Photos", "--library", library])
        #expect(export.status == 1 && export.stdoutText.contains("lost-object.jpg"), "\(export.stdoutText)\(export.stderrText)")
        #expect(FileManager.default.contents(atPath: out + "/Photos/held.jpg") == FileManager.default.contents(atPath: samples + "/cameras/osxphotos__Tulips.jpg"))
    }
}
