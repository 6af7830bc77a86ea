import FileSystem

/// A derived medium (metadata, thumbnail, stream) that was not produced for a file, and why.
public struct StageProblem: Codable, Sendable, Equatable {
    public var stage: String
    public var reason: String
    public init(stage: String, reason: String) {
        self.stage = stage
        self.reason = reason
    }
}

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
}

/// A video stored inside another file (a motion photo's, `MotionPhotoInfo`): `length` bytes from `offset`.
public struct EmbeddedVideo: Sendable, Codable, Equatable {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
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

/// What one decode of a still image produced: its thumbnail JPEG and, for a format browsers do not show
/// (`MediaFormat.needsRendition`), its rendition JPEG or why there is none.
public struct StillPictures: Sendable {
    public var thumbnail: [UInt8]
    public var rendition: [UInt8]?
    public var renditionProblem: StageProblem?
    /// The file ends before its picture does (a truncated JPEG or PNG): the pictures show the part that is there.
    public var partial: Bool

    public init(thumbnail: [UInt8], rendition: [UInt8]? = nil, renditionProblem: StageProblem? = nil, partial: Bool = false) {
        self.thumbnail = thumbnail
        self.rendition = rendition
        self.renditionProblem = renditionProblem
        self.partial = partial
    }
}

extension StageProblem {
    /// What `ls --json` says as `partial`: the thumbnail shows only the part of the picture the file holds.
    public static let partialStage = "partial"
    public static let partialPicture = StageProblem(stage: partialStage,
                                                    reason: "the file ends before its picture does: the thumbnail shows the part that is there")
}

/// The media work of the pipeline (metadata, thumbnail and rendition, stream): everything that parses or decodes a file's
/// bytes with C libraries. `Media.InProcessMediaWork` does it on the calling thread; `ingest` and the daemon have it
/// done in confined `keepsake-media` child processes (`MediaWorker`), so that a hostile file crashes a worker and not the
/// run, and so that the process holding the library's keys maps none of the media libraries. Keys other than the
/// stream's segment key never reach it.
public protocol MediaWork: Sendable {
    func metadata(fileAt path: BytePath, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata
    /// The thumbnail and, where the format needs one (or `rendition` is `always`), the rendition, from one decode.
    func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures
    /// `metadata`, then `pictures` turned as that metadata says, as one piece of work (for a photo: one worker
    /// instead of two); each stage's outcome is its own.
    func metadataAndPictures(fileAt path: BytePath, format: MediaFormat, rendition: RenditionPolicy) -> MetadataAndPictures
    /// Transcodes the video (with `embedded`, the video stored inside the file at those bytes: a motion photo's),
    /// handing the AES-128-encrypted stream bytes to `output` in order. Errors thrown by `output` are rethrown as they are.
    func stream(fileAt path: BytePath, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct
}

/// The same media work on a file that someone else opened read-only: a media worker's side, which is handed a
/// descriptor, not a path, and the file's name and sidecars (`FileSurroundings`) rather than a folder to look in.
public protocol DescriptorMediaWork: Sendable {
    func metadata(of file: Int32, format: MediaFormat, surroundings: FileSurroundings) throws(MediaWorkError) -> MediaMetadata
    func pictures(of file: Int32, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures
    func stream(of file: Int32, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct
}

/// When a still picture gets a rendition (a JPEG of long edge ≤ 2048) beside its thumbnail.
public enum RenditionPolicy: String, Codable, Sendable {
    /// For formats browsers do not show (`MediaFormat.needsRendition`): what ingest stores.
    case whereNeeded
    /// For every still picture: a public link's large picture, which must never be the original.
    case always
}

/// A photo's metadata and pictures from one piece of work: each stage's product or why there is none. A worker that
/// failed (`MediaWorkError.workerFailed`) before its metadata answer fails both; after it, the pictures only.
public struct MetadataAndPictures: Sendable {
    public var metadata: Result<MediaMetadata, MediaWorkError>
    public var pictures: Result<StillPictures, MediaWorkError>

    public init(metadata: Result<MediaMetadata, MediaWorkError>, pictures: Result<StillPictures, MediaWorkError>) {
        self.metadata = metadata
        self.pictures = pictures
    }
}

extension MediaWork {
    /// The two stages one after the other (what a process that does the work itself needs); a worker failure on the
    /// metadata is the pictures' too, as it would be in one worker.
    public func metadataAndPictures(fileAt path: BytePath, format: MediaFormat, rendition: RenditionPolicy) -> MetadataAndPictures {
        let metadata = Result { () throws(MediaWorkError) in try self.metadata(fileAt: path, format: format) }
        if case .failure(let error) = metadata, case .workerFailed = error { return MetadataAndPictures(metadata: metadata, pictures: .failure(error)) }
        let orientation = try? metadata.get().orientation
        return MetadataAndPictures(metadata: metadata, pictures: Result { () throws(MediaWorkError) in
            try pictures(fileAt: path, format: format, orientation: orientation, rendition: rendition)
        })
    }

    /// The thumbnail and, where the format needs one, the rendition.
    public func pictures(fileAt path: BytePath, format: MediaFormat, orientation: Int?) throws(MediaWorkError) -> StillPictures {
        try pictures(fileAt: path, format: format, orientation: orientation, rendition: .whereNeeded)
    }
}
