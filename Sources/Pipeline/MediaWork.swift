import Media
import Store

/// Why media work on one file produced nothing.
public enum MediaWorkError: Error, Sendable, CustomStringConvertible {
    /// The file's bytes did not yield this stage; the original is stored regardless.
    case notProduced(StageProblem)
    /// The process doing the work died or hung on this file: the file fails.
    case workerFailed(String)

    public var description: String {
        switch self {
        case .notProduced(let problem): problem.reason
        case .workerFailed(let why): why
        }
    }

    init(_ error: MediaError) {
        self = .notProduced(StageProblem(stage: error.stage.rawValue, reason: error.description))
    }
}

/// What a video's decode pass produced besides the stream bytes.
public struct StreamProduct: Sendable {
    public var playlist: String
    /// The thumbnail JPEG from the same pass, or why there is none.
    public var thumbnail: [UInt8]?
    public var thumbnailProblem: StageProblem?

    public init(playlist: String, thumbnail: [UInt8]?, thumbnailProblem: StageProblem?) {
        self.playlist = playlist
        self.thumbnail = thumbnail
        self.thumbnailProblem = thumbnailProblem
    }
}

/// The media work of the pipeline (metadata, thumbnail, stream): everything that parses or decodes a file's
/// bytes with C libraries. `ingest` runs it in process; the daemon in `keepsake worker` child processes, so that a
/// hostile file crashes a worker and not the daemon. Keys other than the stream's segment key never reach it.
public protocol MediaWork: Sendable {
    func metadata(fileAt path: String, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata
    func thumbnail(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaWorkError) -> [UInt8]
    /// Transcodes the video, handing the AES-128-encrypted stream bytes to `output` in order. Errors thrown by
    /// `output` are rethrown as they are.
    func stream(fileAt path: String, format: MediaFormat, options: StreamOptions, segmentKey: [UInt8], iv: [UInt8],
                output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct
}

/// The media work in this process, on the calling thread.
public struct InProcessMediaWork: MediaWork {
    public init() {}

    public func metadata(fileAt path: String, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
        do { return try MetadataReader.read(fileAt: path, format: format) } catch { throw MediaWorkError(error) }
    }

    public func thumbnail(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaWorkError) -> [UInt8] {
        do { return try Thumbnailer.thumbnail(fileAt: path, format: format, orientation: orientation) } catch { throw MediaWorkError(error) }
    }

    public func stream(fileAt path: String, format: MediaFormat, options: StreamOptions, segmentKey: [UInt8], iv: [UInt8],
                       output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
        var outputError: (any Error)?
        let result: TranscodeResult
        do {
            result = try VideoTranscoder.transcode(fileAt: path, format: format, options: options, segmentKey: segmentKey, iv: iv) { bytes in
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
                                 thumbnailProblem: StageProblem(stage: "thumbnail", reason: "thumbnail: no frame could be decoded"))
        }
        do {
            return StreamProduct(playlist: result.playlist, thumbnail: try ThumbnailEncoder.jpeg(from: frame), thumbnailProblem: nil)
        } catch {
            return StreamProduct(playlist: result.playlist, thumbnail: nil,
                                 thumbnailProblem: StageProblem(stage: error.stage.rawValue, reason: error.description))
        }
    }
}
