import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import KeepsakeCrypto
import Sharing
import Store
import Testing
import TestSupport
@testable import Gallery

/// Public links (issue 17, docs/public-links.md) over the gallery fixture's library, served in process by a
/// `LinkServer` that has no key: everything a test decrypts, it decrypts with what the link gives, as the page does.
@Suite(.serialized) struct LinkTests {
    let fixture: GalleryFixture
    /// The large picture a stand-in for the media workers makes for a photo without a rendition.
    static let madeLargePicture = Array("large picture".utf8)

    init() throws { fixture = try GalleryFixture.shared.get() }

    struct Link {
        var token: String
        var linkKey: [UInt8]
        var url: String
    }

    func create(_ album: String, _ options: LinkPublisher.Options = .init()) throws -> Link {
        let created = try LinkPublisher(library: fixture.library).create(album: album, options: options, baseURL: "https://example.org/") { _, _ in
            Self.madeLargePicture
        }
        let parts = created.url.split(separator: "#")
        #expect(parts[0] == "https://example.org/l/\(created.token)")
        return Link(token: created.token, linkKey: try #require(Base64URL.decode(String(parts[1]))), url: created.url)
    }

    func withClient(_ host: LinkHost? = nil, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = LinkServer(host: host ?? LinkHost(shelf: fixture.library.linkShelf))
        try await Application(router: server.makeRouter()).test(.router) { try await body($0) }
    }

    /// The manifest as the page opens it.
    func open(_ sealed: [UInt8], _ link: Link, password: [UInt8]? = nil) throws -> LinkManifest {
        let key = LinkCipher.manifestKey(linkKey: link.linkKey, passwordKey: password, token: link.token)
        return try LinkManifest.decode(try LinkCipher.open(sealed, key: key, associatedData: LinkCipher.manifestAssociatedData(token: link.token)))
    }

    func openObject(_ sealed: [UInt8], name: String, _ manifest: LinkManifest) throws -> [UInt8] {
        let key = SymmetricKey(data: try #require(Base64URL.decode(manifest.contentKey)))
        return try LinkCipher.open(sealed, key: key, associatedData: LinkCipher.objectAssociatedData(token: manifest.token, name: name))
    }

    func decrypted(_ name: String?, of itemId: String) throws -> [UInt8] {
        let name = try #require(name)
        var bytes = [UInt8]()
        try fixture.library.readDecrypted(ObjectName(name), key: try fixture.library.fileKey(of: itemId)) { bytes.append(contentsOf: $0) }
        return bytes
    }

    @Test func aLinkOpensWithItsKeyAloneAndShowsEveryItem() async throws {
        let link = try create(AlbumRecord.uncategorizedName)
        let fixture = self.fixture
        let items = try fixture.library.liveItems(inAlbum: AlbumRecord.uncategorizedName)
        try await withClient { client in
            let page = try await client.get("/l/\(link.token)")
            #expect(page.status == .ok && String(buffer: page.body).contains("/l/assets/link.js"))
            #expect(page.headers[.cacheControl] == "no-store" && page.headers[.contentSecurityPolicy] != nil)
            #expect(String(buffer: try await client.get("/l/\(link.token)/info").body) == #"{"password":null}"#)
            let sealed = try await client.get("/l/\(link.token)/manifest")
            #expect(sealed.status == .ok)
            let manifest = try open(Array(buffer: sealed.body), link)
            #expect(Set(manifest.items.map(\.id)) == Set(items.map(\.id)) && !manifest.allowDownload)
            for item in manifest.items {
                let record = try #require(items.first { $0.id == item.id })
                #expect((item.thumbnail == nil) == (record.thumbnailObject == nil))
                if let thumbnail = item.thumbnail {
                    let fetched = try await client.get("/l/\(link.token)/o/\(thumbnail)")
                    #expect(try openObject(Array(buffer: fetched.body), name: thumbnail, manifest) == decrypted(record.thumbnailObject, of: record.id))
                }
                #expect(item.originals.isEmpty)
                if record.type == .image {
                    let large = try #require(item.large)
                    let bytes = Array(buffer: try await client.get("/l/\(link.token)/o/\(large)").body)
                    let expected = try record.renditionObject.map { try decrypted($0, of: record.id) } ?? Self.madeLargePicture
                    #expect(try openObject(bytes, name: large, manifest) == expected)
                }
                for original in try fixture.library.originals(of: record.id) {
                    #expect(try await client.get("/l/\(link.token)/o/\(original.objectName)").status == .notFound)
                }
            }
            // The video plays from its link playlist and its segments as stored.
            let video = try #require(manifest.items.first { $0.id == fixture.video }?.stream)
            let playlist = String(decoding: try openObject(Array(buffer: try await client.get("/l/\(link.token)/o/\(video.playlist)").body),
                                                           name: video.playlist, manifest), as: UTF8.self)
            #expect(playlist.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"data:text/plain;base64,\(Data(fixture.segmentKey).base64EncodedString())\""))
            let range = try await client.get("/l/\(link.token)/o/\(video.segments)", headers: [.range: "bytes=2048-3087"])
            #expect(range.status == .partialContent && Array(buffer: range.body) == Array(fixture.streamBytes[2048..<3088]))
        }
    }

    @Test func withoutDownloadNoKeyTheLinkGivesOpensAnOriginal() async throws {
        let link = try create(AlbumRecord.uncategorizedName)
        let sealed = try #require(try fixture.library.linkShelf.read(LinkShelfNames.manifest(link.token), upTo: 1 << 20))
        let manifest = try open(sealed, link)
        let keys = [link.linkKey, try #require(Base64URL.decode(manifest.contentKey))]
        var tried = 0
        for item in manifest.items {
            for original in try fixture.library.originals(of: item.id) {
                var stored = [UInt8]()
                try fixture.library.readStored(original.objectName) { stored.append(contentsOf: $0) }
                for key in keys {
                    #expect(throws: (any Error).self) { try OpeningStream.open(stored, key: try SecretKey(bytes: key)) }
                    tried += 1
                }
                // Not vacuous: the item's own file key does open it.
                #expect(try OpeningStream.open(stored, key: fixture.library.fileKey(of: item.id)) == fixture.originals[item.id])
            }
        }
        #expect(tried >= 8)
    }

    @Test func aDownloadLinkGivesBitExactOriginals() async throws {
        let link = try create("Trip", .init(allowDownload: true))
        let fixture = self.fixture
        try await withClient { client in
            let manifest = try open(Array(buffer: try await client.get("/l/\(link.token)/manifest").body), link)
            let item = try #require(manifest.items.first)
            #expect(item.id == fixture.photo)
            let original = try #require(item.originals.first)
            let stored = Array(buffer: try await client.get("/l/\(link.token)/o/\(original.object)").body)
            #expect(Int64(stored.count) == original.storedSize && Blake2b.hash(stored).hexString == original.storedBlake2b)
            let plain = try OpeningStream.open(stored, key: SecretKey(bytes: try #require(Base64URL.decode(original.fileKey))))
            #expect(plain == fixture.originals[fixture.photo] && Blake2b.hash(plain).hexString == original.plainBlake2b)
        }
    }

    @Test func aPasswordIsAKeyNotAGate() async throws {
        let link = try create("Trip", .init(password: "correct horse"))
        let record = try LinkRecord.decode(try #require(try fixture.library.linkShelf.read(LinkShelfNames.record(link.token), upTo: 1 << 20)))
        let password = try #require(record.password)
        #expect(password.iterations == 600_000 && password.kdf == "PBKDF2-SHA256")
        let salt = try #require(Base64URL.decode(password.salt))
        let right = try LinkCipher.passwordKey(password: "correct horse", salt: salt, iterations: password.iterations)
        let wrong = try LinkCipher.passwordKey(password: "correct horse ", salt: salt, iterations: password.iterations)
        // The link key alone does not open the manifest, nor does a wrong password.
        let stored = try #require(try fixture.library.linkShelf.read(LinkShelfNames.manifest(link.token), upTo: 1 << 20))
        #expect(throws: LinkCipherError.self) { try open(stored, link) }
        #expect(throws: LinkCipherError.self) { try open(stored, link, password: wrong) }
        let manifest = try open(stored, link, password: right)
        let thumbnail = try #require(manifest.items.first?.thumbnail)
        let token = link.token
        let check: @Sendable ([UInt8]) -> String = { Base64URL.encode(LinkCipher.checkKey(passwordKey: $0, token: token)) }
        try await withClient { client in
            let info = String(buffer: try await client.get("/l/\(link.token)/info").body)
            #expect(info.contains(password.salt) && !info.contains(password.verifier))
            #expect(try await client.get("/l/\(link.token)/manifest").status == .forbidden)
            #expect(try await client.get("/l/\(link.token)/o/\(thumbnail)").status == .unauthorized)
            let unlocked = try await client.execute(uri: "/l/\(link.token)/unlock", method: .post, body: ByteBuffer(string: check(right)))
            #expect(unlocked.status == .ok && Array(buffer: unlocked.body) == stored)
            let cookie = try #require(unlocked.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            #expect(cookie.hasPrefix("link-\(link.token)="))
            #expect(try await client.get("/l/\(link.token)/o/\(thumbnail)", headers: [.cookie: cookie]).status == .ok)
            for _ in 0..<LinkHost.attemptLimit {
                let refused = try await client.execute(uri: "/l/\(link.token)/unlock", method: .post, body: ByteBuffer(string: check(wrong)))
                #expect(refused.status == .forbidden)
            }
            let limited = try await client.execute(uri: "/l/\(link.token)/unlock", method: .post, body: ByteBuffer(string: check(right)))
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] != nil)
        }
    }

    @Test func revokedAndExpiredLinksAreGoneAfterARestartToo() async throws {
        let shelf = fixture.library.linkShelf
        let revoked = try create("Trip")
        try LinkPublisher(library: fixture.library).revoke(token: revoked.token)
        let expiring = try create("Trip", .init(expires: Date().addingTimeInterval(3600)))
        let host = LinkHost(shelf: shelf)
        guard case .live = try host.state(of: expiring.token) else { Issue.record("a live link is not live"); return }
        guard case .gone = try host.state(of: expiring.token, now: Date().addingTimeInterval(7200)) else { Issue.record("not expired"); return }
        for link in [revoked, expiring] {
            #expect(try shelf.read(LinkShelfNames.manifest(link.token), upTo: 1 << 20) == nil)
            #expect(try shelf.names(under: LinkShelfNames.objectPrefix(link.token)).isEmpty)
            let record = try LinkRecord.decode(try #require(try shelf.read(LinkShelfNames.record(link.token), upTo: 1 << 20)))
            #expect(record.isTombstone && record.objects.isEmpty && record.password == nil)
        }
        // A server started afresh answers from the tombstones.
        try await withClient(LinkHost(shelf: shelf)) { client in
            for link in [revoked, expiring] {
                let page = try await client.get("/l/\(link.token)")
                #expect(page.status == .gone && String(buffer: page.body).contains("This link has ended"))
                #expect(try await client.get("/l/\(link.token)/manifest").status == .gone)
                #expect(try await client.get("/l/\(link.token)/info").status == .gone)
            }
            #expect(try await client.get("/l/" + String(repeating: "a", count: 32)).status == .notFound)
            #expect(try await client.get("/l/not-a-token").status == .notFound)
        }
        let listed = try LinkPublisher(library: fixture.library).list()
        #expect(listed.first { $0.token == revoked.token }?.state == "revoked")
        #expect(listed.first { $0.token == expiring.token }?.state == "expired")
    }

    @Test func anUpdatedLinkShowsWhatItsAlbumHoldsNowWithTheSameKey() throws {
        let library = fixture.library
        let album = "Later " + randomBytes(4).hexString
        do {
            let (lock, _) = try library.lockForWriting()
            defer { withExtendedLifetime(lock) {} }
            try library.createAlbum(named: album)
            _ = try library.addToAlbum(album, itemId: fixture.photo)
        }
        let link = try create(album, .init(password: "pw"))
        let shelf = library.linkShelf
        let before = try LinkRecord.decode(try #require(try shelf.read(LinkShelfNames.record(link.token), upTo: 1 << 20)))
        do {
            let (lock, _) = try library.lockForWriting()
            defer { withExtendedLifetime(lock) {} }
            _ = try library.addToAlbum(album, itemId: fixture.heic)
        }
        let updated = try LinkPublisher(library: library).update(token: link.token, baseURL: "https://example.org") { _, _ in Self.madeLargePicture }
        #expect(updated.url == link.url && updated.items == 2)
        let after = try LinkRecord.decode(try #require(try shelf.read(LinkShelfNames.record(link.token), upTo: 1 << 20)))
        #expect(after.password == before.password && after.created == before.created)
        let salt = try #require(after.password?.salt)
        let password = try LinkCipher.passwordKey(password: "pw", salt: try #require(Base64URL.decode(salt)), iterations: LinkCipher.passwordIterations)
        let manifest = try open(try #require(try shelf.read(LinkShelfNames.manifest(link.token), upTo: 1 << 20)), link, password: password)
        #expect(Set(manifest.items.map(\.id)) == [fixture.photo, fixture.heic])
        // The old pictures are gone; every one the record lists is there and opens.
        let stored = Set(try shelf.names(under: LinkShelfNames.objectPrefix(link.token)))
        #expect(stored == Set(after.objects.filter { $0.hasPrefix(LinkShelfNames.objectPrefix(link.token)) }))
        #expect(stored.isDisjoint(with: before.objects))
        for name in stored { #expect(try openObject(try #require(try shelf.read(name, upTo: 1 << 20)), name: name, manifest).count > 0) }
        try LinkPublisher(library: library).revoke(token: link.token)
        #expect(throws: LinkError.self) { try LinkPublisher(library: library).update(token: link.token, baseURL: "") { _, _ in nil } }
    }

    @Test func anObjectOrManifestMovedToAnotherNameDoesNotOpen() throws {
        let first = try create(AlbumRecord.uncategorizedName), second = try create(AlbumRecord.uncategorizedName)
        let shelf = fixture.library.linkShelf
        let manifest = try open(try #require(try shelf.read(LinkShelfNames.manifest(first.token), upTo: 1 << 20)), first)
        let names = manifest.items.compactMap(\.thumbnail)
        #expect(names.count >= 2)
        let a = try #require(try shelf.read(names[0], upTo: 1 << 20))
        #expect(throws: LinkCipherError.self) { try openObject(a, name: names[1], manifest) }
        #expect(try openObject(a, name: names[0], manifest).count > 0)
        // Another link's manifest under this link's name: it does not open with this link's key.
        let other = try #require(try shelf.read(LinkShelfNames.manifest(second.token), upTo: 1 << 20))
        #expect(throws: LinkCipherError.self) { try open(other, first) }
    }
}
