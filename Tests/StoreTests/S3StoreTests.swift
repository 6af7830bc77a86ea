import Foundation
import KeepsakeCrypto
import NIOCore
@testable import Store
import Synchronization
import Testing
import TestSupport

@Suite struct S3SignerTests {
    let signer = S3Signer(credentials: S3Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                                     secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                          region: "us-east-1")
    let date = AmzDate(Date(timeIntervalSince1970: 1_369_353_600))

    /// AWS's own examples in "Signature Calculations for the Authorization Header" (S3 API reference).
    @Test func getObjectExampleFromTheAWSDocumentation() {
        let emptyHash = S3Signer.sha256Hex([])
        let authorization = signer.authorization(
            method: "GET", path: "/test.txt", query: "",
            headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-content-sha256": emptyHash,
                      "x-amz-date": date.timestamp],
            payloadHash: emptyHash, date: date)
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObjectExampleWithAnEncodedKey() {
        let payloadHash = S3Signer.sha256Hex(Array("Welcome to Amazon S3.".utf8))
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let authorization = signer.authorization(
            method: "PUT", path: "/" + S3Signer.uriEncode("test$file.text", keepingSlashes: true), query: "",
            headers: ["host": "examplebucket.s3.amazonaws.com", "date": "Fri, 24 May 2013 00:00:00 GMT",
                      "x-amz-date": date.timestamp, "x-amz-storage-class": "REDUCED_REDUNDANCY", "x-amz-content-sha256": payloadHash],
            payloadHash: payloadHash, date: date)
        #expect(authorization.hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test func queryStringsAreSortedAndEncoded() {
        #expect(S3Signer.canonicalQuery([("uploads", ""), ("prefix", "a b/c"), ("max-keys", "7")])
                == "max-keys=7&prefix=a%20b%2Fc&uploads=")
    }
}

@Suite struct S3ConfigurationTests {
    let environment = ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"]

    @Test func addressingRegionAndPrefix() throws {
        let aws = try S3Configuration(url: "s3://my-photos/backup/keepsake/", environment: environment.merging(["AWS_REGION": "eu-west-3"]) { $1 })
        #expect(aws.endpoint == "https://s3.eu-west-3.amazonaws.com")
        #expect(aws.addressing == .virtualHost)
        #expect(aws.key(for: try ObjectName("keys/master")) == "backup/keepsake/keys/master")
        #expect(aws.name(forKey: "backup/keepsake/data/ab") == (try ObjectName("data/ab")))
        #expect(aws.name(forKey: "backup/other/data/ab") == nil)
        #expect(try S3Configuration(url: "s3://my-photos", pathStyle: true, environment: environment).addressing == .pathStyle)
        #expect(try S3Configuration(url: "s3://my.photos", environment: environment).addressing == .pathStyle)
        let custom = try S3Configuration(url: "s3://b-1/p", endpoint: "http://127.0.0.1:9000/", environment: environment)
        #expect(custom.endpoint == "http://127.0.0.1:9000")
        #expect(custom.addressing == .pathStyle)
        #expect(custom.region == "us-east-1")
        #expect(custom.description == "s3://b-1/p")
    }

    @Test func mistakesAreNamed() {
        for (url, endpoint) in [("https://bucket/x", nil), ("s3://UPPER/x", nil), ("s3://ab", nil), ("s3://bucket/Bad Prefix", nil),
                                ("s3://bucket/x", "ftp://host"), ("s3://bucket/x", "http://host/path")] as [(String, String?)] {
            #expect(throws: StoreError.self) { try S3Configuration(url: url, endpoint: endpoint, environment: environment) }
        }
        #expect {
            try S3Configuration(url: "s3://bucket/x", environment: [:])
        } throws: { error in
            "\(error)".contains("AWS_ACCESS_KEY_ID")
        }
    }
}

/// Sends requests on to moto, except those a test picks to fail: with an error status, or a lost connection.
final class FlakyTransport: S3Transport {
    enum Failure: Sendable {
        case status(Int, code: String)
        case connectionLost
    }

    struct ConnectionLost: Error {}

    private let real = HTTPClientTransport()
    private let pick: @Sendable (_ request: S3Request, _ attempt: Int) -> Failure?
    /// Each request sent, as `METHOD URL`.
    let sent = Mutex<[String]>([])

    /// `pick` sees each request with how many times the same method and URL have been sent, this one included.
    init(pick: @escaping @Sendable (_ request: S3Request, _ attempt: Int) -> Failure?) {
        self.pick = pick
    }

    func send(_ request: S3Request) throws -> S3Response {
        let line = "\(request.method.rawValue) \(request.url)"
        let attempt = sent.withLock { sent in
            sent.append(line)
            return sent.filter { $0 == line }.count
        }
        switch pick(request, attempt) {
        case .status(let status, let code):
            let body = "<Error><Code>\(code)</Code><Message>injected by the test</Message></Error>"
            return S3Response(status: status, headers: [:], body: ByteBuffer(string: body))
        case .connectionLost:
            throw ConnectionLost()
        case nil:
            return try real.send(request)
        }
    }

    func count(_ fragment: String) -> Int { sent.withLock { $0.filter { $0.contains(fragment) }.count } }
}

/// Sends requests on to moto, holding each part upload a moment, and counts how many parts are in flight at once.
final class SlowPartsTransport: S3Transport {
    private let real = HTTPClientTransport()
    private let counts = Mutex<(now: Int, most: Int)>((0, 0))
    var mostAtOnce: Int { counts.withLock { $0.most } }

    func send(_ request: S3Request) throws -> S3Response {
        guard request.url.contains("partNumber=") else { return try real.send(request) }
        counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
        defer { counts.withLock { $0.now -= 1 } }
        usleep(300_000)
        return try real.send(request)
    }
}

@Suite struct S3RetryTests {
    @Test func partsGoUpSeveralAtOnceWithinTheLimitAndTheObjectIsWhole() throws {
        let transport = SlowPartsTransport()
        let store = try makeS3Store(transport: transport)
        let name = ObjectName.randomData()
        let bytes = randomBytes(6 * (5 << 20) + 1000)
        let writer = try store.makeWriter(for: name)
        try write(bytes, to: writer, inPiecesOf: 1 << 20)
        try writer.commit()
        #expect(try store.get(name) == bytes)
        #expect(transport.mostAtOnce > 1, "parts went up one at a time")
        #expect(transport.mostAtOnce <= S3ObjectWriter.partsInFlight)
    }

    @Test func aFailedPartIsSentAgainAloneAndTheObjectIsWhole() throws {
        let transport = FlakyTransport { request, attempt in
            guard attempt == 1 else { return nil }
            if request.method == .POST && request.url.hasSuffix("?uploads=") { return .status(503, code: "SlowDown") }
            if request.url.contains("partNumber=2&") { return .status(500, code: "InternalError") }
            if request.url.contains("partNumber=3&") { return .connectionLost }
            return nil
        }
        let store = try makeS3Store(transport: transport)
        let name = ObjectName.randomData()
        let bytes = randomBytes(11 << 20)
        let writer = try store.makeWriter(for: name)
        try write(bytes, to: writer, inPiecesOf: 1 << 20)
        try writer.commit()
        #expect(try store.get(name) == bytes)
        #expect(transport.count("?uploads=") == 2)
        #expect(transport.count("partNumber=1&") == 1, "a completed part is never sent again")
        #expect(transport.count("partNumber=2&") == 2)
        #expect(transport.count("partNumber=3&") == 2)
    }

    @Test func throttledReadsAndListsAreRetried() throws {
        let transport = FlakyTransport { request, attempt in
            attempt <= 2 && request.method != .PUT ? .status(429, code: "SlowDown") : nil
        }
        let store = try makeS3Store(transport: transport)
        let name = ObjectName.randomData()
        try store.put(name, bytes: [1, 2, 3])
        #expect(try store.get(name) == [1, 2, 3])
        #expect(try store.list(prefix: "data/") == [name])
        #expect(try store.size(of: name) == 3)
    }

    /// Listing after a name sends only the pages of the names after it, starting after it on the server.
    @Test func listAfterAsksOnlyForTheLaterNames() throws {
        let transport = FlakyTransport { _, _ in nil }
        let store = try makeS3Store(listPageSize: 7, transport: transport)
        let entries = try (0..<23).map { try ObjectName("log/" + logTime($0) + "-0a1b2c3d-\($0)") }
        for entry in entries { try store.put(entry, bytes: [1]) }
        let lists = { transport.count("list-type=2") }
        let before = lists()
        #expect(try store.list(prefix: "log/", after: entries[14].path) == Array(entries[15...]))
        #expect(lists() - before == 2, "8 names in pages of 7, not the 4 pages of the whole log")
        #expect(transport.count("start-after=") == 1)
    }

    /// A conditional write that raced another to the same key is retried; the retry learns who won.
    @Test func aConflictingConditionalWriteIsRetried() throws {
        let transport = FlakyTransport { request, attempt in
            request.method == .PUT && attempt == 1 ? .status(409, code: "ConditionalRequestConflict") : nil
        }
        let store = try makeS3Store(transport: transport)
        let name = try ObjectName("log/" + logTime(0) + "-0a1b2c3d-0")
        #expect(try store.putIfAbsent(name, bytes: [1]))
        #expect(try !store.putIfAbsent(name, bytes: [2]))
        #expect(try store.get(name) == [1])
        #expect(transport.count(name.path) == 4, "the first PUT twice, the second once, then the GET")
    }

    @Test func aRefusedRequestIsNotRetriedAndSaysWhy() throws {
        let transport = FlakyTransport { request, _ in
            request.method == .PUT && request.url.contains("/data/") ? .status(403, code: "SignatureDoesNotMatch") : nil
        }
        let store = try makeS3Store(transport: transport)
        #expect {
            try store.put(ObjectName.randomData(), bytes: [1])
        } throws: { error in
            guard case StoreError.http(_, 403, "SignatureDoesNotMatch", _) = error else { return false }
            return "\(error)".contains("AWS_SECRET_ACCESS_KEY")
        }
        #expect(transport.count("/data/") == 1)
    }

    @Test func persistentServerErrorsGiveUpAfterFiveAttempts() throws {
        let transport = FlakyTransport { request, _ in
            request.method == .HEAD && request.url.hasSuffix("/keys/master") ? .status(500, code: "InternalError") : nil
        }
        let store = try makeS3Store(transport: transport)
        #expect(throws: StoreError.http(operation: "HEAD keys/master", status: 500, code: "InternalError", message: "injected by the test")) {
            try store.size(of: ObjectName("keys/master"))
        }
        #expect(transport.count("/keys/master") == 5)
    }

    /// A circuit breaker: once one request has given up on a server that does not answer, another request whose
    /// attempt fails is not retried; any answer closes the breaker.
    @Test func afterOneRequestGivesUpOnTheServerTheOthersDoNotRetry() throws {
        let down = Mutex(true)
        let transport = FlakyTransport { request, _ in
            request.url.contains("/data/") && down.withLock({ $0 }) ? .connectionLost : nil
        }
        let store = try makeS3Store(transport: transport)
        let (first, second, third) = (ObjectName.randomData(), ObjectName.randomData(), ObjectName.randomData())
        #expect(throws: StoreError.self) { try store.size(of: first) }
        #expect(transport.count(first.path) == 5)
        #expect { try store.size(of: second) } throws: { error in
            guard case StoreError.unreachable = error else { return false }
            return true
        }
        #expect(transport.count(second.path) == 1, "no retries once another request gave up")
        _ = try store.list(prefix: "index/")  // the server answers again
        #expect(throws: StoreError.self) { try store.size(of: third) }
        #expect(transport.count(third.path) == 5)
    }

    /// A request gives up on a server that does not answer once its retries would pass the budget, however many
    /// attempts are left; until the server has answered once, attempts have a deadline.
    @Test func retriesOfAServerThatDoesNotAnswerStayWithinTheBudget() throws {
        let timeouts = Mutex<[TimeInterval?]>([])
        let transport = FlakyTransport { request, _ in
            timeouts.withLock { $0.append(request.timeout) }
            guard request.url.contains("/data/") else { return nil }
            usleep(200_000)  // as a connection that times out
            return .connectionLost
        }
        var configuration = try s3Configuration()
        configuration.retry.budget = 0.3
        let store = S3Store(configuration: configuration, transport: transport)
        try store.createBucketIfMissing()
        _ = try store.list(prefix: "index/")
        #expect(timeouts.withLock { $0.first } == configuration.retry.firstContactTimeout, "the first contact has a deadline")
        #expect(timeouts.withLock { $0.last } == .some(nil), "later requests have none")
        let start = ContinuousClock.now
        #expect(throws: StoreError.self) { try store.size(of: ObjectName.randomData()) }
        #expect(transport.count("/data/") == 2)
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func anEndpointWithNothingListeningIsUnreachable() throws {
        var configuration = try s3Configuration(endpoint: "http://127.0.0.1:1")
        configuration.retry.attempts = 2
        #expect {
            try S3Store(configuration: configuration).size(of: ObjectName("keys/master"))
        } throws: { error in
            guard case StoreError.unreachable(let endpoint, _) = error else { return false }
            return endpoint == "http://127.0.0.1:1"
        }
    }
}

@Suite struct S3LibraryTests {
    func storeItem(_ library: Library, hash: String) throws -> String {
        try LibraryTests().storeItem(library, hash: hash, album: .named("Trip")).itemId
    }

    @Test func aNewMachineRebuildsTheLibraryFromTheBucketAlone() throws {
        let location = StoreLocation.s3(try s3Configuration(bucket: "keepsake-new-bucket-\(ObjectID.random().hex.prefix(8))"))
        let first = try TestEnvironment.makeTempDirectory().path + "/lib"
        #expect(try !Library.exists(at: first, store: location))
        let library = try Library.open(at: first, store: location, passphrase: "pw", create: true)  // creates the bucket
        let id = try storeItem(library, hash: "h1")
        #expect(try Library.exists(at: first, store: location))
        // The folder's index belongs to that store: not to the default one, nor another prefix.
        for other in [StoreLocation.libraryFolder, .s3(try s3Configuration())] {
            #expect {
                try Library.open(at: first, store: other, passphrase: "pw", create: true)
            } throws: { error in
                guard case LibraryError.otherStore = error else { return false }
                return true
            }
        }

        let second = try TestEnvironment.makeTempDirectory().path + "/lib"
        #expect(throws: LibraryError.self) { try Library.open(at: second, store: location, passphrase: "wrong", create: false) }
        let rebuilt = try Library.open(at: second, store: location, passphrase: "pw", create: false)
        #expect(try rebuilt.index.items().map(\.id) == [id])
        #expect(try rebuilt.index.albumNames(of: id) == ["Trip"])
        var plain = [UInt8]()
        try rebuilt.readDecrypted(try ObjectName(try rebuilt.index.originals(of: id)[0].objectName), key: try rebuilt.fileKey(of: id)) {
            plain.append(contentsOf: $0)
        }
        #expect(plain == Array("original h1".utf8))
    }

    @Test func aPrefixHoldingOtherObjectsIsNeverTakenOver() throws {
        let store = try makeS3Store()
        try store.put(ObjectName.randomData(), bytes: [1])
        let configuration = store.configuration
        let path = try TestEnvironment.makeTempDirectory().path + "/lib"
        #expect(throws: LibraryError.self) { try Library.open(at: path, store: .s3(configuration), passphrase: "pw", create: true) }
        // Nor one holding keys that are no object names of ours.
        let foreign = try makeS3Store()
        _ = try foreign.client.send(.PUT, key: foreign.configuration.keyPrefix("Holiday Photos/IMG_1.JPG"), body: ByteBuffer(),
                                    operation: "test put")
        #expect(try foreign.list(prefix: "").isEmpty)
        #expect(throws: LibraryError.self) {
            try Library.open(at: path, store: .s3(foreign.configuration), passphrase: "pw", create: true)
        }
    }

    @Test func theNextWriterAbortsAKilledRunsUploadButNotAnotherMachines() throws {
        var configuration = try s3Configuration()
        configuration.abandonedUploadAge = 100 * 365 * 86400  // moto dates every upload 2010-11-10
        let path = try TestEnvironment.makeTempDirectory().path + "/lib"
        let library = try Library.open(at: path, store: .s3(configuration), passphrase: "pw", create: true)
        let store = try #require(library.store as? S3Store)
        // A writer "killed" with one part up: its name is journalled pending, its upload open.
        let (_, killed) = try library.ledger.begin()
        try write(randomBytes(6 << 20), to: killed, inPiecesOf: 1 << 20)
        // Another machine's writer at work on a name this library never saw.
        let foreignKey = configuration.key(for: ObjectName.randomData())
        _ = try store.client.send(.POST, key: foreignKey, query: [("uploads", "")], operation: "test upload")
        #expect(try store.multipartUploads().count == 2)

        let (lock, removed) = try library.lockForWriting()
        #expect(removed == 1)
        #expect(try store.multipartUploads().map(\.key) == [foreignKey])
        withExtendedLifetime((lock, killed)) {}
    }
}
