import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Sharing
import Store

/// The `/l/...` routes of public links (docs/public-links.md). They hold no key and need no library: the page decrypts
/// in the browser; this serves the page, each link's sealed manifest (after a password check where the link has a
/// password) and the objects its record lists, as stored.
public final class LinkServer: Sendable {
    let host: LinkHost
    /// Store reads are blocking calls: they run on these threads, never on Swift's cooperative pool.
    let threads: NIOThreadPool
    let secureCookies: Bool

    public init(host: LinkHost, secureCookies: Bool = false, threadCount: Int = 4) {
        self.host = host
        self.secureCookies = secureCookies
        threads = NIOThreadPool(numberOfThreads: threadCount)
        threads.start()
    }

    deinit { threads.shutdownGracefully { _ in } }

    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// Serves the links' routes alone (`keepsake serve --links-only`) until the task is cancelled or the process gets
    /// SIGINT/SIGTERM.
    public func run(host: String, port: Int, tls: TLSConfiguration?, onRunning: @escaping @Sendable (String, Int) -> Void) async throws {
        try await Gallery.serve(makeRouter(), host: host, port: port, tls: tls, onRunning: onRunning)
    }

    /// The links' routes alone, with the gallery's security headers.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: SecurityHeaders())
        addRoutes(to: router)
        return router
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/l/assets/:file") { _, context in try Self.asset(context.parameters.get("file")) }
        router.get("/l/:token") { _, context in try await self.page(token: context.parameters.get("token")) }
        router.get("/l/:token/info") { _, context in try await self.info(token: context.parameters.get("token")) }
        router.get("/l/:token/manifest") { _, context in try await self.manifest(token: context.parameters.get("token")) }
        router.post("/l/:token/unlock") { request, context in try await self.unlock(request, token: context.parameters.get("token")) }
        router.get("/l/:token/o/**") { request, context in
            try await self.object(request, token: context.parameters.get("token"),
                                  name: context.parameters.getCatchAll().joined(separator: "/"))
        }
    }

    // MARK: Routes

    private func live(_ token: String?) async throws -> LinkHost.LiveLink {
        guard let token else { throw HTTPError(.notFound) }
        let host = self.host
        switch try await blocking({ try host.state(of: token) }) {
        case .live(let link): return link
        case .gone: throw HTTPError(.gone, message: "This link has expired or was revoked.")
        case .unknown: throw HTTPError(.notFound, message: "There is no such link.")
        }
    }

    private func page(token: String?) async throws -> Response {
        do {
            _ = try await live(token)
        } catch let error as HTTPError where error.status == .gone || error.status == .notFound {
            return LinkPages.ended(status: error.status)
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: LinkAssets.page)))
    }

    private func info(token: String?) async throws -> Response {
        let link = try await live(token)
        struct Info: Encodable {
            struct Password: Encodable { var kdf: String, iterations: Int, salt: String }
            var password: Password?
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(password, forKey: .password)  // null, not left out: the page asks for it
            }
            enum CodingKeys: CodingKey { case password }
        }
        let info = Info(password: link.record.password.map { .init(kdf: $0.kdf, iterations: $0.iterations, salt: $0.salt) })
        return Self.json(info)
    }

    private func manifest(token: String?) async throws -> Response {
        let link = try await live(token)
        guard !link.hasPassword else { throw HTTPError(.forbidden, message: "This link needs its password.") }
        return try await manifestResponse(link, cookie: nil)
    }

    private func unlock(_ request: Request, token: String?) async throws -> Response {
        let link = try await live(token)
        let body = try await request.body.collect(upTo: 1024)
        guard let checkKey = Base64URL.decode(String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)),
              checkKey.count == 32 else {
            throw HTTPError(.badRequest, message: "The body must be the password's check key (base64url, 32 bytes).")
        }
        switch host.unlock(link, checkKey: checkKey) {
        case .opened(let session):
            return try await manifestResponse(link, cookie: session)
        case .wrong:
            throw HTTPError(.forbidden, message: "Wrong password.")
        case .tooMany(let wait):
            return Response(status: .tooManyRequests, headers: [.retryAfter: String(wait), .contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "Too many wrong passwords: wait \(wait) seconds.\n")))
        }
    }

    private func manifestResponse(_ link: LinkHost.LiveLink, cookie session: String?) async throws -> Response {
        let host = self.host, token = link.token
        let bytes = try await blocking { () throws -> [UInt8] in
            guard let bytes = try host.read(LinkShelfNames.manifest(token)) else { throw HTTPError(.gone, message: "This link's album is gone.") }
            try host.countOpen(token)
            return bytes
        }
        var response = Response(status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        if let session {
            response.setCookie(Cookie(name: Self.cookieName(token), value: session, path: "/l/\(token)", secure: secureCookies,
                                      httpOnly: true, sameSite: .strict))
        }
        return response
    }

    private func object(_ request: Request, token: String?, name: String) async throws -> Response {
        let link = try await live(token)
        guard link.mayRead(name) else { throw HTTPError(.notFound) }
        if link.hasPassword, !host.isSession(request.cookies[Self.cookieName(link.token)]?.value, for: link.token) {
            throw HTTPError(.unauthorized, message: "Open the link with its password first.")
        }
        let host = self.host
        guard let size = try await blocking({ try host.size(of: name) }) else { throw HTTPError(.notFound) }
        return try await Gallery.ranged(request, size: size, headers: [.contentType: "application/octet-stream"],
                                        piece: Gallery.segmentPiece, threads: threads) { piece, buffer in
            try host.read(name, range: piece) { buffer.writeBytes($0) }
        }
    }

    static func cookieName(_ token: String) -> String { "link-" + token }

    static func asset(_ file: String?) throws -> Response {
        let (bytes, type): ([UInt8], String) = switch file {
        case "link.js": (LinkAssets.script, "text/javascript; charset=utf-8")
        case "link-crypto.js": (LinkAssets.crypto, "text/javascript; charset=utf-8")
        case "link.css": (LinkAssets.style, "text/css; charset=utf-8")
        default: throw HTTPError(.notFound)
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ value: some Encodable) -> Response {
        let bytes = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The pages a link shows when it cannot show its album.
enum LinkPages {
    static func ended(status: HTTPResponse.Status) -> Response {
        let (title, text) = status == .gone
            ? ("This link has ended", "The person who shared this album revoked the link, or it expired. Nothing of the album can be shown.")
            : ("No such link", "This link does not exist. Check that it was copied whole.")
        let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title><link rel="stylesheet" href="/l/assets/link.css"></head>
        <body class="ended"><main><h1>\(title)</h1><p>\(text)</p></main></body></html>
        """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
