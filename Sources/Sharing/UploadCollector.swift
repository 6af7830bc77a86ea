import FileSystem
import Foundation
import KeepsakeCrypto
import Store

/// The owner's side of collect links (docs/public-links.md, "Collect links"): finds the completed uploads of this
/// library's collect links, decrypts each one chunk at a time into a file named as its uploader named it, and, once
/// the caller has ingested it, marks it taken and deletes its chunks. An upload that does not authenticate is marked
/// rejected and kept aside.
public struct UploadCollector {
    /// A completed upload, its header opened.
    public struct Upload {
        public let token: String
        public let album: String
        public let id: String
        public let header: UploadHeader
        let keys: UploadCipher.Keys
        let chunks: Int
        let chunkSize: Int
    }

    /// An upload that did not authenticate (now marked rejected), or that could not be read this time.
    public struct Problem: Sendable, CustomStringConvertible {
        public let token: String
        public let id: String
        public let reason: String
        public var description: String { "upload \(id) of link \(token): \(reason)" }
    }

    let library: Library
    public init(library: Library) { self.library = library }

    /// This library's collect links that have finished uploads (live or not: a revoked link's finished uploads are
    /// still the owner's), with their owner parts. One listing of `links/`; only those links' records are read.
    private func collectLinks() throws -> [(record: LinkRecord, owner: LinkOwnerPart)] {
        let shelf = library.linkShelf, publisher = LinkPublisher(library: library)
        let names = try shelf.names(under: LinkShelf.prefix)
        let tokens = Set(names.compactMap { name -> String? in
            let parts = name.split(separator: "/")
            guard parts.count == 5, parts[2] == "uploads", parts[3] == "done" else { return nil }
            return String(parts[1])
        })
        return try tokens.sorted().compactMap { token in
            guard let bytes = try shelf.read(LinkShelfNames.record(token), upTo: LinkRecord.byteCap),
                  let record = try? LinkRecord.decode(bytes), record.token == token, record.upload != nil,
                  let owner = try? publisher.ownerPart(of: record), owner.uploadSecretKey != nil else { return nil }
            return (record, owner)
        }
    }

    private func ids(_ token: String, _ folder: String) throws -> Set<String> {
        let prefix = LinkShelfNames.uploadsPrefix(token) + folder + "/"
        return Set(try library.linkShelf.names(under: prefix).compactMap { LinkShelfNames.uploadId($0, under: prefix) })
    }

    /// How many completed uploads of the link `token` wait for a sync, and how many were rejected.
    public func counts(token: String) throws -> (waiting: Int, rejected: Int) {
        let rejected = try ids(token, "rejected")
        return (try ids(token, "done").subtracting(ids(token, "taken")).subtracting(rejected).count, rejected.count)
    }

    /// The completed uploads to take; those whose key or header does not open are marked rejected and reported.
    public func pending() throws -> (uploads: [Upload], problems: [Problem]) {
        let shelf = library.linkShelf
        var uploads: [Upload] = [], problems: [Problem] = []
        for (record, owner) in try collectLinks() {
            let token = record.token
            guard let secret = owner.uploadSecretKey.flatMap(Base64URL.decode) else { continue }
            for id in try ids(token, "done").subtracting(ids(token, "taken")).subtracting(ids(token, "rejected")).sorted() {
                guard let bytes = try shelf.read(LinkShelfNames.uploadMeta(token, id), upTo: UploadMeta.byteCap),
                      let meta = try? UploadMeta.decode(bytes), meta.id == id,
                      let ephemeral = Base64URL.decode(meta.ephemeralKey), let sealedHeader = Base64URL.decode(meta.header) else {
                    problems.append(try reject(token: token, id: id, reason: "its record is missing or unreadable"))
                    continue
                }
                do {
                    let keys = try UploadCipher.keys(secretKey: secret, ephemeralKey: ephemeral, token: token, uploadId: id)
                    let header = try UploadCipher.openHeader(sealedHeader, keys: keys, token: token, uploadId: id)
                    guard header.size == meta.size else { throw UploadCipherError.doesNotOpen("its size (the server's differs from the sealed one)") }
                    let chunkSize = record.upload?.chunkSize ?? UploadCipher.chunkSize
                    uploads.append(Upload(token: token, album: owner.album, id: id, header: header, keys: keys,
                                          chunks: UploadCipher.chunkCount(size: header.size, chunkSize: chunkSize), chunkSize: chunkSize))
                } catch {
                    problems.append(try reject(token: token, id: id, reason: "\(error)"))
                }
            }
        }
        return (uploads, problems)
    }

    /// Decrypts `upload` into a new file in the folder `folder` (which must exist), mode 0600, named as the uploader
    /// named it; returns its path. Throws `UploadCipherError` when a chunk does not authenticate or one is missing.
    public func decrypt(_ upload: Upload, into folder: BytePath) throws -> BytePath {
        let path = BytePath(bytes: folder.bytes + [0x2F] + Array(Self.safeName(upload.header.name).utf8))
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw UploadCollectError.cannotWrite(path.description, Errno.current) }
        defer { close(fd) }
        let shelf = library.linkShelf
        var written: Int64 = 0
        for index in 0..<upload.chunks {
            let name = LinkShelfNames.uploadChunk(upload.token, upload.id, index)
            let read: [UInt8]?
            do { read = try shelf.read(name, upTo: upload.chunkSize + UploadCipher.tagByteCount) }
            catch is ObjectTooLarge { throw UploadCipherError.doesNotOpen("chunk \(index) (larger than a chunk)") }
            guard let sealed = read else { throw UploadCipherError.doesNotOpen("chunk \(index) (missing)") }
            let plain = try UploadCipher.openChunk(sealed, keys: upload.keys, token: upload.token, uploadId: upload.id, index: index,
                                                   final: index == upload.chunks - 1)
            do { try plain.withUnsafeBytes { try FileIO.writeFully(fd, $0) } } catch { throw UploadCollectError.cannotWrite(path.description, error) }
            written += Int64(plain.count)
        }
        guard written == upload.header.size else { throw UploadCipherError.doesNotOpen("its length (\(written) bytes, not \(upload.header.size))") }
        return path
    }

    /// After the upload's item is committed: marks it taken (the uploader's page says so), then deletes its chunks.
    public func markTaken(_ upload: Upload, now: Date = Date()) throws {
        let shelf = library.linkShelf
        try shelf.put(LinkShelfNames.uploadTaken(upload.token, upload.id), Array(try LinkJSON.encoder.encode(["taken": now])))
        for name in try shelf.names(under: LinkShelfNames.uploadChunksPrefix(upload.token, upload.id)) { try shelf.delete(name) }
    }

    /// Marks the upload rejected (kept aside, never taken), saying why.
    @discardableResult
    public func reject(token: String, id: String, reason: String, now: Date = Date()) throws -> Problem {
        struct Rejected: Encodable { var rejected: Date, reason: String }
        try library.linkShelf.put(LinkShelfNames.uploadRejected(token, id), Array(try LinkJSON.encoder.encode(Rejected(rejected: now, reason: reason))))
        return Problem(token: token, id: id, reason: reason + "; kept aside, not taken")
    }

    /// The uploader's file name as a file name here: its last path part, without control characters, not hidden,
    /// at most 200 bytes.
    static func safeName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var cleaned = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        if cleaned.hasPrefix(".") { cleaned = "_" + cleaned.dropFirst() }
        while cleaned.utf8.count > 200 { cleaned.removeFirst() }
        return cleaned.isEmpty || cleaned == "_" ? "upload" : cleaned
    }
}

public enum UploadCollectError: Error, CustomStringConvertible {
    case cannotWrite(String, any Error)
    public var description: String {
        switch self {
        case .cannotWrite(let path, let error): "cannot write the decrypted upload \(path): \(error) (is the library folder's disk full?)"
        }
    }
}
