import Foundation
import MediaTypes
import Testing
@testable import MediaWorker
#if canImport(Glibc)
import Glibc
#endif

/// The parent–worker exchange over real pipes, with a stand-in for the media work (the real transcoder is not needed
/// to prove that stream bytes, playlist, thumbnail and problems cross intact).
@Suite struct WorkerProtocolTests {
    struct StandInWork: MediaWork {
        static let chunks = [Data(repeating: 7, count: 1 << 20), Data("second".utf8), Data(repeating: 9, count: 300_000)]

        func metadata(fileAt path: String, format: MediaFormat) throws(MediaWorkError) -> MediaMetadata {
            var metadata = MediaMetadata(format: format)
            metadata.make = "Maker of \(path)"
            return metadata
        }

        func thumbnail(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaWorkError) -> [UInt8] {
            throw .notProduced(StageProblem(stage: "thumbnail", reason: "thumbnail: orientation \(orientation ?? 0) refused"))
        }

        func stream(fileAt path: String, format: MediaFormat, options: StreamOptions, segmentKey: [UInt8], iv: [UInt8],
                    output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
            for chunk in Self.chunks { try chunk.withUnsafeBytes(output) }
            return StreamProduct(playlist: "#EXTM3U key=\(segmentKey.count) iv=\(iv.count) preset=\(options.preset)",
                                 thumbnail: [0xFF, 0xD8, 0xFF], thumbnailProblem: nil)
        }
    }

    /// A worker serving on a thread, and the daemon's end of its pipes.
    final class Connection {
        let client: FrameChannel
        private var fds: [Int32] = []
        private let finished = DispatchSemaphore(value: 0)

        init() {
            var toWorker: [Int32] = [0, 0], fromWorker: [Int32] = [0, 0]
            _ = pipe(&toWorker)
            _ = pipe(&fromWorker)
            fds = toWorker + fromWorker
            client = FrameChannel(input: fromWorker[0], output: toWorker[1])
            let server = FrameChannel(input: toWorker[0], output: fromWorker[1])
            let done = finished
            Thread {
                try? WorkerServer.serve(server, work: StandInWork())
                done.signal()
            }.start()
        }

        func ask(_ request: WorkerRequest, expecting kind: WorkerReply.Kind) throws -> (WorkerAnswer, Data) {
            var streamed = Data()
            let answer = try client.exchange(request, expecting: kind, nextFrame: { try client.receive(deadline: .now + .seconds(20)) },
                                             streamBytes: { streamed.append($0) })
            return (answer, streamed)
        }

        /// Closes the daemon's end; the worker must then return.
        func close() -> Bool {
            Glibc.close(fds[1])
            let returned = finished.wait(timeout: .now() + 10) == .success
            for fd in [fds[0], fds[2], fds[3]] { Glibc.close(fd) }
            return returned
        }
    }

    @Test func streamBytesPlaylistAndThumbnailCrossIntact() throws {
        let connection = Connection()
        let request = WorkerRequest(operation: .stream, path: "/v.mov", format: .mov, preset: "fast",
                                    segmentKey: Data(repeating: 1, count: 16), iv: Data(repeating: 2, count: 16))
        let (answer, streamed) = try connection.ask(request, expecting: .stream)
        #expect(streamed == StandInWork.chunks.reduce(Data(), +))
        guard case .done(let reply, let thumbnail) = answer else { Issue.record("no answer: \(answer)"); return }
        #expect(reply.playlist == "#EXTM3U key=16 iv=16 preset=fast")
        #expect(Array(thumbnail) == [0xFF, 0xD8, 0xFF])
        #expect(reply.problem == nil)

        // The same worker takes the next request.
        let (metadata, _) = try connection.ask(WorkerRequest(operation: .metadata, path: "/a.jpg", format: .jpeg), expecting: .metadata)
        guard case .done(let metadataReply, _) = metadata else { Issue.record("no metadata"); return }
        #expect(metadataReply.metadata?.make == "Maker of /a.jpg")
        #expect(connection.close(), "the worker returns when its input closes")
    }

    @Test func aStageNotProducedIsAnAnswerNotAFailure() throws {
        let connection = Connection()
        let (answer, _) = try connection.ask(WorkerRequest(operation: .thumbnail, path: "/a.jpg", format: .jpeg, orientation: 6),
                                             expecting: .thumbnail)
        guard case .notProduced(let problem) = answer else { Issue.record("\(answer)"); return }
        #expect(problem == StageProblem(stage: "thumbnail", reason: "thumbnail: orientation 6 refused"))
        #expect(connection.close())
    }

    @Test func aSilentPeerTimesOutAndAClosedOneIsEndOfFile() throws {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        let channel = FrameChannel(input: fds[0], output: fds[1])
        #expect(throws: FrameError.self) { try channel.receive(deadline: .now + .milliseconds(200)) }
        close(fds[1])
        do {
            _ = try channel.receive(deadline: .now + .seconds(5))
            Issue.record("read from a closed pipe")
        } catch FrameError.endOfFile {
        }
        close(fds[0])
    }
}
