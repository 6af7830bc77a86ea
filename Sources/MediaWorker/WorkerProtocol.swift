import FileSystem
import Foundation
import MediaTypes
#if canImport(Glibc)
import Glibc
#endif

// A run (ingest, the daemon) and its `keepsake-media` children speak in frames over the worker's stdin and stdout:
//   UInt32 big-endian length of the rest | UInt32 big-endian header length | JSON header | binary payload.
// Each worker is started, confined (`WorkerSandbox`), for one request on one file, which it reads from its fd 3: the
// parent sends one `WorkerRequest` frame; the worker answers with any number of `streamBytes` frames and then one
// final frame (to `metadataAndPictures`, two: the metadata's, then the pictures'). Pipes only: no media, plaintext or
// encrypted, touches the disk on the way.

/// One piece of media work for a worker.
struct WorkerRequest: Codable {
    enum Operation: String, Codable { case metadata, pictures, stream, metadataAndPictures }
    var operation: Operation
    /// The file's name (its last component: the worker is handed the file, not its path).
    var name: BytePath
    var format: MediaFormat
    /// `metadata` (and `metadataAndPictures`): the file's name and sidecars, for the capture-time fallbacks.
    var surroundings: FileSurroundings?
    /// `pictures`: how to turn the picture (`metadataAndPictures`: as the metadata says).
    var orientation: Int?
    /// `pictures` and `metadataAndPictures`: when to make a rendition (absent: where the format needs one).
    var rendition: RenditionPolicy?
    var preset: String?
    /// The AES-128 key and IV of the video's segments: the only key a worker ever sees.
    var segmentKey: Data?
    var iv: Data?
    /// `stream` of a video inside the file (a motion photo's).
    var embedded: EmbeddedVideo?
}

/// A worker's answer. The payload is the stream's bytes (`streamBytes`), the thumbnail JPEG (`stream`), or the
/// thumbnail JPEG followed by the rendition JPEG (`pictures`).
struct WorkerReply: Codable {
    enum Kind: String, Codable { case streamBytes, metadata, pictures, stream, notProduced }
    var kind: Kind
    var metadata: MediaMetadata?
    var playlist: String?
    /// `notProduced`: why; `stream`: why there is no thumbnail; `pictures`: why there is no rendition.
    var problem: StageProblem?
    /// `pictures`: how many bytes of the payload are the thumbnail (the rest, if any, is the rendition).
    var thumbnailByteCount: Int?
    /// `pictures`: the file ends before its picture does (`StillPictures.partial`).
    var partial: Bool?
}

struct Frame {
    var header: Data
    var payload: Data

    static let maximumLength = 64 << 20
}

/// Why a frame could not be read or written.
enum FrameError: Error, CustomStringConvertible {
    case endOfFile
    case timedOut
    case io(String, errno: Int32)
    case malformed(String)

    var description: String {
        switch self {
        case .endOfFile: "the other side closed the pipe"
        case .timedOut: "timed out"
        case .io(let operation, let code): "\(operation): \(String(cString: strerror(code)))"
        case .malformed(let why): "malformed frame: \(why)"
        }
    }
}

/// Frames over a pair of file descriptors.
struct FrameChannel {
    let input: Int32
    let output: Int32

    func send<Header: Encodable>(_ header: Header, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) throws {
        let json = try JSONEncoder().encode(header)
        var prefix = Data()
        for value in [UInt32(4 + json.count + payload.count), UInt32(json.count)] {
            withUnsafeBytes(of: value.bigEndian) { prefix.append(contentsOf: $0) }
        }
        prefix.append(json)
        try prefix.withUnsafeBytes(writeAll)
        try writeAll(payload)
    }

    /// Reads one frame; with a `deadline`, gives up with `FrameError.timedOut` when it passes.
    func receive(deadline: ContinuousClock.Instant? = nil) throws -> Frame {
        let lengths = try read(count: 8, deadline: deadline)
        let total = Int(lengths.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        let headerLength = Int(lengths.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard total <= Frame.maximumLength, headerLength <= total - 4 else {
            throw FrameError.malformed("lengths \(total)/\(headerLength)")
        }
        let body = try read(count: total - 4, deadline: deadline)
        return Frame(header: body.prefix(headerLength), payload: body.dropFirst(headerLength))
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        do throws(Errno) { try FileIO.writeFully(output, bytes) } catch { throw FrameError.io("write", errno: error.code) }
    }

    private func read(count: Int, deadline: ContinuousClock.Instant?) throws -> Data {
        var data = Data(count: count)
        var offset = 0
        while offset < count {
            if let deadline { try waitReadable(until: deadline) }
            let got = data.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress! + offset, count - offset) }
            if got < 0 {
                if errno == EINTR { continue }
                throw FrameError.io("read", errno: errno)
            }
            if got == 0 { throw FrameError.endOfFile }
            offset += got
        }
        return data
    }

    func waitReadable(until deadline: ContinuousClock.Instant) throws {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw FrameError.timedOut }
            var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw FrameError.io("poll", errno: errno) }
        }
    }
}

extension Frame {
    func decodeHeader<Header: Decodable>(_ type: Header.Type) throws -> Header {
        do { return try JSONDecoder().decode(type, from: header) } catch { throw FrameError.malformed("\(error)") }
    }
}

/// What a worker answered to one request.
enum WorkerAnswer {
    case done(WorkerReply, payload: Data)
    case notProduced(StageProblem)
}

/// The parent's own sink for stream bytes failed: not the worker's fault.
struct StreamSinkFailed: Error {
    var error: any Error
}

extension FrameChannel {
    /// The parent's side of one request: sends it, hands the stream bytes that come back to `streamBytes`, and
    /// returns the final answer. `nextFrame` reads each frame (with the caller's deadline).
    func exchange(_ request: WorkerRequest, expecting kind: WorkerReply.Kind, nextFrame: () throws -> Frame,
                  streamBytes: (Data) throws -> Void) throws -> WorkerAnswer {
        try send(request)
        return try answer(to: request, expecting: kind, nextFrame: nextFrame, streamBytes: streamBytes)
    }

    /// The next final answer to `request`, which was sent: a `kind` answer, or a stage not produced (named as the
    /// worker named it).
    func answer(to request: WorkerRequest, expecting kind: WorkerReply.Kind, nextFrame: () throws -> Frame,
                streamBytes: (Data) throws -> Void) throws -> WorkerAnswer {
        while true {
            let frame = try nextFrame()
            let reply = try frame.decodeHeader(WorkerReply.self)
            switch reply.kind {
            case .streamBytes:
                do { try streamBytes(frame.payload) } catch { throw StreamSinkFailed(error: error) }
            case .notProduced:
                return .notProduced(reply.problem ?? StageProblem(stage: request.operation.rawValue, reason: "not produced"))
            case kind:
                return .done(reply, payload: frame.payload)
            default:
                throw FrameError.malformed("a \(reply.kind) answer to a \(kind) request")
            }
        }
    }
}
