import Foundation

/// Where an S3 store lives and how to talk to it: `s3://BUCKET/PREFIX`, the endpoint, region and credentials.
public struct S3Configuration: Sendable, CustomStringConvertible {
    public enum Addressing: Sendable {
        /// `https://ENDPOINT/BUCKET/KEY`: what S3-compatible servers expect.
        case pathStyle
        /// `https://BUCKET.ENDPOINT/KEY`: what AWS prefers.
        case virtualHost
    }

    public let bucket: String
    /// The folder inside the bucket that holds the store, without slashes at either end; may be empty.
    public let prefix: String
    /// `scheme://host[:port]` of the service, without the bucket.
    public let endpoint: String
    public let region: String
    public let credentials: S3Credentials
    public let addressing: Addressing
    /// Objects larger than this are uploaded in parts of this size (S3 needs at least 5 MiB).
    public var partSize = 16 << 20
    /// Reads fetch this many bytes per ranged GET, which bounds their memory.
    public var readWindow = 8 << 20
    /// Keys asked for per ListObjectsV2 page (S3 gives at most 1000).
    public var listPageSize = 1000
    /// A multipart upload no library has claimed for this long is taken to be a killed writer's.
    public var abandonedUploadAge: TimeInterval = 24 * 3600
    public var retry = RetryPolicy()

    /// Reads `s3://BUCKET/PREFIX`; the endpoint defaults to AWS in `$AWS_REGION` (else us-east-1), credentials come
    /// from `$AWS_ACCESS_KEY_ID`, `$AWS_SECRET_ACCESS_KEY` and `$AWS_SESSION_TOKEN`. A custom endpoint, a bucket
    /// name with dots (no TLS certificate covers it as a host name) or `pathStyle` select path-style addressing.
    public init(url: String, endpoint customEndpoint: String? = nil, pathStyle: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        guard url.hasPrefix("s3://") else { throw .misconfigured("\(url) is not an s3://BUCKET/PREFIX URL") }
        let rest = url.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        let bucketCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(bucket.count), bucket.allSatisfy(bucketCharacters.contains),
              bucket.first != "-", bucket.first != ".", bucket.last != "-", bucket.last != "." else {
            throw .misconfigured("\"\(bucket)\" is not a valid S3 bucket name (3 to 63 of a-z, 0-9, '.', '-')")
        }
        let prefix = rest.dropFirst(bucket.count).split(separator: "/").joined(separator: "/")
        guard prefix.isEmpty || (try? ObjectName(prefix)) != nil else {
            throw .misconfigured("the prefix \"\(prefix)\" of \(url) may hold only a-z, 0-9, '-', '_', '.' and '/'")
        }
        self.bucket = bucket
        self.prefix = prefix
        region = environment["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "us-east-1"
        credentials = try S3Credentials(environment: environment)
        if let customEndpoint {
            guard let parsed = URL(string: customEndpoint), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let host = parsed.host, !host.isEmpty, parsed.path.isEmpty || parsed.path == "/", parsed.query == nil else {
                throw .misconfigured("\(customEndpoint) is not an endpoint URL like http://127.0.0.1:9000 or https://s3.example.com")
            }
            endpoint = "\(scheme)://\(host)" + (parsed.port.map { ":\($0)" } ?? "")
            addressing = .pathStyle
        } else {
            endpoint = "https://s3.\(region).amazonaws.com"
            addressing = pathStyle || bucket.contains(".") ? .pathStyle : .virtualHost
        }
    }

    /// The store's URL, as the user gave it.
    public var description: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)") }

    /// The bucket's key for an object of the store.
    func key(for name: ObjectName) -> String { prefix.isEmpty ? name.path : "\(prefix)/\(name.path)" }

    /// The keys of objects whose names start with `namePrefix`.
    func keyPrefix(_ namePrefix: String) -> String { prefix.isEmpty ? namePrefix : "\(prefix)/\(namePrefix)" }

    /// The object name a key stands for, or nil for a key that is not one of the store's.
    func name(forKey key: String) -> ObjectName? {
        let path = prefix.isEmpty ? key : (key.hasPrefix(prefix + "/") ? String(key.dropFirst(prefix.count + 1)) : "")
        return try? ObjectName(path)
    }
}

/// An AWS access key, from the usual environment variables.
public struct S3Credentials: Sendable {
    public let accessKeyId: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    init(environment: [String: String]) throws(StoreError) {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
              let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw .misconfigured("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        self.init(accessKeyId: id, secretAccessKey: secret,
                  sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

/// How often, and how patiently, a request is tried again after a 5xx, a 429/SlowDown, a timeout or a lost connection.
public struct RetryPolicy: Sendable {
    public var attempts = 5
    /// The wait before the second attempt; it doubles (with jitter) for each one after, up to `maximumDelay`.
    public var firstDelay: TimeInterval = 0.2
    public var maximumDelay: TimeInterval = 5
    /// How long one request may go on trying a server that does not answer (each attempt waits up to the client's
    /// 20 s timeouts), so that a run ends within about a minute of an outage.
    public var budget: TimeInterval = 40
    /// Until the server has answered once, an attempt may take this long and the request this long in all: a store
    /// that is down from the start is reported at once.
    public var firstContactTimeout: TimeInterval = 5
    public var firstContactBudget: TimeInterval = 10

    public init() {}

    func delay(beforeAttempt attempt: Int) -> TimeInterval {
        let exponential = firstDelay * pow(2, Double(attempt - 2))
        return min(maximumDelay, exponential) * Double.random(in: 0.5...1)
    }
}
