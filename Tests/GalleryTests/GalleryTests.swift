import FileSystem
import Foundation
import Hummingbird
import HummingbirdTesting
import KeepsakeCrypto
import MediaTypes
import Store
import Testing
import TestSupport
@testable import Gallery

/// A library of a few items made through the public API, as ingest makes them: originals of several 4 MiB chunks, a
/// video with a stream and playlist, and a second library whose item this one's server must not serve.
final class GalleryFixture: @unchecked Sendable {
    static let passphrase = "gallery test"
    static let chunk = SecretStreamFormat.chunkSize

    let library: Library
    let other: Library
    /// Item id → its original's plaintext.
    var originals: [String: [UInt8]] = [:]
    var photo = "", exactChunks = "", video = "", otherItem = "", plainVideo = "", heic = ""
    var streamBytes: [UInt8] = []
    let segmentKey = randomBytes(16)

    init() throws {
        let root = try TestEnvironment.makeTempDirectory("gallery").path
        library = try Library.open(at: root + "/lib", passphrase: Self.passphrase, create: true)
        other = try Library.open(at: root + "/other", passphrase: Self.passphrase, create: true)
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        photo = try commit(to: library, size: 2 * Self.chunk + 1000, album: .named("Trip"))
        exactChunks = try commit(to: library, size: 2 * Self.chunk, album: .uncategorized)
        video = try commitVideo()
        plainVideo = try commit(to: library, size: 300, album: .uncategorized, type: .video, mimeType: "video/mp4")
        heic = try commit(to: library, size: 400, album: .uncategorized, mimeType: "image/heic")
        let (otherLock, _) = try other.lockForWriting()
        defer { withExtendedLifetime(otherLock) {} }
        otherItem = try commit(to: other, size: 100, album: .uncategorized)
    }

    private func commit(to library: Library, size: Int, album: AlbumTarget, type: ItemType = .image,
                        mimeType: String = "image/jpeg") throws -> String {
        let bytes = randomBytes(size)
        let hash = Blake2b.hash(bytes).hexString
        let upload = library.beginUpload()
        let original = try upload.storeSealed(bytes, role: .original)
        var item = NewItem(type: type, dedupHash: hash, fileKey: upload.fileKey, originals: [
            OriginalRecord(itemId: "", role: "main", name: BytePath("IMG_\(size).JPG"), sourcePath: BytePath("/p/IMG_\(size).JPG"),
                           size: Int64(size), blake2b: hash, mimeType: mimeType, objectName: original.path),
        ])
        item.metadataJSON = #"{"captureTime":{"local":"2021-03-14T12:00:00","offsetSeconds":3600,"source":"exif"},"format":"jpeg","sources":{}}"#
        item.thumbnailObject = try upload.storeSealed(Array("thumbnail \(size)".utf8), role: .thumbnail)
        guard case .stored(let id) = try upload.commit(item, album: album) else { throw GalleryTestError("not stored") }
        originals[id] = bytes
        return id
    }

    private func commitVideo() throws -> String {
        let bytes = randomBytes(5000)
        let hash = Blake2b.hash(bytes).hexString
        let upload = library.beginUpload()
        let original = try upload.storeSealed(bytes, role: .original)
        var item = NewItem(type: .video, dedupHash: hash, fileKey: upload.fileKey, originals: [
            OriginalRecord(itemId: "", role: "main", name: BytePath("clip.mov"), sourcePath: BytePath("/p/clip.mov"),
                           size: 5000, blake2b: hash, mimeType: "video/quicktime", objectName: original.path),
        ])
        streamBytes = randomBytes(3 * 1024 + 16)
        item.streamObject = try upload.storeAsIs(role: .stream) { write in try streamBytes.withUnsafeBytes { try write($0) } }.0
        let keyURI = "data:text/plain;base64," + Data(segmentKey).base64EncodedString()
        let playlist = """
            #EXTM3U
            #EXT-X-VERSION:4
            #EXT-X-TARGETDURATION:2
            #EXT-X-PLAYLIST-TYPE:VOD
            #EXT-X-KEY:METHOD=AES-128,URI="\(keyURI)",IV=0x00000000000000000000000000000000
            #EXTINF:2.000000,
            #EXT-X-BYTERANGE:2048@0
            stream.ts
            #EXT-X-KEY:METHOD=AES-128,URI="\(keyURI)",IV=0x00000000000000000000000000000001
            #EXTINF:1.000000,
            #EXT-X-BYTERANGE:1040@2048
            stream.ts
            #EXT-X-ENDLIST

            """
        item.playlistObject = try upload.storeSealed(Array(playlist.utf8), role: .playlist)
        guard case .stored(let id) = try upload.commit(item, album: .uncategorized) else { throw GalleryTestError("not stored") }
        originals[id] = bytes
        return id
    }

    /// The fixture is made once (Argon2id and 16 MiB of originals): every test uses its own `Gallery` over it.
    static let shared = Result { try GalleryFixture() }
}

struct GalleryTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension TestClientProtocol {
    func get(_ uri: String, session: String? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let session { headers[.cookie] = "\(Access.cookieName)=\(session)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }
}

/// The session cookie a response sets, if any.
func sessionCookie(_ response: TestResponse) -> String? {
    response.headers[values: .setCookie].compactMap { header -> String? in
        guard header.hasPrefix(Access.cookieName + "=") else { return nil }
        let value = header.dropFirst(Access.cookieName.count + 1).prefix { $0 != ";" }
        return value.isEmpty ? nil : String(value)
    }.first
}

@Suite(.serialized) struct GalleryHTTPTests {
    let fixture: GalleryFixture
    let gallery: Gallery

    init() throws {
        fixture = try GalleryFixture.shared.get()
        gallery = Gallery(library: fixture.library)
    }

    func withClient(_ body: @escaping @Sendable (any TestClientProtocol, String) async throws -> Void) async throws {
        let app = Application(router: gallery.makeRouter())
        let token = try #require(gallery.loginToken)
        try await app.test(.router) { client in
            let login = try await client.get("/login?token=\(token)")
            let session = try #require(sessionCookie(login))
            try await body(client, session)
        }
    }

    var routes: [String] {
        let id = fixture.photo, video = fixture.video
        return ["/", "/albums", "/album?name=Trip", "/items/\(id)", "/api/timeline", "/api/timeline?offset=0",
                "/media/\(id)/thumbnail", "/media/\(id)/rendition", "/media/\(id)/original/main",
                "/media/\(id)/original/main?download=1", "/media/\(video)/playlist.m3u8", "/media/\(video)/key",
                "/media/\(video)/stream.ts", "/assets/gallery.css", "/assets/gallery.js"]
    }

    @Test func everyRouteRefusesWithoutASession() async throws {
        let app = Application(router: gallery.makeRouter())
        let routes = self.routes
        try await app.test(.router) { client in
            for route in routes {
                for session in [nil, "", Access.randomSecret()] {
                    let response = try await client.get(route, session: session)
                    #expect([.unauthorized, .seeOther].contains(response.status), "\(route) answered \(response.status)")
                    if response.status == .seeOther { #expect(response.headers[.location] == "/login") }
                    #expect(response.body.readableBytes < 64, "\(route) sent a body without a session")
                }
            }
            let logout = try await client.execute(uri: "/logout", method: .post)
            #expect(logout.status == .unauthorized)
        }
    }

    @Test func everyRouteAnswersWithASession() async throws {
        let routes = self.routes.filter { !$0.contains("/rendition") }
        try await withClient { client, session in
            for route in routes {
                let response = try await client.get(route, session: session)
                #expect(response.status == .ok, "\(route) answered \(response.status)")
            }
        }
    }

    @Test func theTokenLogsInOnceWithAStrictHttpOnlyCookie() async throws {
        let app = Application(router: gallery.makeRouter())
        let token = try #require(gallery.loginToken)
        try await app.test(.router) { client in
            let wrong = try await client.get("/login?token=\(Access.randomSecret())")
            #expect(wrong.status == .unauthorized && sessionCookie(wrong) == nil)
            let first = try await client.get("/login?token=\(token)")
            #expect(first.status == .seeOther)
            let cookie = try #require(first.headers[values: .setCookie].first { $0.hasPrefix(Access.cookieName) })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            let second = try await client.get("/login?token=\(token)")
            #expect(second.status == .unauthorized && sessionCookie(second) == nil)
            let session = try #require(sessionCookie(first))
            #expect(try await client.get("/", session: session).status == .ok)
            // Logging out closes the session.
            let out = try await client.execute(uri: "/logout", method: .post, headers: [.cookie: "\(Access.cookieName)=\(session)"])
            #expect(out.status == .seeOther)
            #expect(try await client.get("/api/timeline", session: session).status == .unauthorized)
        }
    }

    @Test func thePassphraseLogsInAndAttemptsAreRateLimited() async throws {
        let app = Application(router: gallery.makeRouter())
        try await app.test(.router) { client in
            func post(_ passphrase: String) async throws -> TestResponse {
                let body = "passphrase=" + (passphrase.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                return try await client.execute(uri: "/login", method: .post,
                                                headers: [.contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: body))
            }
            let wrong = try await post("not it")
            #expect(wrong.status == .unauthorized && sessionCookie(wrong) == nil)
            let right = try await post(GalleryFixture.passphrase)
            #expect(right.status == .seeOther)
            let session = try #require(sessionCookie(right))
            #expect(try await client.get("/albums", session: session).status == .ok)
            for _ in 0..<(Access.attemptsPerWindow - 2) { _ = try await post("still not it") }
            let limited = try await post(GalleryFixture.passphrase)
            #expect(limited.status == .tooManyRequests && sessionCookie(limited) == nil)
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test func idsAndPathsAreValidated() async throws {
        let fixture = self.fixture
        try await withClient { client, session in
            let id = fixture.photo
            let refused = [
                "/items/\(fixture.otherItem)", "/media/\(fixture.otherItem)/original/main", "/media/\(fixture.otherItem)/thumbnail",
                "/media/\(id.uppercased())/thumbnail", "/media/\(id)x/thumbnail", "/media/..%2F..%2Fstore%2Fkeys%2Fmaster/thumbnail",
                "/media/../../store/keys/master", "/media/\(id)/original/..%2F..%2Fkeys", "/media/\(id)/original/thumbnail",
                "/media/\(id)/original/video", "/media/\(id)/playlist.m3u8", "/media/\(id)/key", "/media/\(id)/stream.ts",
                "/media/\(id)/rendition", "/items/%2e%2e", "/album?name=..%2Fstore", "/album?name=Nope", "/media/keys/master",
            ]
            for route in refused {
                let response = try await client.get(route, session: session)
                #expect(response.status == .notFound, "\(route) answered \(response.status)")
            }
        }
    }

    @Test(arguments: [false, true])
    func rangesAreRightAtChunkEdges(exactChunks: Bool) async throws {
        let fixture = self.fixture
        let id = exactChunks ? fixture.exactChunks : fixture.photo
        let plain = try #require(fixture.originals[id])
        let size = plain.count, chunk = GalleryFixture.chunk
        try await withClient { client, session in
            let whole = try await client.get("/media/\(id)/original/main?download=1", session: session)
            #expect(whole.status == .ok)
            #expect(Array(buffer: whole.body) == plain)
            #expect(whole.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"IMG_") == true)
            let edges = [(0, chunk - 1), (chunk - 1, chunk), (chunk, chunk), (chunk - 3, 2 * chunk + 2), (2 * chunk - 1, size - 1),
                         (size - 1, size - 1), (chunk + 5, chunk + 100), (2 * chunk, size + 500)]
            for (first, last) in edges where first < size {
                let response = try await client.get("/media/\(id)/original/main", session: session,
                                                    headers: [.range: "bytes=\(first)-\(last)"])
                let end = min(last, size - 1)
                #expect(response.status == .partialContent)
                #expect(response.headers[.contentRange] == "bytes \(first)-\(end)/\(size)")
                #expect(Array(buffer: response.body) == Array(plain[first...end]), "bytes=\(first)-\(last)")
            }
            let suffix = try await client.get("/media/\(id)/original/main", session: session, headers: [.range: "bytes=-10"])
            #expect(Array(buffer: suffix.body) == Array(plain.suffix(10)))
            let open = try await client.get("/media/\(id)/original/main", session: session, headers: [.range: "bytes=\(chunk)-"])
            #expect(Array(buffer: open.body) == Array(plain[chunk...]))
            let beyond = try await client.get("/media/\(id)/original/main", session: session, headers: [.range: "bytes=\(size)-"])
            #expect(beyond.status == .rangeNotSatisfiable)
            #expect(beyond.headers[.contentRange] == "bytes */\(size)")
        }
    }

    @Test func thePlaylistPointsAtSessionRoutesAndTheSegmentsAreServedAsStored() async throws {
        let fixture = self.fixture
        try await withClient { client, session in
            let base = "/media/\(fixture.video)"
            let playlist = String(buffer: try await client.get(base + "/playlist.m3u8", session: session).body)
            #expect(!playlist.contains("data:"))
            #expect(playlist.components(separatedBy: "URI=\"key\"").count == 3)
            #expect(playlist.components(separatedBy: "\nstream.ts\n").count == 3)
            #expect(playlist.contains("#EXT-X-BYTERANGE:1040@2048"))
            let key = try await client.get(base + "/key", session: session)
            #expect(Array(buffer: key.body) == fixture.segmentKey)
            let stream = try await client.get(base + "/stream.ts", session: session)
            #expect(Array(buffer: stream.body) == fixture.streamBytes)
            let segment = try await client.get(base + "/stream.ts", session: session, headers: [.range: "bytes=2048-3087"])
            #expect(segment.status == .partialContent)
            #expect(Array(buffer: segment.body) == Array(fixture.streamBytes[2048...3087]))
            #expect(try await client.get(base + "/thumbnail", session: session).status == .notFound)
        }
    }

    @Test func theTimelineIsNewestFirstAndPaged() async throws {
        let fixture = self.fixture
        try await withClient { client, session in
            let page = try await client.get("/api/timeline", session: session)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: page.body)) as? [String: Any]
            let items = try #require(json?["items"] as? [[String: Any]])
            #expect(Set(items.compactMap { $0["id"] as? String })
                    == [fixture.photo, fixture.exactChunks, fixture.video, fixture.plainVideo, fixture.heic])
            #expect(json?["next"] as? Int == -1)
            let html = String(buffer: try await client.get("/", session: session).body)
            #expect(html.contains("Sunday 14 March 2021"))
            #expect(html.contains("loading=\"lazy\""))
            let item = String(buffer: try await client.get("/items/\(fixture.photo)", session: session).body)
            #expect(item.contains("UTC+01:00"))
            #expect(item.contains("/album?name=Trip"))
        }
    }
}

extension GalleryHTTPTests {
    /// What the item page shows: the original when the browser shows its format, else the thumbnail; a video's stream,
    /// else its original when the browser plays it.
    @Test func theItemPageShowsWhatTheBrowserCanShow() async throws {
        let fixture = self.fixture
        try await withClient { client, session in
            func page(_ id: String) async throws -> String { String(buffer: try await client.get("/items/\(id)", session: session).body) }
            #expect(try await page(fixture.photo).contains("<img id=\"photo\" src=\"/media/\(fixture.photo)/original/main\""))
            #expect(try await page(fixture.heic).contains("<img id=\"photo\" src=\"/media/\(fixture.heic)/thumbnail\""))
            #expect(try await page(fixture.video).contains("src=\"/media/\(fixture.video)/playlist.m3u8\""))
            #expect(try await page(fixture.plainVideo).contains("src=\"/media/\(fixture.plainVideo)/original/main\""))
            // Left and right: the neighbours in timeline order.
            let order = try JSONSerialization.jsonObject(with: Data(buffer: try await client.get("/api/timeline", session: session).body))
            let ids = ((order as? [String: Any])?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            try #require(ids.count == 5)
            let middle = try await page(ids[2])
            #expect(middle.contains("id=\"newer\" class=\"step\" href=\"/items/\(ids[1])\""))
            #expect(middle.contains("id=\"older\" class=\"step\" href=\"/items/\(ids[3])\""))
        }
    }
}

extension Array where Element == UInt8 {
    init(buffer: ByteBuffer) { self = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [] }
}
