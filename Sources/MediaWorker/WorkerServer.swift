import CSeccomp
import FileSystem
import Foundation
import MediaTypes
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake-media`: runs as the workers' zygote (`runZygote`); each child it forks answers requests on stdin/stdout
/// with `work` on the file it was handed as fd 3 (read-only), until stdin closes. It holds no library and no key but
/// a video's segment key, and runs confined (`WorkerSandbox`).
public enum WorkerServer {
    /// Tests plant faults: the worker aborts, or hangs, when asked to work on a file of this name.
    static let abortOnVariable = "KEEPSAKE_TEST_WORKER_ABORT_ON"
    static let hangOnVariable = "KEEPSAKE_TEST_WORKER_HANG_ON"
    /// Tests make a library as versions before renditions did: the worker makes none.
    static let noRenditionsVariable = "KEEPSAKE_TEST_WORKER_NO_RENDITIONS"

    /// The zygote's loop (`CSeccomp/zygote.h`) until the parent closes its socket: `serve` runs in each child, which
    /// exits with what it returns. It must capture nothing (a C function): it calls `serveOne(work:)` with the work.
    public static func runZygote(_ serve: @convention(c) () -> Int32) -> Int32 {
        keepsake_zygote_run(serve)
    }

    /// A child's service: `run`, and its exit status.
    public static func serveOne(work: some DescriptorMediaWork) -> Int32 {
        do {
            try run(work: work)
            return 0
        } catch {
            FileHandle.standardError.write(Data("keepsake-media: \(error)\n".utf8))
            return 1
        }
    }

    public static func run(work: some DescriptorMediaWork) throws {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT, SIG_IGN)  // Ctrl-C reaches the whole process group: the parent decides when its workers end
        let environment = ProcessInfo.processInfo.environment
        let abortOn = environment[abortOnVariable]
        let hangOn = environment[hangOnVariable]
        let work = environment[noRenditionsVariable] == nil ? work as any DescriptorMediaWork : WithoutRenditions(work: work)
        try serve(FrameChannel(input: STDIN_FILENO, output: STDOUT_FILENO), work: work, file: WorkerSandbox.fileDescriptor) { request in
            let name = String(decoding: request.name.bytes, as: UTF8.self)
            if name == abortOn { abort() }
            while name == hangOn { pause() }
        }
    }

    /// Answers requests about `file` on `channel` until it closes; `before` sees each request first.
    static func serve(_ channel: FrameChannel, work: some DescriptorMediaWork, file: Int32, before: (WorkerRequest) -> Void = { _ in }) throws {
        while true {
            let request: WorkerRequest
            do {
                request = try channel.receive().decodeHeader(WorkerRequest.self)
            } catch FrameError.endOfFile {
                return
            }
            before(request)
            try answer(request, work: work, file: file, channel: channel)
        }
    }

    /// `work` as versions before renditions did it (see `noRenditionsVariable`).
    private struct WithoutRenditions: DescriptorMediaWork {
        let work: any DescriptorMediaWork
        func metadata(of file: Int32, format: MediaFormat, surroundings: FileSurroundings) throws(MediaWorkError) -> MediaMetadata {
            try work.metadata(of: file, format: format, surroundings: surroundings)
        }
        func pictures(of file: Int32, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
            StillPictures(thumbnail: try work.pictures(of: file, format: format, orientation: orientation, rendition: rendition).thumbnail)
        }
        func stream(of file: Int32, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                    iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
            try work.stream(of: file, format: format, embedded: embedded, options: options, segmentKey: segmentKey, iv: iv, output: output)
        }
    }

    static func answer(_ request: WorkerRequest, work: some DescriptorMediaWork, file: Int32, channel: FrameChannel) throws {
        switch request.operation {
        case .metadata:
            _ = try answerMetadata(request, work: work, file: file, channel: channel)
        case .pictures:
            try answerPictures(request, orientation: request.orientation, work: work, file: file, channel: channel)
        case .metadataAndPictures:
            let metadata = try answerMetadata(request, work: work, file: file, channel: channel)
            try answerPictures(request, orientation: metadata?.orientation, work: work, file: file, channel: channel)
        case .stream:
            do {
                let product = try work.stream(of: file, format: request.format, embedded: request.embedded,
                                              options: StreamOptions(preset: request.preset ?? StreamOptions().preset),
                                              segmentKey: Array(request.segmentKey ?? Data()), iv: Array(request.iv ?? Data())) { bytes in
                    try channel.send(WorkerReply(kind: .streamBytes), payload: bytes)
                }
                let reply = WorkerReply(kind: .stream, playlist: product.playlist, problem: product.thumbnailProblem)
                try (product.thumbnail ?? []).withUnsafeBytes { try channel.send(reply, payload: $0) }
            } catch MediaWorkError.notProduced(let problem) {
                try channel.send(WorkerReply(kind: .notProduced, problem: problem))
            }
        }
    }

    /// Sends the file's metadata, or why there is none (then nil).
    private static func answerMetadata(_ request: WorkerRequest, work: some DescriptorMediaWork, file: Int32,
                                       channel: FrameChannel) throws -> MediaMetadata? {
        do {
            let metadata = try work.metadata(of: file, format: request.format, surroundings: request.surroundings ?? FileSurroundings(name: request.name))
            try channel.send(WorkerReply(kind: .metadata, metadata: metadata))
            return metadata
        } catch MediaWorkError.notProduced(let problem) {
            try channel.send(WorkerReply(kind: .notProduced, problem: problem))
            return nil
        }
    }

    /// Sends the thumbnail and rendition, or why there are none.
    private static func answerPictures(_ request: WorkerRequest, orientation: Int?, work: some DescriptorMediaWork, file: Int32,
                                       channel: FrameChannel) throws {
        do {
            let pictures = try work.pictures(of: file, format: request.format, orientation: orientation, rendition: request.rendition ?? .whereNeeded)
            let reply = WorkerReply(kind: .pictures, problem: pictures.renditionProblem, thumbnailByteCount: pictures.thumbnail.count,
                                    partial: pictures.partial ? true : nil)
            try (pictures.thumbnail + (pictures.rendition ?? [])).withUnsafeBytes { try channel.send(reply, payload: $0) }
        } catch MediaWorkError.notProduced(let problem) {
            try channel.send(WorkerReply(kind: .notProduced, problem: problem))
        }
    }
}
