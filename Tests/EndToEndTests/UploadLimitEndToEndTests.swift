import Foundation
import Testing
import TestSupport

/// `ingest --limit-upload` into the local store and into S3 (moto): a lower bound on the time only (a busy machine is
/// slower, never faster).
@Suite(.serialized) struct UploadLimitEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func copy(_ sample: String, to path: URL) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: samples + "/" + sample, toPath: path.path)
    }

    func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test(arguments: ["local", "s3"])
    func ingestWithLimitUploadTakesAtLeastSizeOverLimit(store: String) throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-limit")
        let folder = root.appendingPathComponent("Photos")
        for name in ["osxphotos__Pumkins1.jpg", "osxphotos__Tulips.jpg", "osxphotos__wedding.jpg"] {
            try copy("cameras/" + name, to: folder.appendingPathComponent(name))
        }
        try copy("iphone/osxphotos__IMG_3582_edited.heic", to: folder.appendingPathComponent("edited.heic"))
        let library = root.appendingPathComponent("lib").path
        let kibPerSecond = 512
        var arguments = ["ingest", folder.path, "--library", library, "--json", "--no-streams", "--jobs", "4",
                         "--limit-upload", String(kibPerSecond)]
        if store == "s3" {
            let moto = try MotoServer.shared()
            arguments += ["--store", "s3://keepsake-limit-\(UUID().uuidString.prefix(8).lowercased())/lib", "--s3-endpoint", moto.endpoint]
        }
        let run = try Keepsake.run(arguments, environment: MotoServer.environment)
        #expect(run.status == 0, "\(run.stderrText)")
        let summary = try #require(jsonLines(run.stdoutText).last)
        let bytes = try #require(summary["bytesStored"] as? Int)
        let seconds = try #require(summary["seconds"] as? Double)
        #expect(bytes > 2_900_000, "a few MB: \(summary)")
        // The originals alone (thumbnails and metadata come on top), less the one second of burst.
        let floor = Double(bytes) / Double(kibPerSecond * 1024) - 1
        #expect(seconds >= floor, "\(bytes) bytes in \(seconds) s at \(kibPerSecond) KiB/s: at least \(floor) s")
    }
}
