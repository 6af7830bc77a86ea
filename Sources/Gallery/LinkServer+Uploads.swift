import Foundation
import Hummingbird
import KeepsakeCrypto
import NIOCore
import Sharing
import Store

/// A collect link's upload routes (docs/public-links.md, "Collect links"). The bodies are ciphertext the browser
/// sealed; `LinkHost` checks the limits and writes them to the store. Nothing here logs a body or a header.
extension LinkServer {
    static func uploaderCookieName(_ token: String) -> String { "collect-" + token }

    func addUploadRoutes(to router: Router<BasicRequestContext>) {
        router.post("/l/:token/uploads") { request, context in try await self.startUpload(request, token: context.parameters.get("token")) }
        router.get("/l/:token/uploads") { request, context in try await self.listUploads(request, token: context.parameters.get("token")) }
        router.get("/l/:token/uploads/:id") { request, context in
            try await self.uploadProgress(request, token: context.parameters.get("token"), id: context.parameters.get("id"))
        }
        router.put("/l/:token/uploads/:id/chunks/:index") { request, context in
            try await self.putChunk(request, token: context.parameters.get("token"), id: context.parameters.get("id"),
                                    index: context.parameters.get("index"))
        }
        router.post("/l/:token/uploads/:id/complete") { request, context in
            try await self.completeUpload(request, token: context.parameters.get("token"), id: context.parameters.get("id"))
        }
    }

    private func uploader(_ request: Request, _ token: String) -> String? {
        guard let value = request.cookies[Self.uploaderCookieName(token)]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// Runs `body` on the link's threads, answering its refusals with their status.
    private func refusing<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await blocking(body)
        } catch let refusal as UploadRefusal {
            let status: HTTPResponse.Status = switch refusal {
            case .notCollect, .noSuchUpload: .notFound
            case .badRequest: .badRequest
            case .tooLarge: .contentTooLarge
            case .full, .idTaken, .alreadyComplete, .incomplete: .conflict
            case .tooMany: .tooManyRequests
            case .notYours: .forbidden
            }
            var headers: HTTPFields = [:]
            if case .tooMany(let wait) = refusal { headers[.retryAfter] = String(wait) }
            throw HTTPError(status, headers: headers, message: refusal.description)
        }
    }

    private func startUpload(_ request: Request, token: String?) async throws -> Response {
        let link = try await live(token)
        let body = try await request.body.collect(upTo: 3 * UploadCipher.headerByteCap)
        guard let new = try? JSONDecoder().decode(LinkHost.NewUpload.self, from: Data(buffer: body)) else {
            throw HTTPError(.badRequest, message: "The body must be {\"id\", \"ephemeralKey\", \"header\", \"size\"}.")
        }
        let existing = uploader(request, link.token)
        let cookie = existing ?? randomBytes(32).hexString
        let host = self.host
        let started = try await refusing { try host.startUpload(new, link: link, uploader: cookie) }
        struct Started: Encodable { var id: String, chunks: Int }
        var response = Self.json(Started(id: new.id, chunks: started.chunks))
        response.status = started.created ? .created : .ok
        if existing == nil {
            response.setCookie(Cookie(name: Self.uploaderCookieName(link.token), value: cookie, maxAge: 365 * 86400, path: "/l/\(link.token)",
                                      secure: secureCookies, httpOnly: true, sameSite: .strict))
        }
        return response
    }

    private func listUploads(_ request: Request, token: String?) async throws -> Response {
        let link = try await live(token)
        let host = self.host, uploader = uploader(request, link.token)
        return Self.json(try await refusing { try host.uploads(of: link, uploader: uploader) })
    }

    private func uploadProgress(_ request: Request, token: String?, id: String?) async throws -> Response {
        let link = try await live(token)
        let host = self.host, uploader = uploader(request, link.token), id = id ?? ""
        return Self.json(try await refusing { try host.progress(of: id, link: link, uploader: uploader) })
    }

    private func putChunk(_ request: Request, token: String?, id: String?, index: String?) async throws -> Response {
        let link = try await live(token)
        guard let limits = link.record.upload else { throw HTTPError(.notFound, message: UploadRefusal.notCollect.description) }
        guard let index = index.flatMap({ Int($0) }), index >= 0 else { throw HTTPError(.badRequest, message: "The chunk index must be a number.") }
        let body = try await request.body.collect(upTo: limits.chunkSize + UploadCipher.tagByteCount)
        let bytes = Array(buffer: body)
        let host = self.host, uploader = uploader(request, link.token), id = id ?? ""
        try await refusing { try host.putChunk(bytes, index: index, upload: id, link: link, uploader: uploader) }
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    private func completeUpload(_ request: Request, token: String?, id: String?) async throws -> Response {
        let link = try await live(token)
        let host = self.host, uploader = uploader(request, link.token), id = id ?? ""
        try await refusing { try host.completeUpload(id, link: link, uploader: uploader) }
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }
}
