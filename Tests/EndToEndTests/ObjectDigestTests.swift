import Foundation
import Store
import Testing
import TestSupport

/// Every object an item owns is recorded with its role, size and BLAKE2b as stored, and every read checks it: a byte
/// flipped in the store, or two objects swapped under each other's names, is found by `verify --read-data` and
/// refused by `thumb` and `stream`, even in the AES-128 stream that does not authenticate itself.
@Suite struct ObjectDigestTests {
    static let clip = TestEnvironment.samples.appendingPathComponent("media/android/androidx-media__sample_sef_slow_motion.mp4")

    struct IngestedVideo {
        var base: String
        var library: String
        var id: String
        var thumbnail: String
        var playlist: String
        var stream: String

        /// Where the local store keeps `object`.
        func file(_ object: String) -> String {
            let hex = object.dropFirst("data/".count)
            return library + "/store/data/\(hex.prefix(2))/\(hex)"
        }
    }

    /// Ingests one video (with its stream) into a new library, in an album.
    func ingestVideo() throws -> IngestedVideo {
        let base = try TestEnvironment.makeTempDirectory("keepsake-digests").path
        let folder = base + "/in", library = base + "/lib"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.clip.path, toPath: folder + "/clip.mp4")
        let ingest = try Keepsake.run(["ingest", folder, "--library", library, "--album", "Trip"])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\n\(ingest.stderrText)")
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        let items = try opened.index.allItems()
        #expect(items.count == 1)
        let item = try #require(items.first)
        return IngestedVideo(base: base, library: library, id: item.id, thumbnail: try #require(item.thumbnailObject),
                             playlist: try #require(item.playlistObject), stream: try #require(item.streamObject))
    }

    func flipByte(in path: String, at offset: UInt64) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x01]))
    }

    func verify(_ library: String) throws -> ProcessResult {
        try Keepsake.run(["verify", "--read-data", "--library", library])
    }

    /// The files in `folder` (none when it does not exist).
    func contents(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test func aFreshVideoVerifiesCleanWithEveryObjectHashed() throws {
        let video = try ingestVideo()
        defer { try? FileManager.default.removeItem(atPath: video.base) }
        let result = try verify(video.library)
        #expect(result.status == 0, "\(result.stdoutText)")
        #expect(!result.stdoutText.contains("before objects had hashes"), "\(result.stdoutText)")
        let opened = try Library.open(at: video.library, passphrase: "test passphrase", create: false)
        let roles = try opened.index.digests(of: video.id).map(\.role).sorted()
        #expect(roles == ["metadata", "original", "playlist", "stream", "thumbnail"])
    }

    @Test func aByteFlippedInTheStreamIsFoundByVerifyAndRefusedByStream() throws {
        let video = try ingestVideo()
        defer { try? FileManager.default.removeItem(atPath: video.base) }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: video.file(video.stream))[.size] as? Int)
        try flipByte(in: video.file(video.stream), at: UInt64(size / 2))

        let result = try verify(video.library)
        #expect(result.status == 1, "\(result.stdoutText)")
        #expect(result.stdoutText.contains("PROBLEM item \(video.id), stream object \(video.stream)"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("1 problems found"), "\(result.stdoutText)")

        let out = video.base + "/out"
        let stream = try Keepsake.run(["stream", video.id, "--to", out, "--library", video.library])
        #expect(stream.status == 3, "\(stream.stdoutText)\n\(stream.stderrText)")
        #expect(stream.stderrText.contains("stream object \(video.stream)")
                && stream.stderrText.contains("something other than what was stored"), "\(stream.stderrText)")
        // Neither a partial segment file nor the playlist without its segments is left.
        #expect(contents(out).isEmpty, "\(contents(out))")
    }

    @Test func swappedThumbnailAndPlaylistAreReportedAndNeverWrittenAsEachOther() throws {
        let video = try ingestVideo()
        defer { try? FileManager.default.removeItem(atPath: video.base) }
        let thumbnail = video.file(video.thumbnail), playlist = video.file(video.playlist)
        try FileManager.default.moveItem(atPath: thumbnail, toPath: thumbnail + ".swap")
        try FileManager.default.moveItem(atPath: playlist, toPath: thumbnail)
        try FileManager.default.moveItem(atPath: thumbnail + ".swap", toPath: playlist)

        let result = try verify(video.library)
        #expect(result.status == 1, "\(result.stdoutText)")
        #expect(result.stdoutText.contains("PROBLEM item \(video.id), thumbnail object \(video.thumbnail)"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("PROBLEM item \(video.id), playlist object \(video.playlist)"), "\(result.stdoutText)")

        let jpeg = video.base + "/thumb.jpg"
        let thumb = try Keepsake.run(["thumb", video.id, "--to", jpeg, "--library", video.library])
        #expect(thumb.status == 3, "\(thumb.stdoutText)\n\(thumb.stderrText)")
        #expect(thumb.stderrText.contains("thumbnail object \(video.thumbnail)"), "\(thumb.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: jpeg) && !FileManager.default.fileExists(atPath: jpeg + ".keepsake-partial"))

        let out = video.base + "/out"
        let stream = try Keepsake.run(["stream", video.id, "--to", out, "--library", video.library])
        #expect(stream.status == 3, "\(stream.stdoutText)\n\(stream.stderrText)")
        #expect(stream.stderrText.contains("playlist object \(video.playlist)"), "\(stream.stderrText)")
        #expect(contents(out).isEmpty, "\(contents(out))")
    }

    @Test func onS3SwappedObjectsAreReportedAndRefusedToo() throws {
        let moto = try MotoServer.shared()
        let bucket = "keepsake-digests-\(ObjectID.random().hex.prefix(8))"
        let store = "s3://\(bucket)/keepsake"
        let base = try TestEnvironment.makeTempDirectory("keepsake-digests-s3").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let folder = base + "/in", library = base + "/lib"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.clip.path, toPath: folder + "/clip.mp4")
        func run(_ arguments: [String]) throws -> ProcessResult {
            try Keepsake.run(arguments + ["--library", library, "--store", store, "--s3-endpoint", moto.endpoint],
                             environment: MotoServer.environment)
        }
        let ingest = try run(["ingest", folder, "--album", "Trip"])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let location = StoreLocation.s3(try S3Configuration(url: store, endpoint: moto.endpoint, environment: MotoServer.environment))
        let item = try #require(try Library.open(at: library, store: location, passphrase: "test passphrase", create: false)
            .index.allItems().first)
        let thumbnail = try #require(item.thumbnailObject), playlist = try #require(item.playlistObject)
        let prefix = "s3://\(bucket)/keepsake/"
        for (from, to) in [(thumbnail, "swap"), (playlist, thumbnail), ("swap", playlist)] {
            let copy = try moto.aws(["s3", "mv", prefix + from, prefix + to])
            #expect(copy.status == 0, "\(copy.stderrText)")
        }

        let verify = try run(["verify", "--read-data"])
        #expect(verify.status == 1, "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains("PROBLEM item \(item.id), thumbnail object \(thumbnail)"), "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains("PROBLEM item \(item.id), playlist object \(playlist)"), "\(verify.stdoutText)")
        let jpeg = base + "/thumb.jpg"
        let thumb = try run(["thumb", item.id, "--to", jpeg])
        #expect(thumb.status == 3 && thumb.stderrText.contains("thumbnail object \(thumbnail)"), "\(thumb.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: jpeg))
    }

    @Test func anIndexRebuiltFromTheStoreKeepsTheDigests() throws {
        let video = try ingestVideo()
        defer { try? FileManager.default.removeItem(atPath: video.base) }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: video.library + "/index.sqlite" + suffix) }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: video.file(video.stream))[.size] as? Int)
        try flipByte(in: video.file(video.stream), at: UInt64(size - 1))

        let result = try verify(video.library)
        #expect(result.status == 1, "\(result.stdoutText)")
        #expect(result.stdoutText.contains("PROBLEM item \(video.id), stream object \(video.stream)"), "\(result.stdoutText)")
        #expect(!result.stdoutText.contains("before objects had hashes"), "\(result.stdoutText)")
    }
}
