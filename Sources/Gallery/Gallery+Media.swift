import Foundation
import Hummingbird
import KeepsakeCrypto
import MediaTypes
import NIOCore
import NIOPosix
import Store

/// The media routes: thumbnails, renditions and playlists decrypted whole in memory (they are small), originals
/// decrypted chunk by chunk for the range asked, the video stream's segments as stored (AES-128, by byte range).
extension Gallery {
    enum SealedImage { case thumbnail, rendition }

    /// Small sealed objects (thumbnails, renditions, playlists) are read whole: one larger than this is refused.
    static let smallObjectLimit: UInt64 = 64 << 20
    /// Stream segments are read from the store in pieces of this size.
    static let segmentPiece: UInt64 = 1 << 20

    /// Item ids are 32 lowercase hex digits (`ObjectID`); anything else is not looked up.
    static func isItemId(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The live item `id`, or 404.
    func liveItem(_ id: String?) async throws -> ItemRecord {
        guard let id, Self.isItemId(id) else { throw HTTPError(.notFound) }
        let library = self.library
        guard let item = try await blocking({ try library.item(id: id) }), item.deletedAt == nil else { throw HTTPError(.notFound) }
        return item
    }

    /// Decrypts the small sealed object `name` of `item`, checked against its digest, in memory.
    func decryptSmall(_ name: String, of item: ItemRecord) async throws -> [UInt8] {
        let library = self.library, itemId = item.id
        return try await blocking {
            do {
                guard let plain = try library.decryptedSmallObject(name, of: itemId, upTo: Self.smallObjectLimit) else {
                    throw HTTPError(.notFound)
                }
                return plain
            } catch is ObjectTooLarge {
                throw HTTPError(.internalServerError, message: "object too large")
            }
        }
    }

    func sealedObject(id: String?, _ image: SealedImage) async throws -> Response {
        let item = try await liveItem(id)
        let name = switch image {
        case .thumbnail: item.thumbnailObject
        case .rendition: item.renditionObject
        }
        guard let name else { throw HTTPError(.notFound) }
        let bytes = try await decryptSmall(name, of: item)
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Originals

    func original(_ request: Request, id: String?, role: String?) async throws -> Response {
        let item = try await liveItem(id)
        let library = self.library
        guard let role, ["main", "still", "video"].contains(role),
              let original = try await blocking({ try library.originals(of: item.id) }).first(where: { $0.role == role }) else {
            throw HTTPError(.notFound)
        }
        let reader = try await blocking { () throws -> ReaderBox in
            guard let (object, size) = try library.ownedObject(original.objectName, of: item.id) else { throw HTTPError(.notFound) }
            return ReaderBox(try library.rangeReader(object, size: size, key: try library.fileKey(of: item.id)))
        }
        var headers: HTTPFields = [.contentType: original.mimeType]
        if request.uri.queryParameters["download"] != nil {
            headers[.contentDisposition] = Self.attachment(original.name.string ?? "original")
        }
        // Pieces end at chunk edges: each chunk is decrypted once, and memory stays at one chunk.
        return try await ranged(request, size: reader.reader.plaintextSize, headers: headers,
                                piece: UInt64(SecretStreamFormat.chunkSize)) { piece, buffer in
            try reader.reader.read(piece) { buffer.writeBytes($0) }
        }
    }

    func ranged(_ request: Request, size: UInt64, headers: HTTPFields, piece: UInt64,
                read: @escaping @Sendable (Range<UInt64>, inout ByteBuffer) throws -> Void) async throws -> Response {
        try await Self.ranged(request, size: size, headers: headers, piece: piece, threads: threads, read: read)
    }

    /// Answers `request` with the bytes of a resource of `size` bytes, or the one range its `Range` header asks for,
    /// read by `read` on `threads` in pieces that end at multiples of `piece`.
    static func ranged(_ request: Request, size: UInt64, headers: HTTPFields, piece: UInt64, threads: NIOThreadPool,
                       read: @escaping @Sendable (Range<UInt64>, inout ByteBuffer) throws -> Void) async throws -> Response {
        var headers = headers
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = "no-store"
        let range: Range<UInt64>
        var status = HTTPResponse.Status.ok
        switch ByteRange(header: request.headers[.range], size: size) {
        case .whole: range = 0..<size
        case .part(let part):
            range = part
            status = .partialContent
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound - 1)/\(size)"
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        headers[.contentLength] = String(range.count)
        return Response(status: status, headers: headers, body: .init(contentLength: range.count) { writer in
            var offset = range.lowerBound
            while offset < range.upperBound {
                let next = offset..<min(range.upperBound, (offset / piece + 1) * piece)
                let buffer = try await threads.runIfActive { () throws -> ByteBuffer in
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(next.count)
                    try read(next, &buffer)
                    guard buffer.readableBytes == next.count else { throw GalleryError.shortRead }
                    return buffer
                }
                try await writer.write(buffer)
                offset = next.upperBound
            }
            try await writer.finish(nil)
        })
    }

    /// `attachment` with the file's name, ASCII-safe and as RFC 5987 UTF-8.
    static func attachment(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 32 ? Character($0) : "_" })
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    // MARK: Video stream

    /// The item's HLS playlist, decrypted, its key pointing at the session-only `key` route and its segments at
    /// `stream.ts` (both relative to the playlist's URL).
    func playlist(id: String?) async throws -> Response {
        let item = try await liveItem(id)
        guard let name = item.playlistObject else { throw HTTPError(.notFound) }
        let playlist = try await servablePlaylist(name, of: item).playlist
        return Response(status: .ok, headers: [.contentType: "application/vnd.apple.mpegurl", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: playlist)))
    }

    func streamKey(id: String?) async throws -> Response {
        let item = try await liveItem(id)
        guard let name = item.playlistObject else { throw HTTPError(.notFound) }
        let key = try await servablePlaylist(name, of: item).key
        return Response(status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: key)))
    }

    private func servablePlaylist(_ name: String, of item: ItemRecord) async throws -> (playlist: String, key: [UInt8]) {
        let text = String(decoding: try await decryptSmall(name, of: item), as: UTF8.self)
        do { return try StoredPlaylist.servable(text) } catch {
            throw HTTPError(.internalServerError, message: "the stored playlist cannot be served: \(error)")
        }
    }

    /// The stream object as stored (its segments are AES-128 encrypted, as HLS expects), by byte range.
    func streamSegments(_ request: Request, id: String?) async throws -> Response {
        let item = try await liveItem(id)
        guard let name = item.streamObject else { throw HTTPError(.notFound) }
        let library = self.library
        guard let (object, size) = try await blocking({ try library.ownedObject(name, of: item.id) }) else { throw HTTPError(.notFound) }
        return try await ranged(request, size: size, headers: [.contentType: "video/mp2t"], piece: Self.segmentPiece) { piece, buffer in
            try library.readStored(object, range: piece) { buffer.writeBytes($0) }
        }
    }
}

/// The store returned fewer bytes than the object's size says it has.
enum GalleryError: Error, CustomStringConvertible {
    case shortRead
    var description: String { "the store returned fewer bytes than the object has" }
}

/// One request's range reader, used by that request's body writer only, one piece after another.
final class ReaderBox: @unchecked Sendable {
    let reader: SealedRangeReader
    init(_ reader: SealedRangeReader) { self.reader = reader }
}

/// The playlist as ingest stored it (see Media's `HLSPlaylist`): its key inline as a `data:` URI (`HLSPlaylistKey`),
/// its segments in the one segment file.
enum StoredPlaylist {
    /// The playlist with its key at `key` and its segments at `stream.ts`, beside the playlist's own URL, and the
    /// AES-128 key it carried.
    static func servable(_ text: String) throws(HLSPlaylistKey.Failure) -> (playlist: String, key: [UInt8]) {
        let (keyed, key) = try HLSPlaylistKey.separate(text, keyURI: "key")
        let lines = keyed.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            !line.isEmpty && !line.hasPrefix("#") ? StreamOptions.segmentFileName : String(line)
        }
        return (lines.joined(separator: "\n"), key)
    }
}
