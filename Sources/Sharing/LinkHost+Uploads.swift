import Crypto
import Foundation
import KeepsakeCrypto
import Store

/// A collect link's upload routes, on the server's side (docs/public-links.md, "Collect links"): it holds no key,
/// checks the record's limits and who uploads what (by the hash of the uploader's cookie), and keeps everything in the
/// store under `links/<token>/uploads/`, so a restarted server continues where the last one stopped.
extension LinkHost {
    /// Uploads a collect link may start a minute (whoever starts them).
    public static let uploadStartLimit = 60

    /// What a browser asks to start.
    public struct NewUpload: Codable, Sendable {
        public var id: String
        /// base64url, the upload's ephemeral X25519 public key.
        public var ephemeralKey: String
        /// base64url, the sealed header.
        public var header: String
        public var size: Int64
        public init(id: String, ephemeralKey: String, header: String, size: Int64) {
            (self.id, self.ephemeralKey, self.header, self.size) = (id, ephemeralKey, header, size)
        }
    }

    /// One upload as the uploader's page lists it.
    public struct UploadSummary: Codable, Sendable, Equatable {
        public var id: String
        public var size: Int64
        public var created: Date
        public var complete: Bool
        public var taken: Bool
    }

    public struct UploadProgress: Codable, Sendable, Equatable {
        public var chunks: Int
        public var have: [Int]
        public var complete: Bool
    }

    /// The hex SHA-256 of an uploader's cookie: what the store keeps of it.
    public static func uploaderHash(_ cookie: String) -> String {
        SHA256.hash(data: Array(cookie.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private func limits(of link: LiveLink) throws(UploadRefusal) -> LinkUploadLimits {
        guard let limits = link.record.upload else { throw .notCollect }
        return limits
    }

    /// Starts an upload: checks the request, the per-link limits (size, count, rate) and stores its meta. The same
    /// uploader asking again for the same upload (a retried request) gets the same answer; `created` says which.
    public func startUpload(_ request: NewUpload, link: LiveLink, uploader: String,
                            now: Date = Date()) throws -> (chunks: Int, created: Bool) {
        let limits = try limits(of: link)
        let token = link.token
        guard LinkShelfNames.isToken(request.id) else { throw UploadRefusal.badRequest("the upload id must be 16 bytes in hex") }
        guard let key = Base64URL.decode(request.ephemeralKey), key.count == 32 else {
            throw UploadRefusal.badRequest("the ephemeral key must be 32 bytes, base64url")
        }
        guard let header = Base64URL.decode(request.header), header.count <= UploadCipher.headerByteCap, header.count >= 28 else {
            throw UploadRefusal.badRequest("the header must be a sealed header, base64url, at most \(UploadCipher.headerByteCap) bytes")
        }
        guard request.size >= 0 else { throw UploadRefusal.badRequest("the size must not be negative") }
        guard request.size <= limits.maxUploadSize else { throw UploadRefusal.tooLarge(limit: limits.maxUploadSize) }
        let chunks = UploadCipher.chunkCount(size: request.size, chunkSize: limits.chunkSize)
        let meta = UploadMeta(id: request.id, created: now, uploader: Self.uploaderHash(uploader), ephemeralKey: request.ephemeralKey,
                              header: request.header, size: request.size, chunks: chunks)
        return try uploadStarts.withLock { starts in
            if let existing = try readMeta(token, request.id) {
                guard existing.uploader == meta.uploader, existing.ephemeralKey == meta.ephemeralKey, existing.header == meta.header,
                      existing.size == meta.size else { throw UploadRefusal.idTaken }
                return (existing.chunks, false)
            }
            let recent = (starts[token] ?? []).filter { now.timeIntervalSince($0) < Self.attemptWindow }
            starts[token] = recent
            if recent.count >= Self.uploadStartLimit {
                throw UploadRefusal.tooMany(retryAfter: max(1, Int((Self.attemptWindow - now.timeIntervalSince(recent[0])).rounded(.up))))
            }
            let count = try shelf.names(under: LinkShelfNames.uploadMetaPrefix(token)).count
            guard count < limits.maxUploads else { throw UploadRefusal.full(limit: limits.maxUploads) }
            try shelf.put(LinkShelfNames.uploadMeta(token, request.id), try meta.encoded())
            starts[token, default: []].append(now)
            return (chunks, true)
        }
    }

    /// The upload `id` of `link`, when it is this uploader's.
    private func ownUpload(_ id: String, link: LiveLink, uploader: String?) throws -> UploadMeta {
        _ = try limits(of: link)
        guard LinkShelfNames.isToken(id), let meta = try readMeta(link.token, id) else { throw UploadRefusal.noSuchUpload }
        guard let uploader, meta.uploader == Self.uploaderHash(uploader) else { throw UploadRefusal.notYours }
        return meta
    }

    /// Stores chunk `index` of the upload `id` (again, if it was there: the same index, the same length).
    public func putChunk(_ bytes: [UInt8], index: Int, upload id: String, link: LiveLink, uploader: String?) throws {
        let meta = try ownUpload(id, link: link, uploader: uploader)
        let limits = try limits(of: link)
        guard (0..<meta.chunks).contains(index) else { throw UploadRefusal.badRequest("the upload has chunks 0 to \(meta.chunks - 1)") }
        let expected = UploadCipher.sealedChunkLength(index: index, size: meta.size, chunkSize: limits.chunkSize)
        guard bytes.count == expected else { throw UploadRefusal.badRequest("chunk \(index) must be \(expected) bytes, not \(bytes.count)") }
        guard try shelf.size(of: LinkShelfNames.uploadDone(link.token, id)) == nil else { throw UploadRefusal.alreadyComplete }
        try shelf.put(LinkShelfNames.uploadChunk(link.token, id, index), bytes)
    }

    /// Which chunks of the upload `id` the store has.
    public func progress(of id: String, link: LiveLink, uploader: String?) throws -> UploadProgress {
        let meta = try ownUpload(id, link: link, uploader: uploader)
        let token = link.token
        let complete = try shelf.size(of: LinkShelfNames.uploadDone(token, id)) != nil
            || shelf.size(of: LinkShelfNames.uploadTaken(token, id)) != nil
        return UploadProgress(chunks: meta.chunks, have: try chunksPresent(meta, token: token), complete: complete)
    }

    /// Marks the upload `id` complete once the store has every chunk at its length.
    public func completeUpload(_ id: String, link: LiveLink, uploader: String?, now: Date = Date()) throws {
        let meta = try ownUpload(id, link: link, uploader: uploader)
        let have = try chunksPresent(meta, token: link.token)
        guard have.count == meta.chunks else { throw UploadRefusal.incomplete(missing: meta.chunks - have.count) }
        guard try shelf.size(of: LinkShelfNames.uploadDone(link.token, id)) == nil else { return }
        try shelf.put(LinkShelfNames.uploadDone(link.token, id), Array(try LinkJSON.encoder.encode(["completed": now])))
    }

    /// This uploader's uploads of `link`, oldest first.
    public func uploads(of link: LiveLink, uploader: String?) throws -> [UploadSummary] {
        _ = try limits(of: link)
        guard let uploader else { return [] }
        let token = link.token, hash = Self.uploaderHash(uploader)
        let done = Set(try shelf.names(under: LinkShelfNames.uploadsPrefix(token) + "done/").compactMap {
            LinkShelfNames.uploadId($0, under: LinkShelfNames.uploadsPrefix(token) + "done/")
        })
        let taken = Set(try shelf.names(under: LinkShelfNames.uploadsPrefix(token) + "taken/").compactMap {
            LinkShelfNames.uploadId($0, under: LinkShelfNames.uploadsPrefix(token) + "taken/")
        })
        var listed: [UploadSummary] = []
        for name in try shelf.names(under: LinkShelfNames.uploadMetaPrefix(token)) {
            guard let id = LinkShelfNames.uploadId(name, under: LinkShelfNames.uploadMetaPrefix(token)),
                  let meta = try readMeta(token, id), meta.uploader == hash else { continue }
            listed.append(UploadSummary(id: id, size: meta.size, created: meta.created, complete: done.contains(id) || taken.contains(id),
                                        taken: taken.contains(id)))
        }
        return listed.sorted { $0.created < $1.created }
    }

    private func readMeta(_ token: String, _ id: String) throws -> UploadMeta? {
        try shelf.read(LinkShelfNames.uploadMeta(token, id), upTo: UploadMeta.byteCap).map(UploadMeta.decode)
    }

    /// The indices of the chunks stored. One listing: a chunk is stored whole (a put is atomic) and only at its right
    /// length (`putChunk` checks it), and the owner authenticates each one anyway.
    private func chunksPresent(_ meta: UploadMeta, token: String) throws -> [Int] {
        let prefix = LinkShelfNames.uploadChunksPrefix(token, meta.id)
        return try shelf.names(under: prefix).compactMap { name -> Int? in
            guard let index = Int(name.dropFirst(prefix.count)), (0..<meta.chunks).contains(index) else { return nil }
            return index
        }
    }
}

/// `links/<token>/uploads/meta/<id>`: an upload as its browser started it (no plaintext: the header is sealed).
public struct UploadMeta: Codable, Sendable, Equatable {
    static let byteCap = 16 << 10
    public var version = 1
    public var id: String
    public var created: Date
    /// hex SHA-256 of the uploader's cookie.
    public var uploader: String
    public var ephemeralKey: String
    public var header: String
    public var size: Int64
    public var chunks: Int

    func encoded() throws -> [UInt8] { Array(try LinkJSON.encoder.encode(self)) }
    static func decode(_ bytes: [UInt8]) throws -> UploadMeta { try LinkJSON.decoder.decode(UploadMeta.self, from: Data(bytes)) }
}

/// Why the server refuses an upload request (each an HTTP status in `LinkServer`).
public enum UploadRefusal: Error, CustomStringConvertible, Equatable {
    case notCollect
    case badRequest(String)
    case tooLarge(limit: Int64)
    case full(limit: Int)
    case tooMany(retryAfter: Int)
    case idTaken
    case noSuchUpload
    case notYours
    case alreadyComplete
    case incomplete(missing: Int)

    public var description: String {
        switch self {
        case .notCollect: "This link does not take uploads."
        case .badRequest(let why): "Bad upload request: \(why)."
        case .tooLarge(let limit): "The file is larger than this link takes (\(limit) bytes)."
        case .full(let limit): "This link has taken all the uploads it may (\(limit))."
        case .tooMany(let wait): "Too many uploads started: wait \(wait) seconds."
        case .idTaken: "Another upload has this id."
        case .noSuchUpload: "There is no such upload."
        case .notYours: "This upload was started by another browser."
        case .alreadyComplete: "This upload is complete already."
        case .incomplete(let missing): "\(missing) chunks are still missing."
        }
    }
}
