import NIOCore

/// Buffers up to one part in memory. An object that fits in one part is a single PUT at `commit`; a larger one
/// becomes a multipart upload whose parts go up as the buffer fills, each retried on its own (a failed part is
/// sent again from the buffer, never the parts before it), completed at `commit` and aborted by `abort`.
final class S3ObjectWriter: ObjectWriter {
    private let client: S3Client
    private let name: ObjectName
    private let key: String
    private let partSize: Int
    private var buffer = ByteBuffer()
    private var upload: (id: String, etags: [String])?
    private var closed = false

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
        do {
            if upload == nil {
                _ = try client.send(.PUT, key: key, body: buffer, operation: "PUT \(name)")
            } else {
                try uploadBufferedPart()
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
        if let upload { try? Self.abortUpload(client: client, key: key, uploadId: upload.id) }
    }

    private func uploadBufferedPart() throws(StoreError) {
        if upload == nil {
            let created = try client.send(.POST, key: key, query: [("uploads", "")], operation: "CREATE upload \(name)")
            guard let id = XMLScan.values(of: "UploadId", in: created.bodyText).first else {
                throw .http(operation: "CREATE upload \(name)", status: created.status, code: "", message: "no UploadId in the answer")
            }
            upload = (id, [])
        }
        guard let (id, etags) = upload else { return }
        let number = etags.count + 1
        let response = try client.send(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", id)], body: buffer,
                                       operation: "PUT \(name) part \(number)")
        guard let etag = response.headers.first(name: "etag") else {
            throw .http(operation: "PUT \(name) part \(number)", status: response.status, code: "", message: "no ETag in the answer")
        }
        upload?.etags.append(etag)
        buffer.clear()
    }

    private func completeUpload() throws(StoreError) {
        guard let (id, etags) = upload else { return }
        let parts = etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>" }
        let body = ByteBuffer(string: "<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>")
        let response = try client.send(.POST, key: key, query: [("uploadId", id)], body: body, operation: "COMPLETE upload \(name)")
        // S3 may answer 200 and still report a failure in the body.
        let failure = S3ErrorBody(response)
        if !failure.code.isEmpty {
            throw .http(operation: "COMPLETE upload \(name)", status: response.status, code: failure.code, message: failure.message)
        }
        upload = nil
    }

    static func abortUpload(client: S3Client, key: String, uploadId: String) throws(StoreError) {
        _ = try client.send(.DELETE, key: key, query: [("uploadId", uploadId)], operation: "ABORT upload \(key)", accepting: [404])
    }
}
