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

/// The derived media of one item: metadata, thumbnail and (for videos) the HLS stream, each encrypted into
/// the store. A stage that fails is recorded in `item.stageProblems`; the original is kept regardless.
struct MediaStages {
    let library: Library
    let options: IngestOptions

    func produce(for item: inout NewItem, unit: IngestUnit, written: inout [ObjectName]) throws {
        item.stageProblems += unit.files.compactMap(\.metadataProblem)
        let metadata = unit.primary.metadata
        if metadata?.motionPhoto != nil { item.type = .motionPhoto }

        // A Live Photo's thumbnail comes from its still; a video's from the decode pass of its stream, or, without
        // streams, from a decode of its first second.
        var thumbnail: [UInt8]?
        if unit.primary.format.kind == .image || options.stream == nil {
            let primary = unit.primary
            thumbnail = try attempt(into: &item) { () throws(MediaWorkError) in
                try options.mediaWork.thumbnail(fileAt: primary.file.path, format: primary.format, orientation: primary.metadata?.orientation)
            }
        }
        if let video = unit.video, let stream = options.stream {
            let frame = try produceStream(for: &item, path: video.file.path, format: video.format, options: stream, written: &written)
            if thumbnail == nil && !unit.isLivePhoto { thumbnail = frame }
        }
        if let thumbnail {
            item.thumbnailObject = try library.putSealed(thumbnail, key: item.fileKey)
            written.append(item.thumbnailObject!)
        }

        let document = ItemDocument(type: item.type, originals: item.originals.map {
            .init(role: $0.role, name: $0.name, path: $0.sourcePath, size: $0.size, blake2b: $0.blake2b, mimeType: $0.mimeType)
        }, metadata: metadata, videoMetadata: unit.isLivePhoto ? unit.video?.metadata : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        if let metadata { item.metadataJSON = String(decoding: try encoder.encode(metadata), as: UTF8.self) }
        item.metadataObject = try library.putSealed(Array(try encoder.encode(document)), key: item.fileKey)
        written.append(item.metadataObject!)
    }

    /// Transcodes the video into its encrypted stream object and playlist; returns the thumbnail from the same pass.
    private func produceStream(for item: inout NewItem, path: BytePath, format: MediaFormat, options stream: StreamOptions,
                               written: inout [ObjectName]) throws -> [UInt8]? {
        var segmentKey = randomBytes(16)
        defer { wipe(&segmentKey) }
        let (streamName, writer) = try library.beginObject()
        let product: StreamProduct
        do {
            product = try options.mediaWork.stream(fileAt: path, format: format, options: stream,
                                                   segmentKey: segmentKey, iv: randomBytes(16)) { try writer.write($0) }
        } catch MediaWorkError.notProduced(let problem) {
            writer.abort()
            try library.discard([streamName])
            item.stageProblems.append(problem)
            return nil
        } catch {
            writer.abort()
            if !error.isRunFatal { try library.discard([streamName]) }
            throw error
        }
        try writer.commit()
        try library.markStored(streamName)
        written.append(streamName)
        item.streamObject = streamName
        item.playlistObject = try library.putSealed(Array(product.playlist.utf8), key: item.fileKey)
        written.append(item.playlistObject!)
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
