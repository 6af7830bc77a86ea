import FileSystem
import MediaTypes
#if canImport(Glibc)
import Glibc
#endif

/// The media work in this process, on the calling thread: what `keepsake-media` serves (on the descriptor it is handed).
public struct InProcessMediaWork: MediaWork, DescriptorMediaWork {
    public init() {}

    public func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
        let opened = try Self.open(path, stage: .metadata)
        defer { close(opened) }
        return try metadata(of: opened, format: format, surroundings: FileSurroundings(beside: path))
    }

    public func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        let opened = try Self.open(path, stage: .thumbnail)
        defer { close(opened) }
        return try pictures(of: opened, format: format, orientation: orientation, rendition: rendition)
    }

    public func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions,
                       segmentKey: [UInt8], iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        let opened = try Self.open(path, stage: .stream)
        defer { close(opened) }
        return try stream(of: opened, format: format, embedded: embedded, options: options, segmentKey: segmentKey, iv: iv, output: output)
    }

    // The C libraries get the descriptor's file as `/proc/self/fd/N`.

    public func metadata(of file: Int32, format: MediaFormat, surroundings: FileSurroundings) throws(MediaWorkError) -> MediaMetadata {
        do { return try MetadataReader.read(fileAt: PathOpener.procPath(of: file), format: format, surroundings: surroundings) } catch {
            throw MediaWorkError(error)
        }
    }

    public func pictures(of file: Int32, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
        do {
            return try Thumbnailer.pictures(fileAt: PathOpener.procPath(of: file), format: format, orientation: orientation, rendition: rendition)
        } catch { throw MediaWorkError(error) }
    }

    public func stream(of file: Int32, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                       iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        var outputError: (any Error)?
        let result: TranscodeResult
        do {
            result = try VideoTranscoder.transcode(fileAt: PathOpener.procPath(of: file), format: format, embedded: embedded,
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
