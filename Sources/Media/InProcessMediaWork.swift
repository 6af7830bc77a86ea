import MediaTypes

/// The media work in this process, on the calling thread: what `keepsake worker` serves.
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
