import FileSystem
import Foundation
import KeepsakeCrypto
import MediaTypes
import Store

/// What the encrypted metadata object of an item holds: enough to rebuild the item's index entry from the store.
struct ItemDocument: Codable {
    struct Original: Codable {
        var role: String, name: BytePath, path: BytePath, size: Int64, blake2b: String, mimeType: String
    }
    var type: ItemType
    var originals: [Original]
    var metadata: MediaMetadata?
    /// A Live Photo's video metadata (`metadata` is the still's).
    var videoMetadata: MediaMetadata?
}

/// The derived media of one item: metadata, thumbnail, (for photos browsers do not show) a rendition and (for videos
/// and motion photos) the HLS stream, each encrypted into the store. A stage that fails is recorded in
/// `item.stageProblems`; the original is kept regardless.
struct MediaStages {
    let upload: UploadSession
    let options: IngestOptions
    let unit: IngestUnit
    /// The primary file's pictures, when a worker makes them in phase 2 (a video without streams, a photo whose
    /// pictures did not come with its metadata): asked for as soon as the unit is known to be new, so that the worker
    /// decodes while the originals are hashed, encrypted and uploaded.
    private let picturesRequest: ThreadedValue<Result<StillPictures, MediaWorkError>>?

    /// Starts the unit's pictures request, if it needs one; `finish` waits for it on every path.
    init(upload: UploadSession, options: IngestOptions, unit: IngestUnit) {
        (self.upload, self.options, self.unit) = (upload, options, unit)
        let primary = unit.primary, work = options.mediaWork
        guard Self.picturesWanted(unit, options: options), primary.pictures == nil else {
            picturesRequest = nil
            return
        }
        picturesRequest = ThreadedValue(name: "keepsake-pictures") {
            Result { () throws(MediaWorkError) in
                try work.pictures(fileAt: primary.file.readPath, format: primary.format, orientation: primary.metadata?.orientation)
            }
        }
    }

    /// Whether the unit's thumbnail (and rendition) come from its primary file's pictures: a photo's or a Live
    /// Photo's still (unless an earlier run stored that still), and a video's when it gets no stream.
    private static func picturesWanted(_ unit: IngestUnit, options: IngestOptions) -> Bool {
        unit.completing.map { $0.item.type == .image } != true && (unit.primary.format.kind == .image || options.stream == nil)
    }

    /// Waits for the pictures request (a unit that failed or turned out to be a copy leaves it unused).
    func finish() { picturesRequest?.join() }

    func produce(for item: inout NewItem) throws {
        item.stageProblems += unit.files.compactMap(\.metadataProblem)
        // The half an earlier run stored (a Live Photo completed now): what it made is reused, not made again.
        let stored = unit.completing.map(StoredHalf.init)
        let metadata = stored?.isStill == true ? stored?.metadata : unit.primary.metadata
        if metadata?.motionPhoto != nil { item.type = .motionPhoto }

        // A Live Photo's thumbnail (and rendition) comes from its still; a video's from the decode pass of its stream,
        // or, without streams, from a decode of its first second.
        var thumbnail: [UInt8]?
        if let stored, stored.isStill {
            (item.thumbnailObject, item.renditionObject) = (stored.thumbnail, stored.rendition)
            item.stageProblems += stored.problems
        } else if let answer = unit.primary.pictures ?? picturesRequest?.join() {  // one of them, when `picturesWanted`
            let pictures = try attempt(into: &item) { () throws(MediaWorkError) in try answer.get() }
            thumbnail = pictures?.thumbnail
            if let rendition = pictures?.rendition { item.renditionObject = try upload.storeSealed(rendition, role: .rendition) }
            if let problem = pictures?.renditionProblem { item.stageProblems.append(problem) }
            if pictures?.partial == true { item.stageProblems.append(.partialPicture) }
        }
        if let stored, !stored.isStill {
            (item.streamObject, item.playlistObject) = (stored.stream, stored.playlist)
            // Its thumbnail was the video's: the still's replaces it.
            item.stageProblems += stored.problems.filter { $0.stage != "thumbnail" }
        } else if let video = unit.video, let stream = options.stream {
            let frame = try produceStream(for: &item, path: video.file.readPath, format: video.format, options: stream)
            if thumbnail == nil && !unit.isLivePhoto { thumbnail = frame }
        } else if let motion = metadata?.motionPhoto, let stream = options.stream {
            // A motion photo's embedded video gets a stream of its own, read in place from the original.
            let embedded = EmbeddedVideo(offset: motion.videoOffset, length: motion.videoLength)
            _ = try produceStream(for: &item, path: unit.primary.file.readPath, format: unit.primary.format, embedded: embedded, options: stream)
        }
        if let thumbnail { item.thumbnailObject = try upload.storeSealed(thumbnail, role: .thumbnail) }

        let videoMetadata = stored.map { $0.isStill ? unit.video?.metadata : $0.metadata } ?? unit.video?.metadata
        let document = ItemDocument(type: item.type, originals: item.originals.map {
            .init(role: $0.role, name: $0.name, path: $0.sourcePath, size: $0.size, blake2b: $0.blake2b, mimeType: $0.mimeType)
        }, metadata: metadata, videoMetadata: unit.isLivePhoto ? videoMetadata : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        if let metadata { item.metadataJSON = String(decoding: try encoder.encode(metadata), as: UTF8.self) }
        item.metadataObject = try upload.storeSealed(Array(try encoder.encode(document)), role: .metadata)
    }

    /// Transcodes the video into its encrypted stream object and playlist; returns the thumbnail from the same pass.
    private func produceStream(for item: inout NewItem, path: BytePath, format: MediaFormat, embedded: EmbeddedVideo? = nil,
                               options stream: StreamOptions) throws -> [UInt8]? {
        var segmentKey = randomBytes(16)
        defer { wipe(&segmentKey) }
        let streamName: ObjectName
        let product: StreamProduct
        do {
            (streamName, product) = try upload.storeAsIs(role: .stream) { write in
                try options.mediaWork.stream(fileAt: path, format: format, embedded: embedded, options: stream,
                                             segmentKey: segmentKey, iv: randomBytes(16)) { try write($0) }
            }
        } catch MediaWorkError.notProduced(let problem) {
            item.stageProblems.append(problem)
            return nil
        }
        item.streamObject = streamName
        item.playlistObject = try upload.storeSealed(Array(product.playlist.utf8), role: .playlist)
        if let problem = product.thumbnailProblem { item.stageProblems.append(problem) }
        return product.thumbnail
    }

    /// A stage's product, or nil with the problem recorded; a worker failure fails the whole unit.
    private func attempt<T>(into item: inout NewItem, _ body: () throws(MediaWorkError) -> T) throws -> T? {
        do { return try body() } catch {
            guard case .notProduced(let problem) = error else { throw JobStop.failed(error.description) }
            item.stageProblems.append(problem)
            return nil
        }
    }
}

/// The half of a Live Photo that an earlier run stored as an item of its own, as its index row describes it.
private struct StoredHalf {
    var isStill: Bool
    var metadata: MediaMetadata?
    var thumbnail: ObjectName?
    var rendition: ObjectName?
    var stream: ObjectName?
    var playlist: ObjectName?
    /// What its run could not make.
    var problems: [StageProblem]

    init(_ half: LivePhotoHalf) {
        let item = half.item
        isStill = item.type == .image
        metadata = half.metadata
        thumbnail = item.thumbnailObject.flatMap { try? ObjectName($0) }
        rendition = item.renditionObject.flatMap { try? ObjectName($0) }
        stream = item.streamObject.flatMap { try? ObjectName($0) }
        playlist = item.playlistObject.flatMap { try? ObjectName($0) }
        problems = item.problems
    }
}
