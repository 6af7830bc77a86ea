import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KeepsakeCrypto
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Store
import Synchronization

/// `keepsake serve`: the library in a browser. Pages are rendered here; every object is decrypted in memory as it is
/// served (nothing plaintext is written anywhere), and every route but the login page needs a session.
public final class Gallery: Sendable {
    let library: Library
    /// Public links, served beside the gallery (they need no session: a link is its own access).
    let links: LinkServer?
    let access: Access
    let catalog: Catalog
    /// Store reads and decryption are blocking calls: they run on these threads, never on Swift's cooperative pool.
    let threads: NIOThreadPool
    /// Cookies are marked Secure when the server speaks TLS.
    let secureCookies: Bool
    /// One passphrase check at a time: each takes Argon2id's 256 MiB.
    let unlocking = Mutex(())

    public init(library: Library, links: LinkServer? = nil, secureCookies: Bool = false, threadCount: Int = 4) {
        self.library = library
        self.links = links
        access = Access()
        catalog = Catalog(library: library)
        threads = NIOThreadPool(numberOfThreads: threadCount)
        threads.start()
        self.secureCookies = secureCookies
    }

    deinit { threads.shutdownGracefully { _ in } }

    /// The token of the one-time login URL, until it is used.
    public var loginToken: String? { access.oneTimeToken }

    /// Runs `body` on the gallery's own threads.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// Serves until the task is cancelled (or the process gets SIGINT/SIGTERM through `runService`).
    /// `onRunning` is told the address the server listens on (the port chosen when `port` is 0).
    public func run(host: String, port: Int, tls: TLSConfiguration?, onRunning: @escaping @Sendable (String, Int) -> Void) async throws {
        try await Self.serve(makeRouter(), host: host, port: port, tls: tls, onRunning: onRunning)
    }

    /// Serves `router` until the task is cancelled or the process gets SIGINT/SIGTERM.
    public static func serve(_ router: Router<BasicRequestContext>, host: String, port: Int, tls: TLSConfiguration?,
                             onRunning: @escaping @Sendable (String, Int) -> Void) async throws {
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "keepsake")
        var logger = Logger(label: "keepsake.serve")
        logger.logLevel = .warning
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let app = Application(router: router, server: server, configuration: configuration, onServerRunning: { channel in
            onRunning(host, channel.localAddress?.port ?? port)
        }, logger: logger)
        try await app.runService()
    }

    /// Every route (exposed for in-process tests).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: SecurityHeaders())
        links?.addRoutes(to: router)
        router.get("/login") { request, _ in try await self.loginPage(request) }
        router.post("/login") { request, _ in try await self.login(request) }
        let pages = router.group().add(middleware: SessionCheck(access: access))
        pages.post("/logout") { request, _ in self.logout(request) }
        pages.get("/") { request, _ in try await self.timelinePage(request) }
        pages.get("/api/timeline") { request, _ in try await self.timelineJSON(request) }
        pages.get("/albums") { _, _ in try await self.albumsPage() }
        pages.get("/album") { request, _ in try await self.albumPage(request) }
        pages.get("/items/:id") { request, context in try await self.itemPage(request, id: context.parameters.get("id")) }
        pages.get("/media/:id/thumbnail") { _, context in try await self.sealedObject(id: context.parameters.get("id"), .thumbnail) }
        pages.get("/media/:id/rendition") { _, context in try await self.sealedObject(id: context.parameters.get("id"), .rendition) }
        pages.get("/media/:id/original/:role") { request, context in
            try await self.original(request, id: context.parameters.get("id"), role: context.parameters.get("role"))
        }
        pages.get("/media/:id/playlist.m3u8") { _, context in try await self.playlist(id: context.parameters.get("id")) }
        pages.get("/media/:id/key") { _, context in try await self.streamKey(id: context.parameters.get("id")) }
        pages.get("/media/:id/stream.ts") { request, context in try await self.streamSegments(request, id: context.parameters.get("id")) }
        pages.get("/assets/gallery.css") { _, _ in Self.asset(Assets.css, type: "text/css; charset=utf-8") }
        pages.get("/assets/gallery.js") { _, _ in Self.asset(Assets.javascript, type: "text/javascript; charset=utf-8") }
        return router
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Access

    private func loginPage(_ request: Request) async throws -> Response {
        if let token = request.uri.queryParameters["token"] {
            if case .tooMany(let wait) = access.attempt() { return Pages.tooManyAttempts(retryAfter: wait) }
            guard let session = access.redeem(token: String(token)) else {
                return Pages.login(message: "That login link was used already or is wrong: log in with the passphrase.",
                                   status: .unauthorized)
            }
            return loggedIn(session)
        }
        return Pages.login(message: nil, status: .ok)
    }

    private func login(_ request: Request) async throws -> Response {
        if case .tooMany(let wait) = access.attempt() { return Pages.tooManyAttempts(retryAfter: wait) }
        let body = try await request.body.collect(upTo: 16 << 10)
        let form = FormFields(String(buffer: body))
        guard let passphrase = form["passphrase"], !passphrase.isEmpty else {
            return Pages.login(message: "Type the library's passphrase.", status: .badRequest)
        }
        guard try await blocking({ try self.unlocking.withLock { _ in try self.library.unlocks(passphrase: passphrase) } }) else {
            return Pages.login(message: "Wrong passphrase.", status: .unauthorized)
        }
        return loggedIn(access.openSession())
    }

    private func loggedIn(_ session: String) -> Response {
        var response = Response(status: .seeOther, headers: [.location: "/"])
        response.setCookie(Cookie(name: Access.cookieName, value: session, path: "/", secure: secureCookies,
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    private func logout(_ request: Request) -> Response {
        if let session = request.cookies[Access.cookieName]?.value { access.close(session: session) }
        var response = Response(status: .seeOther, headers: [.location: "/login"])
        response.setCookie(Cookie(name: Access.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies,
                                  httpOnly: true, sameSite: .strict))
        return response
    }
}

/// Refuses every request without an open session: pages redirect to the login page, everything else is 401.
struct SessionCheck: RouterMiddleware {
    typealias Context = BasicRequestContext
    let access: Access

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let session = request.cookies[Access.cookieName]?.value, access.isValid(session: session) {
            return try await next(request, context)
        }
        let path = request.uri.path
        if request.method == .get, !path.hasPrefix("/media/"), !path.hasPrefix("/api/"), !path.hasPrefix("/assets/") {
            return Response(status: .seeOther, headers: [.location: "/login"])
        }
        return Response(status: .unauthorized, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "log in first\n")))
    }
}

/// What every answer carries: no framing, no sniffing, no referrer (the login URL holds a token), scripts and media from
/// this server only.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] =
                "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'"
        }
        return response
    }
}

/// The fields of an `application/x-www-form-urlencoded` body.
struct FormFields {
    private var fields: [String: String] = [:]

    init(_ body: String) {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
        }
    }

    subscript(name: String) -> String? { fields[name] }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

extension Gallery {
    /// A TLS server configuration from PEM files.
    public static func tlsConfiguration(certificateFile: String, keyFile: String) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                        privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
    }
}
