import FileSystem
import MediaTypes
#if canImport(Glibc)
import Glibc
#endif

/// The media work in this process, on the calling thread: what `keepsake worker` serves.
public struct InProcessMediaWork: MediaWork {
    public init() {}

    public func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
        let opened = try Self.open(path, stage: .metadata)
        defer { close(opened) }
        do { return try MetadataReader.read(fileAt: PathOpener.procPath(of: opened), format: format, origin: path) } catch { throw MediaWorkError(error) }
    }

    public func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        let opened = try Self.open(path, stage: .thumbnail)
        defer { close(opened) }
        do {
            return try Thumbnailer.pictures(fileAt: PathOpener.procPath(of: opened), format: format, orientation: orientation, rendition: rendition)
        } catch { throw MediaWorkError(error) }
    }

    public func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions,
                       segmentKey: [UInt8], iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        var outputError: (any Error)?
        let result: TranscodeResult
        let opened = try Self.open(path, stage: .stream)
        defer { close(opened) }
        do {
            result = try VideoTranscoder.transcode(fileAt: PathOpener.procPath(of: opened), format: format, embedded: embedded,
                                                   options: options, segmentKey: segmentKey, iv: iv) { bytes in
                do { try output(bytes) } catch {
                    outputError = error
                    throw error
                }
            }
        } catch {
            throw outputError ?? MediaWorkError(error)
        }
        guard let frame = result.thumbnailFrame else {
            return StreamProduct(playlist: result.playlist, thumbnail: nil,
                                 thumbnailProblem: StageProblem(MediaError(.thumbnail, .nothingToProcess("no frame could be decoded"))))
        }
        do {
            return StreamProduct(playlist: result.playlist, thumbnail: try ThumbnailEncoder.jpeg(from: frame), thumbnailProblem: nil)
        } catch {
            return StreamProduct(playlist: result.playlist, thumbnail: nil,
                                 thumbnailProblem: StageProblem(error))
        }
    }
}

extension InProcessMediaWork {
    /// The file, opened by its exact bytes and whatever its length; the C libraries get it as `/proc/self/fd/N`.
    /// O_NONBLOCK: opening a FIFO put in its place must not wait for a writer (it is refused as not a regular file).
    private static func open(_ path: BytePath, stage: MediaError.Stage) throws(MediaWorkError) -> Int32 {
        do { return try PathOpener.open(path, flags: O_RDONLY | O_NONBLOCK) } catch {
            throw MediaWorkError(MediaError(stage, .io("cannot open \(path): \(error)")))
        }
    }
}

extension StageProblem {
    init(_ error: MediaError) {
        self.init(stage: error.stage.rawValue, reason: error.description)
    }
}

extension MediaWorkError {
    init(_ error: MediaError) {
        self = .notProduced(StageProblem(error))
    }
}
