import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import KeepsakeCrypto
@testable import Sharing
import Store
import FileSystem
import Testing
import TestSupport
@testable import Gallery

/// Collect links (issue 18, docs/public-links.md "Collect links"): the upload sealing, the server's routes and limits
/// (a `LinkServer` with no key, in process), and the owner's side opening what was uploaded.
@Suite(.serialized) struct CollectTests {
    let fixture: GalleryFixture
    init() throws { fixture = try GalleryFixture.shared.get() }

    // MARK: Sealing

    /// A fresh upload key pair, as a collect link has.
    static func keyPair() -> (secret: [UInt8], public: [UInt8]) {
        let key = Curve25519.KeyAgreement.PrivateKey()
        return (Array(key.rawRepresentation), Array(key.publicKey.rawRepresentation))
    }

    static let token = randomBytes(16).hexString

    /// Opens every chunk of `sealed` as the owner does: index by index, the last one final.
    static func open(_ sealed: [[UInt8]], secret: [UInt8], ephemeral: [UInt8], token: String = token, id: String) throws -> [UInt8] {
        let keys = try UploadCipher.keys(secretKey: secret, ephemeralKey: ephemeral, token: token, uploadId: id)
        return try sealed.enumerated().flatMap { index, chunk in
            try UploadCipher.openChunk(chunk, keys: keys, token: token, uploadId: id, index: index, final: index == sealed.count - 1)
        }
    }

    @Test(arguments: [0, 1, 63, 64, 65, 128, 200])
    func anUploadOpensWithTheLinksSecretKey(size: Int) throws {
        let (secret, publicKey) = Self.keyPair()
        let id = randomBytes(16).hexString, file = randomBytes(size)
        let sealer = try UploadCipher.Sealer(publicKey: publicKey, token: Self.token, uploadId: id)
        let chunks = try sealer.chunks(of: file, chunkSize: 64)
        #expect(chunks.count == UploadCipher.chunkCount(size: Int64(size), chunkSize: 64))
        #expect(chunks.enumerated().allSatisfy { $1.count == UploadCipher.sealedChunkLength(index: $0, size: Int64(size), chunkSize: 64) })
        #expect(try Self.open(chunks, secret: secret, ephemeral: sealer.ephemeralKey, id: id) == file)
        let header = UploadHeader(name: "IMG_0001.JPG", size: Int64(size), type: "image/jpeg")
        let keys = try UploadCipher.keys(secretKey: secret, ephemeralKey: sealer.ephemeralKey, token: Self.token, uploadId: id)
        #expect(try UploadCipher.openHeader(try sealer.header(header), keys: keys, token: Self.token, uploadId: id) == header)
    }

    /// What a server could do to an upload: none of it opens.
    @Test func alteredReorderedTruncatedOrForeignUploadsDoNotOpen() throws {
        let (secret, publicKey) = Self.keyPair()
        let id = randomBytes(16).hexString, file = randomBytes(64 * 3 + 10)
        let sealer = try UploadCipher.Sealer(publicKey: publicKey, token: Self.token, uploadId: id)
        let chunks = try sealer.chunks(of: file, chunkSize: 64)
        #expect(chunks.count == 4)
        let open = { (chunks: [[UInt8]], token: String, id: String) throws in
            try Self.open(chunks, secret: secret, ephemeral: sealer.ephemeralKey, token: token, id: id)
        }
        #expect(try open(chunks, Self.token, id) == file)  // the untouched upload opens: the refusals below are not vacuous
        var flipped = chunks
        for index in flipped.indices { flipped[index][flipped[index].count / 2] ^= 1 }
        #expect(throws: UploadCipherError.self) { try open([flipped[0]] + chunks.dropFirst(), Self.token, id) }
        #expect(throws: UploadCipherError.self) { try open([chunks[1], chunks[0]] + chunks.dropFirst(2), Self.token, id) }  // reordered
        #expect(throws: UploadCipherError.self) { try open(Array(chunks.dropLast()), Self.token, id) }  // cut after a full chunk
        #expect(throws: UploadCipherError.self) { try open([chunks[0], chunks[2], chunks[3]], Self.token, id) }  // one dropped
        #expect(throws: UploadCipherError.self) { try open(chunks, Self.token, randomBytes(16).hexString) }  // another upload's
        #expect(throws: UploadCipherError.self) { try open(chunks, randomBytes(16).hexString, id) }  // another link's
        let other = try UploadCipher.Sealer(publicKey: publicKey, token: Self.token, uploadId: id).chunks(of: file, chunkSize: 64)
        #expect(throws: UploadCipherError.self) { try open([other[0]] + chunks.dropFirst(), Self.token, id) }  // another key's chunk
        #expect(throws: UploadCipherError.self) {
            try UploadCipher.keys(secretKey: secret, ephemeralKey: [UInt8](repeating: 0, count: 32), token: Self.token, uploadId: id)
        }
        // Another link's secret key opens nothing.
        #expect(throws: UploadCipherError.self) { try Self.open(chunks, secret: Self.keyPair().secret, ephemeral: sealer.ephemeralKey, id: id) }
    }

    // MARK: The routes

    struct Collect {
        var token: String
        var manifest: LinkManifest
    }

    func createCollect(maxUploads: Int = 3, maxUploadSize: Int64 = 10_000, chunkSize: Int = 1024) throws -> Collect {
        let limits = LinkUploadLimits(chunkSize: chunkSize, maxUploads: maxUploads, maxUploadSize: maxUploadSize)
        let created = try LinkPublisher(library: fixture.library).create(album: "Trip", options: .init(upload: limits),
                                                                      baseURL: "https://example.org") { _, _ in nil }
        let linkKey = try #require(Base64URL.decode(String(created.url.split(separator: "#")[1])))
        let sealed = try #require(try fixture.library.linkShelf.read(LinkShelfNames.manifest(created.token), upTo: 1 << 20))
        let manifest = try LinkManifest.decode(try LinkCipher.open(sealed, key: LinkCipher.manifestKey(linkKey: linkKey, passwordKey: nil, token: created.token),
                                                                   associatedData: LinkCipher.manifestAssociatedData(token: created.token)))
        return Collect(token: created.token, manifest: manifest)
    }

    /// A browser's upload of `file` to the link: the start request and the sealed chunks.
    struct Upload {
        var id: String
        var start: LinkHost.NewUpload
        var chunks: [[UInt8]]
    }

    static func upload(_ file: [UInt8], name: String, to link: Collect) throws -> Upload {
        let upload = try #require(link.manifest.upload)
        let id = randomBytes(16).hexString
        let sealer = try UploadCipher.Sealer(publicKey: try #require(Base64URL.decode(upload.publicKey)), token: link.token, uploadId: id)
        let header = try sealer.header(UploadHeader(name: name, size: Int64(file.count), type: "image/jpeg"))
        return Upload(id: id, start: .init(id: id, ephemeralKey: Base64URL.encode(sealer.ephemeralKey), header: Base64URL.encode(header),
                                           size: Int64(file.count)),
                      chunks: try sealer.chunks(of: file, chunkSize: upload.chunkSize))
    }

    func withClient(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = LinkServer(host: LinkHost(shelf: fixture.library.linkShelf))
        try await Application(router: server.makeRouter()).test(.router) { try await body($0) }
    }

    static func start(_ upload: Upload, _ link: Collect, cookie: String?, client: any TestClientProtocol) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: "/l/\(link.token)/uploads", method: .post, headers: headers,
                                        body: ByteBuffer(bytes: try JSONEncoder().encode(upload.start)))
    }

    static func cookie(_ response: TestResponse, _ token: String) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix("collect-\(token)=") }.map { String($0.prefix { $0 != ";" }) }
    }

    @Test func aCollectLinksManifestShowsNoItemAndCarriesTheUploadKey() throws {
        let link = try createCollect()
        #expect(link.manifest.items.isEmpty)
        let upload = try #require(link.manifest.upload)
        #expect(Base64URL.decode(upload.publicKey)?.count == 32 && upload.maxUploads == 3 && upload.maxUploadSize == 10_000)
        let record = try LinkRecord.decode(try #require(try fixture.library.linkShelf.read(LinkShelfNames.record(link.token), upTo: 1 << 20)))
        #expect(record.objects == [LinkShelfNames.manifest(link.token)] && record.upload?.maxUploads == 3)
        // The record, which the server reads, has no key: its owner part is sealed.
        #expect(!String(decoding: try record.encoded(), as: UTF8.self).contains(upload.publicKey))
    }

    /// The count and size limits, who may touch an upload, completion, and the owner's sync opening it bit-exact.
    @Test func theServerEnforcesTheLimitsAndKeepsUploadersApart() async throws {
        let link = try createCollect(maxUploads: 2, maxUploadSize: 5000, chunkSize: 1024)
        let file = randomBytes(3000)
        let first = try Self.upload(file, name: "first.jpg", to: link)
        let second = try Self.upload(randomBytes(10), name: "second.jpg", to: link)
        let third = try Self.upload(randomBytes(10), name: "third.jpg", to: link)
        let tooLarge = try Self.upload(randomBytes(5001), name: "large.jpg", to: link)
        let base = "/l/\(link.token)/uploads"
        try await withClient { client in
            #expect(try await Self.start(tooLarge, link, cookie: nil, client: client).status == .contentTooLarge)
            let started = try await Self.start(first, link, cookie: nil, client: client)
            #expect(started.status == .created)
            let mine = try #require(Self.cookie(started, link.token))
            #expect(try await Self.start(first, link, cookie: mine, client: client).status == .ok)  // a retried start
            let other = try await Self.start(second, link, cookie: nil, client: client)
            #expect(other.status == .created)
            let theirs = try #require(Self.cookie(other, link.token))
            #expect(mine != theirs)
            let full = try await Self.start(third, link, cookie: theirs, client: client)
            #expect(full.status == .conflict && String(buffer: full.body).contains("all the uploads"))
            // Another uploader can neither see nor add to an upload that is not theirs.
            #expect(try await client.execute(uri: "\(base)/\(first.id)", method: .get, headers: [.cookie: theirs]).status == .forbidden)
            #expect(try await client.execute(uri: "\(base)/\(first.id)/chunks/0", method: .put, headers: [.cookie: theirs],
                                             body: ByteBuffer(bytes: first.chunks[0])).status == .forbidden)
            let theirList = try JSONDecoder().decode([IDOnly].self, from: Data(buffer: try await client.execute(uri: base, method: .get, headers: [.cookie: theirs]).body))
            #expect(theirList.map(\.id) == [second.id])
            // Chunks of the wrong length are refused; completion waits for every chunk.
            #expect(try await client.execute(uri: "\(base)/\(first.id)/chunks/0", method: .put, headers: [.cookie: mine],
                                             body: ByteBuffer(bytes: first.chunks[0].dropLast())).status == .badRequest)
            #expect(try await client.execute(uri: "\(base)/\(first.id)/chunks/3", method: .put, headers: [.cookie: mine],
                                             body: ByteBuffer(bytes: first.chunks[0])).status == .badRequest)
            for index in [0, 2, 2] {  // twice: idempotent
                #expect(try await client.execute(uri: "\(base)/\(first.id)/chunks/\(index)", method: .put, headers: [.cookie: mine],
                                                 body: ByteBuffer(bytes: first.chunks[index])).status == .noContent)
            }
            #expect(try await client.execute(uri: "\(base)/\(first.id)/complete", method: .post, headers: [.cookie: mine]).status == .conflict)
            let progress = try JSONDecoder().decode(LinkHost.UploadProgress.self,
                                                    from: Data(buffer: try await client.execute(uri: "\(base)/\(first.id)", method: .get, headers: [.cookie: mine]).body))
            #expect(progress.chunks == 3 && progress.have == [0, 2] && !progress.complete)
            #expect(try await client.execute(uri: "\(base)/\(first.id)/chunks/1", method: .put, headers: [.cookie: mine],
                                             body: ByteBuffer(bytes: first.chunks[1])).status == .noContent)
            #expect(try await client.execute(uri: "\(base)/\(first.id)/complete", method: .post, headers: [.cookie: mine]).status == .noContent)
            #expect(try await client.execute(uri: "\(base)/\(first.id)/chunks/1", method: .put, headers: [.cookie: mine],
                                             body: ByteBuffer(bytes: first.chunks[1])).status == .conflict)
            // No upload object is served as a link object.
            let chunk = LinkShelfNames.uploadChunk(link.token, first.id, 0)
            #expect(try await client.get("/l/\(link.token)/o/\(chunk)").status == .notFound)
        }
        // The owner's side opens it, bit-exact, with the name the uploader gave.
        let collector = UploadCollector(library: fixture.library)
        let pending = try collector.pending().uploads.filter { $0.token == link.token }
        #expect(pending.map(\.id) == [first.id] && pending.first?.header.name == "first.jpg")
        let folder = try TestEnvironment.makeTempDirectory("collect-open").path
        let path = try collector.decrypt(try #require(pending.first), into: BytePath(folder))
        #expect(path.lastComponent.description == "first.jpg")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path.description))) == file)
        #expect(try FileManager.default.attributesOfItem(atPath: path.description)[.posixPermissions] as? Int == 0o600)
        try collector.markTaken(try #require(pending.first))
        #expect(try collector.pending().uploads.filter { $0.token == link.token }.isEmpty)
        #expect(try fixture.library.linkShelf.names(under: LinkShelfNames.uploadChunksPrefix(link.token, first.id)).isEmpty)
        #expect(try collector.counts(token: link.token) == (0, 0))
    }

    struct IDOnly: Decodable { var id: String }

    /// A chunk the server swapped for bytes of its own: the owner's side reports it, marks it rejected, takes nothing.
    @Test func aForgedUploadIsRejectedAndKeptAside() async throws {
        let link = try createCollect()
        let upload = try Self.upload(randomBytes(2500), name: "forged.jpg", to: link)
        let host = LinkHost(shelf: fixture.library.linkShelf)
        guard case .live(let live) = try host.state(of: link.token) else { Issue.record("the link is not live"); return }
        _ = try host.startUpload(upload.start, link: live, uploader: "cookie")
        for (index, chunk) in upload.chunks.enumerated() {
            try host.putChunk(index == 1 ? randomBytes(chunk.count) : chunk, index: index, upload: upload.id, link: live, uploader: "cookie")
        }
        try host.completeUpload(upload.id, link: live, uploader: "cookie")
        let collector = UploadCollector(library: fixture.library)
        let pending = try #require(try collector.pending().uploads.first { $0.token == link.token })
        let folder = try TestEnvironment.makeTempDirectory("collect-forged").path
        #expect(throws: UploadCipherError.doesNotOpen("chunk 1")) { try collector.decrypt(pending, into: BytePath(folder)) }
        try collector.reject(token: link.token, id: upload.id, reason: "forged")
        #expect(try collector.pending().uploads.filter { $0.token == link.token }.isEmpty)
        #expect(try collector.counts(token: link.token) == (0, 1))
        #expect(try fixture.library.linkShelf.names(under: LinkShelfNames.uploadChunksPrefix(link.token, upload.id)).count == 3)
    }

    /// A revoked collect link takes no more uploads; its finished ones still reach the owner, its unfinished ones go.
    @Test func aRevokedCollectLinkKeepsItsFinishedUploadsOnly() async throws {
        let link = try createCollect()
        let finished = try Self.upload(randomBytes(1500), name: "finished.jpg", to: link)
        let unfinished = try Self.upload(randomBytes(1500), name: "unfinished.jpg", to: link)
        let host = LinkHost(shelf: fixture.library.linkShelf)
        guard case .live(let live) = try host.state(of: link.token) else { Issue.record("the link is not live"); return }
        for upload in [finished, unfinished] {
            _ = try host.startUpload(upload.start, link: live, uploader: "cookie")
            try host.putChunk(upload.chunks[0], index: 0, upload: upload.id, link: live, uploader: "cookie")
        }
        try host.putChunk(finished.chunks[1], index: 1, upload: finished.id, link: live, uploader: "cookie")
        try host.completeUpload(finished.id, link: live, uploader: "cookie")
        try LinkPublisher(library: fixture.library).revoke(token: link.token)
        let shelf = fixture.library.linkShelf
        #expect(try shelf.names(under: LinkShelfNames.uploadChunksPrefix(link.token, unfinished.id)).isEmpty)
        #expect(try shelf.size(of: LinkShelfNames.uploadMeta(link.token, unfinished.id)) == nil)
        #expect(try shelf.names(under: LinkShelfNames.uploadChunksPrefix(link.token, finished.id)).count == 2)
        let pending = try UploadCollector(library: fixture.library).pending().uploads.filter { $0.token == link.token }
        #expect(pending.map(\.id) == [finished.id])
        let another = try Self.upload(randomBytes(10), name: "late.jpg", to: link)
        try await withClient { client in
            let late = try await Self.start(another, link, cookie: nil, client: client)
            #expect(late.status == .gone)
        }
    }

    /// What the store says of a link is not trusted to be sane: a chunk size of 0 is refused when the record is read.
    @Test func aRecordWithAnImpossibleChunkSizeIsRefused() throws {
        let link = try createCollect()
        let shelf = fixture.library.linkShelf
        let bytes = try #require(try shelf.read(LinkShelfNames.record(link.token), upTo: 1 << 20))
        #expect(try LinkRecord.decode(bytes).upload?.chunkSize == 1024)
        let broken = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: #""chunkSize":1024"#, with: #""chunkSize":0"#)
        #expect(broken != String(decoding: bytes, as: UTF8.self))
        #expect(throws: DecodingError.self) { try LinkRecord.decode(Array(broken.utf8)) }
    }

    /// The uploader's file name becomes a file name here, and nothing else.
    @Test func anUploadersNameIsMadeSafe() {
        #expect(UploadCollector.safeName("IMG_0001.JPG") == "IMG_0001.JPG")
        #expect(UploadCollector.safeName("../../etc/passwd") == "passwd")
        #expect(UploadCollector.safeName("C:\\Users\\me\\photo.jpg") == "photo.jpg")
        #expect(UploadCollector.safeName(".bashrc") == "_bashrc")
        #expect(UploadCollector.safeName("a\u{0}b\nc.jpg") == "abc.jpg")
        #expect(UploadCollector.safeName("") == "upload" && UploadCollector.safeName("/") == "upload" && UploadCollector.safeName(".") == "upload")
        let long = String(repeating: "é", count: 300) + ".jpg"
        #expect(UploadCollector.safeName(long).utf8.count <= 200 && UploadCollector.safeName(long).hasSuffix(".jpg"))
    }

    /// Uploads started a minute are limited per link, as wrong passwords are; a minute later more may start.
    @Test func startingUploadsIsRateLimitedPerLink() throws {
        let link = try createCollect(maxUploads: 1000)
        let host = LinkHost(shelf: fixture.library.linkShelf)
        guard case .live(let live) = try host.state(of: link.token) else { Issue.record("the link is not live"); return }
        let now = Date()
        for _ in 0..<LinkHost.uploadStartLimit {
            _ = try host.startUpload(try Self.upload(randomBytes(10), name: "a.jpg", to: link).start, link: live, uploader: "cookie", now: now)
        }
        let one = try Self.upload(randomBytes(10), name: "b.jpg", to: link).start
        #expect(throws: UploadRefusal.tooMany(retryAfter: 60)) { try host.startUpload(one, link: live, uploader: "cookie", now: now) }
        #expect(try host.startUpload(one, link: live, uploader: "cookie", now: now.addingTimeInterval(61)).created)
    }
}
