import Foundation
import NIOCore
import Synchronization

/// Buffers up to one part in memory. An object that fits in one part is a single PUT at `commit`; a larger one
/// becomes a multipart upload whose parts go up as the buffer fills, each retried on its own (a failed part is
/// sent again from its buffer, never the parts before it), completed at `commit` and aborted by `abort`.
///
/// Up to `partsInFlight` parts go up at once, each on a thread of its own, while the writer fills the next: the
/// encryption before it overlaps the upload, and memory stays within (`partsInFlight` + 1) parts.
final class S3ObjectWriter: ObjectWriter {
    static let partsInFlight = 3

    private let client: S3Client
    private let name: ObjectName
    private let key: String
    private let partSize: Int
    private var buffer = ByteBuffer()
    private var uploadId: String?
    private var partCount = 0
    private var closed = false
    private let parts = PartsInFlight(limit: S3ObjectWriter.partsInFlight)

    init(client: S3Client, name: ObjectName, key: String, partSize: Int) {
        self.client = client
        self.name = name
        self.key = key
        self.partSize = partSize
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        guard !closed else { throw .unusable("writer for \(name) already closed") }
        var rest = bytes
        while !rest.isEmpty {
            // A full buffer is sent only once more bytes come, so an object of exactly one part is a single PUT.
            if buffer.readableBytes == partSize { try uploadBufferedPart() }
            let count = min(rest.count, partSize - buffer.readableBytes)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: rest[..<count]))
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
        }
    }

    func commit() throws(StoreError) {
        guard !closed else { throw .unusable("writer for \(name) already closed") }
        do throws(StoreError) {
            if uploadId == nil {
                _ = try client.send(.PUT, key: key, body: buffer, operation: "PUT \(name)")
            } else {
                try uploadBufferedPart()
                if let failure = parts.waitForAll() { throw failure }
                try completeUpload()
            }
        } catch {
            abort()
            throw error
        }
        closed = true
        buffer = ByteBuffer()
    }

    func abort() {
        guard !closed else { return }
        closed = true
        buffer = ByteBuffer()
        _ = parts.waitForAll()
        if let uploadId { try? Self.abortUpload(client: client, key: key, uploadId: uploadId) }
    }

    /// Hands the buffer to a part thread (waiting while `partsInFlight` are going up); a part that failed before
    /// fails this write.
    private func uploadBufferedPart() throws(StoreError) {
        if let failure = parts.failure { throw failure }
        if uploadId == nil {
            let created = try client.send(.POST, key: key, query: [("uploads", "")], operation: "CREATE upload \(name)")
            guard let id = XMLScan.values(of: "UploadId", in: created.bodyText).first else {
                throw .http(operation: "CREATE upload \(name)", status: created.status, code: "", message: "no UploadId in the answer")
            }
            uploadId = id
        }
        guard let id = uploadId else { return }
        partCount += 1
        let number = partCount, body = buffer, client = client, name = name, key = key
        buffer = ByteBuffer()
        buffer.reserveCapacity(partSize)
        parts.send(number) { () throws(StoreError) -> String in
            let response = try client.send(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", id)], body: body,
                                           operation: "PUT \(name) part \(number)")
            guard let etag = response.headers.first(name: "etag") else {
                throw .http(operation: "PUT \(name) part \(number)", status: response.status, code: "", message: "no ETag in the answer")
            }
            return etag
        }
    }

    private func completeUpload() throws(StoreError) {
        guard let id = uploadId else { return }
        let etags = parts.etags
        guard etags.count == partCount else { throw .unusable("\(name): \(partCount - etags.count) parts were not sent") }
        let parts = (1...partCount).map { "<Part><PartNumber>\($0)</PartNumber><ETag>\(etags[$0]!)</ETag></Part>" }
        let body = ByteBuffer(string: "<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>")
        let response = try client.send(.POST, key: key, query: [("uploadId", id)], body: body, operation: "COMPLETE upload \(name)")
        // S3 may answer 200 and still report a failure in the body.
        let failure = S3ErrorBody(response)
        if !failure.code.isEmpty {
            throw .http(operation: "COMPLETE upload \(name)", status: response.status, code: failure.code, message: failure.message)
        }
        uploadId = nil
    }

    static func abortUpload(client: S3Client, key: String, uploadId: String) throws(StoreError) {
        _ = try client.send(.DELETE, key: key, query: [("uploadId", uploadId)], operation: "ABORT upload \(key)", accepting: [404])
    }
}

/// The parts of one multipart upload going up at once, each on a thread of its own: at most `limit`, their ETags by
/// part number, and the first failure.
private final class PartsInFlight: Sendable {
    private let slots: DispatchSemaphore
    private let sending = DispatchGroup()
    private let results = Mutex<(etags: [Int: String], failure: StoreError?)>(([:], nil))

    init(limit: Int) { slots = DispatchSemaphore(value: limit) }

    var etags: [Int: String] { results.withLock { $0.etags } }
    var failure: StoreError? { results.withLock { $0.failure } }

    /// Starts part `number` (waiting while `limit` parts are going up); `put` sends it and returns its ETag.
    func send(_ number: Int, _ put: @escaping @Sendable () throws(StoreError) -> String) {
        slots.wait()
        sending.enter()
        let thread = Thread { [self] in
            defer {
                slots.signal()
                sending.leave()
            }
            do throws(StoreError) {
                let etag = try put()
                results.withLock { $0.etags[number] = etag }
            } catch {
                results.withLock { $0.failure = $0.failure ?? error }
            }
        }
        thread.name = "keepsake-s3-part"
        thread.start()
    }

    /// Waits for every part started; the first failure, if any.
    func waitForAll() -> StoreError? {
        sending.wait()
        return failure
    }
}
