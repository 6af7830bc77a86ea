import FileSystem
import Foundation
import MediaTypes
import Pipeline
@testable import Store
import Synchronization
import Testing

/// Issue 20, item 3: a photo costs one media-worker request (its metadata and its pictures together), where it cost
/// two; each stage still fails on its own, and a file that may be a copy asks for no pictures before it is known new.
@Suite struct OneWorkerRequestTests {
    /// Media work that counts its requests as `OutOfProcessMediaWork` makes them (one worker each), with metadata
    /// (orientation 6) and a thumbnail that says which orientation it was asked for; a file named `nometa-*` has no
    /// metadata and one named `nopictures-*` no pictures.
    private final class CountingWork: MediaWork {
        let requests = Mutex<[String: Int]>([:])
        var total: Int { requests.withLock { $0.values.reduce(0, +) } }

        private func count(_ operation: String) { requests.withLock { $0[operation, default: 0] += 1 } }

        private static func readMetadata(_ path: BytePath, _ format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
            if path.lastComponent.description.hasPrefix("nometa") { throw .notProduced(StageProblem(stage: "metadata", reason: "metadata: none here")) }
            var metadata = MediaMetadata(format: format)
            metadata.orientation = 6
            return metadata
        }

        private static func makePictures(_ path: BytePath, orientation: Int?) throws(MediaWorkError) -> StillPictures {
            if path.lastComponent.description.hasPrefix("nopictures") { throw .notProduced(StageProblem(stage: "thumbnail", reason: "thumbnail: none here")) }
            return StillPictures(thumbnail: [0xFF, 0xD8, UInt8(orientation ?? 0), 0xFF, 0xD9])
        }

        func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
            count("metadata")
            return try Self.readMetadata(path, format)
        }

        func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
            count("pictures")
            return try Self.makePictures(path, orientation: orientation)
        }

        func metadataAndPictures(fileAt path: BytePath, format: MediaFormat, rendition: RenditionPolicy) -> MetadataAndPictures {
            count("metadataAndPictures")
            let metadata = Result { () throws(MediaWorkError) in try Self.readMetadata(path, format) }
            return MetadataAndPictures(metadata: metadata, pictures: Result { () throws(MediaWorkError) in
                try Self.makePictures(path, orientation: try? metadata.get().orientation)
            })
        }

        func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                    iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
            count("stream")
            throw MediaWorkError.notProduced(StageProblem(stage: "stream", reason: "no streams here"))
        }
    }

    private static func jpeg(_ size: Int) -> Data {
        Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF\0".utf8) + (0..<size).map { _ in UInt8.random(in: 0...255) })
    }

    @Test func aPhotoCostsOneWorkerRequestAndEachStageFailsOnItsOwn() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-one-request-\(UUID().uuidString.prefix(8))")
        let photos = root.appendingPathComponent("photos"), copies = root.appendingPathComponent("copies")
        for folder in [photos, copies] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: root) }
        let names = (0..<8).map { "photo-\($0).jpg" } + ["nometa-1.jpg", "nopictures-1.jpg"]
        for (index, name) in names.enumerated() {
            let bytes = Self.jpeg(1_000 + 10 * index)  // each of a size of its own: none may be a copy
            try bytes.write(to: photos.appendingPathComponent(name))
            try bytes.write(to: copies.appendingPathComponent("copy-of-" + name))
        }
        let library = try Library.open(at: root.appendingPathComponent("library").path, store: .memory(MemoryStore()),
                                       passphrase: "test passphrase", create: true)
        let work = CountingWork()
        let options = IngestOptions(jobs: 2, stream: nil, mediaWork: work)
        let (files, skips) = Ingest.discover([photos.path])
        let first = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: QuietObserver())
        #expect(first.count(.stored) == names.count && first.failures.isEmpty)
        #expect(work.requests.withLock { $0 } == ["metadataAndPictures": names.count], "one request a photo")

        // Each stage's product or problem is its own, and the pictures were turned as the metadata says.
        for item in try library.index.allItems() {
            let name = try #require(try library.index.originals(of: item.id).first).name.description
            let stages = item.problems.map(\.stage)
            #expect(stages == (name.hasPrefix("nometa") ? ["metadata"] : name.hasPrefix("nopictures") ? ["thumbnail"] : []), "\(name): \(stages)")
            #expect((item.thumbnailObject != nil) == !name.hasPrefix("nopictures"), "\(name)")
            #expect((item.metadata?.orientation == 6) == !name.hasPrefix("nometa"), "\(name)")
            if let thumbnail = item.thumbnailObject {
                let turned: UInt8 = name.hasPrefix("nometa") ? 0 : 6
                #expect(try library.decryptedSmallObject(thumbnail, of: item.id, upTo: 100) == [0xFF, 0xD8, turned, 0xFF, 0xD9], "\(name)")
            }
        }

        // Copies (each of the size of an original the library holds) ask for their metadata only, and, found to be
        // copies, for no pictures.
        let before = work.total
        let (copyFiles, copySkips) = Ingest.discover([copies.path])
        let second = try Ingest.run(files: copyFiles, skips: copySkips, library: library, options: options, observer: QuietObserver())
        #expect(second.count(.stored) == 0 && second.failures.isEmpty && second.outcomes.count == names.count)
        #expect(work.total - before == names.count)
        #expect(work.requests.withLock { $0["metadata"] } == names.count)
    }
}
