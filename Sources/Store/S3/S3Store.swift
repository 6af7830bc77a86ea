import Foundation
import NIOCore

/// Objects in an S3 bucket (or any S3-compatible server) under `s3://BUCKET/PREFIX/`, one object per name:
/// `PREFIX/data/<hex>`, `PREFIX/index/<hex>`, `PREFIX/keys/master`.
public struct S3Store: ObjectStore, CustomStringConvertible {
    let client: S3Client
    var configuration: S3Configuration { client.configuration }

    /// Every store of one server in a process shares what its requests learn of the server's health, so that a
    /// command opening the store several times waits for a dead server once, not once a store.
    public init(configuration: S3Configuration) {
        self.init(configuration: configuration, transport: HTTPClientTransport(), health: ServerHealth.of(configuration.endpoint))
    }

    init(configuration: S3Configuration, transport: any S3Transport, health: ServerHealth = ServerHealth()) {
        client = S3Client(configuration: configuration, transport: transport, health: health)
    }

    public var description: String { configuration.description }

    public func makeWriter(for name: ObjectName) throws(StoreError) -> any ObjectWriter {
        S3ObjectWriter(client: client, name: name, key: configuration.key(for: name), partSize: configuration.partSize)
    }

    /// Ranged GETs of `readWindow` bytes each, so memory stays bounded and a failed window is retried alone.
    public func read(_ name: ObjectName, range: Range<UInt64>?, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let key = configuration.key(for: name)
        var offset = range?.lowerBound ?? 0
        var end = range?.upperBound
        while end.map({ offset < $0 }) ?? true {
            let last = min(offset + UInt64(configuration.readWindow), end ?? UInt64.max) - 1
            let response = try client.send(.GET, key: key, headers: ["range": "bytes=\(offset)-\(last)"],
                                           operation: "GET \(name)", accepting: [404, 416])
            switch response.status {
            case 404: throw StoreError.notFound(name.path)
            case 416: return  // `offset` is at or past the end (an empty object answers any range so)
            case 206:
                guard let total = Self.totalSize(response) else {
                    throw StoreError.http(operation: "GET \(name)", status: 206, code: "", message: "no Content-Range in the answer")
                }
                end = min(end ?? total, total)
                let body = response.body ?? ByteBuffer()
                guard body.readableBytes > 0 else { return }
                try body.withUnsafeReadableBytes { try sink($0) }
                offset += UInt64(body.readableBytes)
            default:
                // A server that ignores Range sends the whole object: pass on the part that was asked for.
                let body = response.body ?? ByteBuffer()
                let stop = min(end ?? UInt64(body.readableBytes), UInt64(body.readableBytes))
                if offset < stop {
                    try body.withUnsafeReadableBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<Int(stop)])) }
                }
                return
            }
        }
    }

    /// The total of `Content-Range: bytes FIRST-LAST/TOTAL`.
    private static func totalSize(_ response: S3Response) -> UInt64? {
        response.headers.first(name: "content-range")?.split(separator: "/").last.flatMap { UInt64($0) }
    }

    public func size(of name: ObjectName) throws(StoreError) -> UInt64? {
        let response = try client.send(.HEAD, key: configuration.key(for: name), operation: "HEAD \(name)", accepting: [404])
        if response.status == 404 { return nil }
        guard let length = response.headers.first(name: "content-length").flatMap({ UInt64($0) }) else {
            throw .http(operation: "HEAD \(name)", status: response.status, code: "", message: "no Content-Length in the answer")
        }
        return length
    }

    /// ListObjectsV2 from `start-after`: a reader that has seen names up to `after` is sent only the newer ones,
    /// one request per page of them.
    public func list(prefix: String, after: String?) throws(StoreError) -> [ObjectName] {
        try objects(prefix: prefix, after: after).map(\.name)
    }

    /// Every object under `prefix` with its LastModified.
    public func listing(prefix: String) throws(StoreError) -> [StoredObject] {
        try objects(prefix: prefix, after: nil)
    }

    /// ListObjectsV2, page after page: the first page starts after `after`, the next ones at their continuation tokens.
    private func objects(prefix: String, after: String?) throws(StoreError) -> [StoredObject] {
        var objects: [StoredObject] = []
        var continuation: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", configuration.keyPrefix(prefix)), ("encoding-type", "url"),
                         ("max-keys", String(configuration.listPageSize))]
            if let continuation {
                query.append(("continuation-token", continuation))
            } else if let after {
                query.append(("start-after", configuration.keyPrefix(after)))
            }
            let page = try client.send(.GET, key: nil, query: query, operation: "LIST \(prefix)").bodyText
            for element in XMLScan.elements("Contents", in: page) {
                guard let key = XMLScan.values(of: "Key", in: element).first,
                      let name = configuration.name(forKey: key.removingPercentEncoding ?? key) else { continue }
                // An object without a readable date counts as new: it is never taken for an old orphan.
                let modified = XMLScan.values(of: "LastModified", in: element).first.flatMap(Self.parseTimestamp) ?? Date()
                objects.append(StoredObject(name: name, modified: modified))
            }
            continuation = XMLScan.values(of: "IsTruncated", in: page).first == "true"
                ? XMLScan.values(of: "NextContinuationToken", in: page).first : nil
        } while continuation != nil
        // Sorted and filtered again: what a server returns is not trusted to be in order or after `after`.
        return objects.filter { $0.name.isListed(prefix: prefix, after: after) }.sorted { $0.name < $1.name }
    }

    /// True when no key at all is under the prefix, ours or not.
    func isEmpty() throws(StoreError) -> Bool {
        let page = try client.send(.GET, key: nil, query: [("list-type", "2"), ("prefix", configuration.keyPrefix("")), ("max-keys", "1")],
                                   operation: "LIST \(configuration)").bodyText
        return XMLScan.values(of: "Key", in: page).isEmpty
    }

    public func delete(_ name: ObjectName) throws(StoreError) {
        _ = try client.send(.DELETE, key: configuration.key(for: name), operation: "DELETE \(name)", accepting: [404])
    }

    /// A conditional PUT (`If-None-Match: *`): the server answers 412 when the key exists.
    @discardableResult
    public func putIfAbsent(_ name: ObjectName, bytes: [UInt8]) throws(StoreError) -> Bool {
        let response = try client.send(.PUT, key: configuration.key(for: name), headers: ["if-none-match": "*"],
                                       body: ByteBuffer(bytes: bytes), operation: "PUT \(name)", accepting: [412])
        return response.status != 412
    }

    /// Aborts the multipart uploads of `orphans` and those older than `abandonedUploadAge`. Younger uploads of
    /// names this library does not know may be another machine's writer at work, so they are left alone.
    public func removeAbandonedUploads(of orphans: [ObjectName]) throws(StoreError) {
        let orphanKeys = Set(orphans.map(configuration.key(for:)))
        let cutoff = Date().addingTimeInterval(-configuration.abandonedUploadAge)
        for upload in try multipartUploads() where orphanKeys.contains(upload.key) || upload.initiated < cutoff {
            try S3ObjectWriter.abortUpload(client: client, key: upload.key, uploadId: upload.id)
        }
    }

    struct PendingUpload {
        var key: String
        var id: String
        var initiated: Date
    }

    /// The unfinished multipart uploads under the store's prefix (ListMultipartUploads, page after page).
    func multipartUploads() throws(StoreError) -> [PendingUpload] {
        var uploads: [PendingUpload] = []
        var markers: (key: String, uploadId: String)?
        repeat {
            var query = [("uploads", ""), ("prefix", configuration.keyPrefix(""))]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.uploadId)] }
            let page = try client.send(.GET, key: nil, query: query, operation: "LIST multipart uploads").bodyText
            for element in XMLScan.elements("Upload", in: page) {
                guard let key = XMLScan.values(of: "Key", in: element).first,
                      let id = XMLScan.values(of: "UploadId", in: element).first else { continue }
                let initiated = XMLScan.values(of: "Initiated", in: element).first.flatMap(Self.parseTimestamp) ?? .distantPast
                uploads.append(PendingUpload(key: key, id: id, initiated: initiated))
            }
            let truncated = XMLScan.values(of: "IsTruncated", in: page).first == "true"
            markers = truncated ? XMLScan.values(of: "NextKeyMarker", in: page).first.flatMap { key in
                XMLScan.values(of: "NextUploadIdMarker", in: page).first.map { (key, $0) }
            } : nil
        } while markers != nil
        return uploads
    }

    private static func parseTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Creates the bucket unless it exists (a new library in a new bucket); true when it was created.
    @discardableResult
    func createBucketIfMissing() throws(StoreError) -> Bool {
        let probe = try client.send(.HEAD, key: nil, operation: "HEAD bucket \(configuration.bucket)", accepting: [404])
        guard probe.status == 404 else { return false }
        var body: ByteBuffer?
        if configuration.region != "us-east-1" {
            body = ByteBuffer(string: "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                              + "<LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>")
        }
        _ = try client.send(.PUT, key: nil, body: body, operation: "CREATE bucket \(configuration.bucket)")
        return true
    }
}
