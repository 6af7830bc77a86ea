import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Signed S3 requests with retries: the layer between `S3Store` and the HTTP transport.
struct S3Client: Sendable {
    let configuration: S3Configuration
    let transport: any S3Transport
    private let signer: S3Signer
    /// Shared by every request to the server in this process (every `S3Store` of it), so that one request giving up
    /// on the server stops the others' retries.
    let health: ServerHealth

    init(configuration: S3Configuration, transport: any S3Transport, health: ServerHealth = ServerHealth()) {
        self.configuration = configuration
        self.transport = transport
        signer = S3Signer(credentials: configuration.credentials, region: configuration.region)
        self.health = health
    }

    /// Sends a request for `key` (nil: the bucket itself), retrying what may pass on a later attempt, and returns
    /// the response when its status is 2xx or in `accepting`; throws `.http` for any other, `.unreachable` when no
    /// attempt got an answer. `operation` names the request in errors, e.g. `PUT data/ab12…`.
    /// A server that does not answer is given up on within `RetryPolicy.budget` (or the shorter first-contact
    /// budget while it has never answered), and not retried at all once another request has given up on it.
    func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers extra: [String: String] = [:],
              body: ByteBuffer? = nil, operation: String, accepting: Set<Int> = []) throws(StoreError) -> S3Response {
        let payloadHash = body.map { buffer in buffer.withUnsafeReadableBytes { S3Signer.sha256Hex($0) } }
            ?? S3Signer.sha256Hex([])
        let (host, path) = location(of: key)
        let queryString = S3Signer.canonicalQuery(query)
        let url = "\(scheme)://\(host)\(path)" + (queryString.isEmpty ? "" : "?\(queryString)")
        let policy = configuration.retry
        let firstContact = !health.hasAnswered || health.outage != nil
        let budget = firstContact ? policy.firstContactBudget : policy.budget
        let start = ContinuousClock.now
        var attempt = 1
        while true {
            let date = AmzDate()
            var signed = extra
            signed["host"] = host
            signed["x-amz-date"] = date.timestamp
            signed["x-amz-content-sha256"] = payloadHash
            if let token = configuration.credentials.sessionToken { signed["x-amz-security-token"] = token }
            var headers = HTTPHeaders(signed.map { ($0.key, $0.value) })
            headers.add(name: "authorization", value: signer.authorization(method: method.rawValue, path: path, query: queryString,
                                                                           headers: signed, payloadHash: payloadHash, date: date))
            let outcome: Result<S3Response, any Error>
            let request = S3Request(method: method, url: url, headers: headers, body: body,
                                    timeout: firstContact ? policy.firstContactTimeout : nil)
            do { outcome = .success(try transport.send(request)) }
            catch { outcome = .failure(error) }
            if case .success = outcome { health.answered() }
            let delay = policy.delay(beforeAttempt: attempt + 1)
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status) || accepting.contains(response.status):
                return response
            case .success(let response):
                let failure = S3ErrorBody(response)
                if attempt < policy.attempts && failure.isTransient(status: response.status) { break }
                throw .http(operation: operation, status: response.status, code: failure.code, message: failure.message)
            case .failure(let error):
                if let outage = health.outage { throw outage }
                if attempt < policy.attempts && (ContinuousClock.now - start).seconds + delay < budget { break }
                let seconds = Int((ContinuousClock.now - start).seconds.rounded())
                let outage = StoreError.unreachable(endpoint: configuration.endpoint,
                                                    reason: "\(error) (after \(attempt) attempts in \(seconds) s)")
                health.gaveUp(outage)
                throw outage
            }
            Thread.sleep(forTimeInterval: delay)
            attempt += 1
        }
    }

    private var scheme: String { String(configuration.endpoint.prefix { $0 != ":" }) }

    /// The host to connect to and the encoded path for `key`, by the configured addressing.
    private func location(of key: String?) -> (host: String, path: String) {
        let endpointHost = String(configuration.endpoint.dropFirst(scheme.count + 3))
        let encodedKey = key.map { "/" + S3Signer.uriEncode($0, keepingSlashes: true) }
        switch configuration.addressing {
        case .pathStyle: return (endpointHost, "/\(configuration.bucket)" + (encodedKey ?? ""))
        case .virtualHost: return ("\(configuration.bucket).\(endpointHost)", encodedKey ?? "/")
        }
    }
}

/// What the requests of one store have seen of its server: whether it ever answered, and whether one of them gave
/// up on it (a circuit breaker: while it is open, a request whose attempt fails is not retried; any answer closes it).
final class ServerHealth: Sendable {
    private struct State {
        var hasAnswered = false
        var outage: StoreError?
    }
    private let state = Mutex(State())
    private static let servers = Mutex<[String: ServerHealth]>([:])

    /// The health of the server at `endpoint`, one per process.
    static func of(_ endpoint: String) -> ServerHealth {
        servers.withLock { servers in
            if let known = servers[endpoint] { return known }
            let health = ServerHealth()
            servers[endpoint] = health
            return health
        }
    }

    var hasAnswered: Bool { state.withLock { $0.hasAnswered } }
    var outage: StoreError? { state.withLock { $0.outage } }

    func answered() {
        state.withLock { $0 = State(hasAnswered: true, outage: nil) }
    }

    func gaveUp(_ error: StoreError) {
        state.withLock { $0.outage = error }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// S3's `<Error><Code>…</Code><Message>…</Message></Error>`, as far as a response has one.
struct S3ErrorBody {
    let code: String
    let message: String

    init(_ response: S3Response) {
        let text = response.bodyText
        code = XMLScan.values(of: "Code", in: text).first ?? ""
        message = XMLScan.values(of: "Message", in: text).first ?? ""
    }

    /// Server trouble, throttling and a conditional write that raced another to the same key (409
    /// `ConditionalRequestConflict`: retried, it is answered 412 or written) pass; a refused request (a bad
    /// signature, a missing bucket) does not.
    func isTransient(status: Int) -> Bool {
        [500, 502, 503, 504, 429].contains(status)
            || ["SlowDown", "RequestTimeout", "InternalError", "ConditionalRequestConflict"].contains(code)
    }
}

/// Reads the few values S3's small, flat XML responses carry; not a general XML parser.
enum XMLScan {
    /// The unescaped text of every `<tag>…</tag>` in `xml`, in order.
    static func values(of tag: String, in xml: some StringProtocol) -> [String] {
        elements(tag, in: xml).map { unescape(String($0)) }
    }

    /// The raw content of every `<tag>…</tag>` (or `<tag attributes>…</tag>`) in `xml`, in order.
    static func elements(_ tag: String, in xml: some StringProtocol) -> [Substring] {
        let text = Substring(xml)
        var found: [Substring] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(tag)") {
            guard let openEnd = rest[open.upperBound...].firstIndex(of: ">") else { break }
            let between = rest[open.upperBound..<openEnd]
            guard between.isEmpty || between.first == " " else { rest = rest[openEnd...]; continue }
            let contentStart = rest.index(after: openEnd)
            if rest[..<openEnd].hasSuffix("/") { found.append(""); rest = rest[contentStart...]; continue }
            guard let close = rest[contentStart...].range(of: "</\(tag)>") else { break }
            found.append(rest[contentStart..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                if let scalar = number.flatMap(Unicode.Scalar.init) { out.unicodeScalars.append(scalar) } else { out += "&\(entity);" }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }
}
