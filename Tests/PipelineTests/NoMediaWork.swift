import FileSystem
import MediaTypes
import Pipeline

/// Media work that produces no derived media: the stand-in `MediaWork` of the pipeline tests about the store.
struct NoMediaWork: MediaWork {
    static let problem = StageProblem(stage: "any", reason: "no media work in this test")
    func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata { throw .notProduced(Self.problem) }
    func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        throw .notProduced(Self.problem)
    }
    func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        throw MediaWorkError.notProduced(Self.problem)
    }
}

/// An observer that ignores what a run tells it.
final class QuietObserver: IngestObserver {
    func started(_ file: DiscoveredFile) {}
    func read(bytes: Int64) {}
    func finished(_ outcome: FileOutcome) {}
}
