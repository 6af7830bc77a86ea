import Foundation
import KeepsakeCrypto
import Store
import Testing
import TestSupport

/// A Live Photo whose still and video a phone sync tool copies into one folder minutes apart, so that they land in
/// two `ingest` runs (issue 15 item 6), in either order, on an S3 store that a second library folder also opens.
@Suite(.serialized) struct LivePhotoEndToEndTests {
    static let iphone = TestEnvironment.samples.appendingPathComponent("media/iphone").path
    static let still = "osxphotos__IMG_3582_edited.heic"
    static let video = "osxphotos__IMG_3582_edited.mov"

    @Test(arguments: [(still, video), (video, still)])
    func halvesIngestedInTwoRunsAreOneLivePhoto(first: String, second: String) throws {
        let moto = try MotoServer.shared()
        let store = "s3://keepsake-e2e-\(ObjectID.random().hex.prefix(8))/live"
        let root = try TestEnvironment.makeTempDirectory().path
        let phone = root + "/phone"
        try FileManager.default.createDirectory(atPath: phone, withIntermediateDirectories: true)
        func run(_ arguments: [String], library: String = "a") throws -> ProcessResult {
            try Keepsake.run(arguments + ["--library", root + "/" + library, "--store", store, "--s3-endpoint", moto.endpoint],
                             environment: MotoServer.environment)
        }
        func lines(_ result: ProcessResult) throws -> [[String: Any]] {
            try result.stdoutText.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        }

        try FileManager.default.copyItem(atPath: Self.iphone + "/" + first, toPath: phone + "/" + first)
        let one = try run(["ingest", phone, "--album-per-folder", "--json"])
        #expect(one.status == 0, "\(one.stdoutText)\(one.stderrText)")
        try FileManager.default.copyItem(atPath: Self.iphone + "/" + second, toPath: phone + "/" + second)
        let two = try run(["ingest", phone, "--album-per-folder", "--json"])
        #expect(two.status == 0, "\(two.stdoutText)\(two.stderrText)")
        let outcome = try #require(try lines(two).first { ($0["path"] as? String)?.hasSuffix(second) == true })
        #expect(outcome["status"] as? String == "stored" && outcome["type"] as? String == "livePhoto", "\(outcome)")

        let listing = try run(["ls", "--json"])
        #expect(listing.status == 0, "\(listing.stderrText)")
        let items = try lines(listing)
        #expect(items.count == 1, "\(listing.stdoutText)")
        let item = try #require(items.first)
        #expect(item["type"] as? String == "livePhoto")
        #expect(item["albums"] as? [String] == ["phone"])
        #expect(item["thumbnail"] as? Bool == true && item["stream"] as? Bool == true, "\(item)")
        let originals = try #require(item["originals"] as? [[String: Any]])
        #expect(originals.map { $0["name"] as? String } == [Self.still, Self.video], "the still first")
        for original in originals {
            let bytes = try #require(FileManager.default.contents(atPath: Self.iphone + "/" + (original["name"] as! String)))
            #expect(original["blake2b"] as? String == Blake2b.hash(Array(bytes)).hexString)
        }

        let verify = try run(["verify", "--read-data"])
        #expect(verify.status == 0 && verify.stdoutText.contains("no problems found"), "\(verify.stdoutText)")
        // The replaced item's own metadata object (and a video's thumbnail, which the still's replaces) belong to no
        // item any more: a repair removes them, and nothing the Live Photo reuses.
        let repair = try run(["verify", "--repair", "--grace", "0s"])
        #expect(repair.status == 0, "\(repair.stdoutText)")
        #expect(repair.stdoutText.contains("removed \(first == Self.still ? 1 : 2) orphaned objects"), "\(repair.stdoutText)")
        let after = try run(["verify", "--read-data"])
        #expect(after.status == 0 && after.stdoutText.contains("no problems found"), "\(after.stdoutText)")

        let export = try run(["export", "--to", root + "/out"])
        #expect(export.status == 0, "\(export.stdoutText)\(export.stderrText)")
        for name in [Self.still, Self.video] {
            #expect(FileManager.default.contents(atPath: root + "/out/phone/" + name) == FileManager.default.contents(atPath: phone + "/" + name),
                    "\(name) exported bit-exact")
        }

        // Another machine (a new library folder on the same store) rebuilds the same library.
        let elsewhere = try run(["ls", "--json"], library: "b")
        #expect(elsewhere.status == 0, "\(elsewhere.stderrText)")
        #expect(elsewhere.stdoutText == listing.stdoutText)
        let verifyElsewhere = try run(["verify", "--read-data"], library: "b")
        #expect(verifyElsewhere.status == 0 && verifyElsewhere.stdoutText.contains("no problems found"), "\(verifyElsewhere.stdoutText)")
    }

    /// The daemon takes the still in one batch and the video, copied a few seconds later, in another.
    @Test func theDaemonPairsHalvesThatSettleInTwoBatches() throws {
        let daemonTests = DaemonTests()
        let (root, folder, library) = try daemonTests.makeWatch(mode: "single")
        let daemon = try DaemonTests.RunningDaemon(library: library, folder: root)
        let still = folder.appendingPathComponent(Self.still), video = folder.appendingPathComponent(Self.video)
        try FileManager.default.copyItem(atPath: Self.iphone + "/" + Self.still, toPath: still.path)
        let first = try daemonTests.waitForListing(library) { $0.count == 1 }
        #expect(first.map { $0["type"] as? String } == ["image"], "\(daemon.logText)")
        try FileManager.default.copyItem(atPath: Self.iphone + "/" + Self.video, toPath: video.path)
        let items = try daemonTests.waitForListing(library) { $0.first?["type"] as? String == "livePhoto" }
        #expect(daemon.terminate() == 0)
        #expect(items.count == 1, "\(items)\n\(daemon.logText)")
        #expect(items.first.map(daemonTests.paths) == [still.path, video.path])
        #expect(items.first.map(daemonTests.albums) == ["Holiday"])
    }
}
