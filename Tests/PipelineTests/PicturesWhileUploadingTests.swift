import FileSystem
import Foundation
import MediaTypes
import Pipeline
@testable import Store
import Synchronization
import Testing

/// Issue 20, item 2: a unit's pictures (a video's thumbnail without streams, a photo's when they did not come with its
/// metadata) are asked of a worker while its original is hashed, encrypted and uploaded, not after; what the worker
/// answers is reported as before.
@Suite struct PicturesWhileUploadingTests {
    /// The bytes of the originals read so far (the observer hears of each piece after it went to the store), and
    /// whether a pictures request has started. The first piece waits (at most `patience`) for a pictures request
    /// to start, so whether the request overlaps the upload does not depend on how busy the machine is.
    private final class ReadProgress: IngestObserver, @unchecked Sendable {  // the counters are guarded by `condition`
        private let condition = NSCondition()
        private var bytesRead: Int64 = 0
        private var picturesStarted = false
        static let patience: TimeInterval = 10

        func read(bytes: Int64) {
            condition.lock()
            defer { condition.unlock() }
            if bytesRead == 0 {
                let deadline = Date(timeIntervalSinceNow: Self.patience)
                while !picturesStarted && condition.wait(until: deadline) {}
            }
            bytesRead += bytes
        }

        /// Called as a pictures request starts: the bytes read by then.
        func picturesStart() -> Int64 {
            condition.lock()
            defer { condition.unlock() }
            picturesStarted = true
            condition.broadcast()
            return bytesRead
        }

        func started(_ file: DiscoveredFile) {}
        func finished(_ outcome: FileOutcome) {}
    }

    /// Media work whose pictures record how much of the original was read when they were asked for; a file named
    /// `crash-*` makes its worker fail, one named `none-*` has no picture.
    private final class RecordingWork: MediaWork {
        let progress: ReadProgress
        let readAtPicturesStart = Mutex<[String: Int64]>([:])
        init(progress: ReadProgress) { self.progress = progress }

        func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata { MediaMetadata(format: format) }

        func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
            let name = path.lastComponent.description
            let read = progress.picturesStart()
            readAtPicturesStart.withLock { $0[name] = read }
            if name.hasPrefix("crash") { throw .workerFailed("the media worker crashed (test)") }
            if name.hasPrefix("none") { throw .notProduced(StageProblem(stage: "thumbnail", reason: "thumbnail: none here")) }
            return StillPictures(thumbnail: [0xFF, 0xD8] + Array(name.utf8) + [0xFF, 0xD9])
        }

        func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                    iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
            throw MediaWorkError.notProduced(StageProblem(stage: "stream", reason: "no streams here"))
        }
    }

    /// An MP4 header, then `size` bytes.
    private static func video(_ size: Int) -> Data {
        Data([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isommp42".utf8) + Array(repeating: 0x5A, count: size))
    }

    private static func ingest(_ name: String, size: Int) throws -> (IngestSummary, Library, RecordingWork, Int64) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-pictures-overlap-\(UUID().uuidString.prefix(8))")
        let videos = root.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        let bytes = video(size)
        try bytes.write(to: videos.appendingPathComponent(name))
        let library = try Library.open(at: root.appendingPathComponent("library").path, store: .memory(MemoryStore()),
                                       passphrase: "test passphrase", create: true)
        let progress = ReadProgress()
        let work = RecordingWork(progress: progress)
        let (files, skips) = Ingest.discover([videos.path])
        let summary = try Ingest.run(files: files, skips: skips, library: library, options: IngestOptions(jobs: 1, stream: nil, mediaWork: work),
                                     observer: progress)
        try? FileManager.default.removeItem(at: root)
        return (summary, library, work, Int64(bytes.count))
    }

    @Test func aVideosThumbnailIsAskedForWhileItsOriginalUploads() throws {
        // Four reads of 1 MiB: the request must start before the last of them.
        let (summary, library, work, size) = try Self.ingest("clip.mp4", size: 4 << 20)
        #expect(summary.count(.stored) == 1 && summary.failures.isEmpty)
        let read = try #require(work.readAtPicturesStart.withLock { $0["clip.mp4"] })
        #expect(read < size, "the pictures were asked for after \(read) of \(size) bytes were read and stored")
        let item = try #require(try library.index.allItems().first)
        #expect(item.type == .video && item.problems.isEmpty)
        let thumbnail = try #require(item.thumbnailObject)
        #expect(try library.decryptedSmallObject(thumbnail, of: item.id, upTo: 100) == [0xFF, 0xD8] + Array("clip.mp4".utf8) + [0xFF, 0xD9])
    }

    @Test func aWorkerThatFailsStillFailsTheFileAndAMissingPictureIsAProblem() throws {
        let (crashed, crashedLibrary, _, _) = try Self.ingest("crash.mp4", size: 2 << 20)
        #expect(crashed.count(.stored) == 0)
        #expect(crashed.failures.map(\.reason) == ["the media worker crashed (test)"])
        #expect(try crashedLibrary.index.allItems().isEmpty)

        let (none, noneLibrary, _, _) = try Self.ingest("none.mp4", size: 2 << 20)
        #expect(none.count(.stored) == 1 && none.failures.isEmpty)
        let item = try #require(try noneLibrary.index.allItems().first)
        #expect(item.thumbnailObject == nil && item.problems.map(\.stage) == ["thumbnail"])
    }
}
