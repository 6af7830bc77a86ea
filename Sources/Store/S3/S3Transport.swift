import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct S3Request: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: HTTPHeaders
    var body: ByteBuffer?
    /// The longest the whole exchange may take; nil: only the client's connect, read and write timeouts apply.
    var timeout: TimeInterval? = nil
}

struct S3Response: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer?

    var bodyText: String { body.map { String(buffer: $0) } ?? "" }
}

/// Sends one HTTP request and waits for the whole response, blocking the calling thread (never an event loop's).
/// Throws only when no response came: a refused or lost connection, a timeout.
protocol S3Transport: Sendable {
    func send(_ request: S3Request) throws -> S3Response
}

/// The real transport: async-http-client on NIO's shared event loops.
struct HTTPClientTransport: S3Transport {
    /// One client for the process, never shut down: stores are opened and dropped freely, and their connections pooled.
    /// A server silent for 20 s while we wait for its answer, or not taking our bytes for 20 s, counts as not answering
    /// (a stalled server accepts connections into its backlog and never answers them).
    private static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(20), write: .seconds(20))))

    func send(_ request: S3Request) throws -> S3Response {
        let outgoing = try HTTPClient.Request(url: request.url, method: request.method, headers: request.headers,
                                              body: request.body.map { .byteBuffer($0) })
        let deadline = request.timeout.map { NIODeadline.now() + .milliseconds(Int64($0 * 1000)) }
        let response = try Self.client.execute(request: outgoing, deadline: deadline).wait()
        return S3Response(status: Int(response.status.code), headers: response.headers, body: response.body)
    }
}
