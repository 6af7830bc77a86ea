import Foundation
import FileSystem
import MediaTypes
import Synchronization
import Testing
import TestSupport
@testable import MediaWorker
#if canImport(Glibc)
import Glibc
#endif

/// Keeps `fds` out of the worker processes the suite's other tests spawn meanwhile: an inherited write end would
/// keep a pipe open (no end of file) for as long as that worker lives.
private func closeOnExec(_ fds: [Int32]) {
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
}

/// The parent–worker exchange over real pipes, with a stand-in for the media work (the real transcoder is not needed
/// to prove that stream bytes, playlist, thumbnail and problems cross intact).
@Suite struct WorkerProtocolTests {
    struct StandInWork: DescriptorMediaWork {
        static let chunks = [Data(repeating: 7, count: 1 << 20), Data("second".utf8), Data(repeating: 9, count: 300_000)]

        func metadata(of file: Int32, format: MediaFormat, surroundings: FileSurroundings) throws(MediaWorkError) -> MediaMetadata {
            if surroundings.name.description.hasPrefix("unreadable") { throw .notProduced(StageProblem(stage: "metadata", reason: "metadata: unreadable")) }
            var metadata = MediaMetadata(format: format)
            metadata.make = "Maker of \(surroundings.name) with \(surroundings.xmpSidecar?.count ?? 0) bytes of XMP"
            if surroundings.name.description.hasPrefix("turned") { metadata.orientation = 6 }
            return metadata
        }

        static let pictures = StillPictures(thumbnail: [0xFF, 0xD8, 1, 2], rendition: [UInt8](repeating: 5, count: 700_000))

        func pictures(of file: Int32, format: MediaFormat, orientation: Int?, rendition: RenditionPolicy) throws(MediaWorkError) -> StillPictures {
            guard orientation == nil else {
                throw .notProduced(StageProblem(stage: "thumbnail", reason: "thumbnail: orientation \(orientation ?? 0) refused"))
            }
            if format == .jpeg { return StillPictures(thumbnail: Self.pictures.thumbnail) }
            return Self.pictures
        }

        func stream(of file: Int32, format: MediaFormat, embedded: EmbeddedVideo?, options: StreamOptions, segmentKey: [UInt8],
                    iv: [UInt8], output: (UnsafeRawBufferPointer) throws -> Void) throws -> StreamProduct {
            for chunk in Self.chunks { try chunk.withUnsafeBytes(output) }
            return StreamProduct(playlist: "#EXTM3U key=\(segmentKey.count) iv=\(iv.count) preset=\(options.preset)"
                                     + (embedded.map { " embedded=\($0.offset)+\($0.length)" } ?? ""),
                                 thumbnail: [0xFF, 0xD8, 0xFF], thumbnailProblem: nil)
        }
    }

    /// A worker serving on a thread, and the parent's end of its pipes.
    final class Connection {
        let client: FrameChannel
        private var fds: [Int32] = []
        private let finished = DispatchSemaphore(value: 0)

        init() {
            var toWorker: [Int32] = [0, 0], fromWorker: [Int32] = [0, 0]
            _ = pipe(&toWorker)
            _ = pipe(&fromWorker)
            fds = toWorker + fromWorker
            closeOnExec(fds)
            client = FrameChannel(input: fromWorker[0], output: toWorker[1])
            let server = FrameChannel(input: toWorker[0], output: fromWorker[1])
            let done = finished
            Thread {
                try? WorkerServer.serve(server, work: StandInWork(), file: -1)
                done.signal()
            }.start()
        }

        func ask(_ request: WorkerRequest, expecting kind: WorkerReply.Kind) throws -> (WorkerAnswer, Data) {
            var streamed = Data()
            let answer = try client.exchange(request, expecting: kind, nextFrame: { try client.receive(deadline: .now + .seconds(20)) },
                                             streamBytes: { streamed.append($0) })
            return (answer, streamed)
        }

        /// Closes the parent's end; the worker must then return.
        func close() -> Bool {
            Glibc.close(fds[1])
            let returned = finished.wait(timeout: .now() + 10) == .success
            for fd in [fds[0], fds[2], fds[3]] { Glibc.close(fd) }
            return returned
        }
    }

    @Test func streamBytesPlaylistAndThumbnailCrossIntact() throws {
        let connection = Connection()
        let request = WorkerRequest(operation: .stream, name: "v.mov", format: .mov, preset: "fast",
                                    segmentKey: Data(repeating: 1, count: 16), iv: Data(repeating: 2, count: 16))
        let (answer, streamed) = try connection.ask(request, expecting: .stream)
        #expect(streamed == StandInWork.chunks.reduce(Data(), +))
        guard case .done(let reply, let thumbnail) = answer else { Issue.record("no answer: \(answer)"); return }
        #expect(reply.playlist == "#EXTM3U key=16 iv=16 preset=fast")
        #expect(Array(thumbnail) == [0xFF, 0xD8, 0xFF])
        #expect(reply.problem == nil)

        // The same worker takes the next request.
        let surroundings = FileSurroundings(name: "a.jpg", xmpSidecar: Data(count: 5))
        let (metadata, _) = try connection.ask(WorkerRequest(operation: .metadata, name: "a.jpg", format: .jpeg, surroundings: surroundings),
                                               expecting: .metadata)
        guard case .done(let metadataReply, _) = metadata else { Issue.record("no metadata"); return }
        #expect(metadataReply.metadata?.make == "Maker of a.jpg with 5 bytes of XMP")
        #expect(connection.close(), "the worker returns when its input closes")
    }

    @Test func aThumbnailAndItsRenditionCrossApartAndAnEmbeddedVideoIsNamed() throws {
        let connection = Connection()
        let (answer, _) = try connection.ask(WorkerRequest(operation: .pictures, name: "a.heic", format: .heic), expecting: .pictures)
        guard case .done(let reply, let payload) = answer else { Issue.record("no answer: \(answer)"); return }
        #expect(reply.thumbnailByteCount == StandInWork.pictures.thumbnail.count)
        #expect(Array(payload) == StandInWork.pictures.thumbnail + StandInWork.pictures.rendition!)
        let (plain, _) = try connection.ask(WorkerRequest(operation: .pictures, name: "a.jpg", format: .jpeg), expecting: .pictures)
        guard case .done(let plainReply, let plainPayload) = plain else { Issue.record("no answer: \(plain)"); return }
        #expect(plainReply.thumbnailByteCount == plainPayload.count)
        let request = WorkerRequest(operation: .stream, name: "m.jpg", format: .jpeg, preset: "fast", segmentKey: Data(count: 16),
                                    iv: Data(count: 16), embedded: EmbeddedVideo(offset: 100, length: 2000))
        let (stream, _) = try connection.ask(request, expecting: .stream)
        guard case .done(let streamReply, _) = stream else { Issue.record("no answer: \(stream)"); return }
        #expect(streamReply.playlist?.hasSuffix(" embedded=100+2000") == true)
        #expect(connection.close())
    }

    /// One request, two answers: the metadata, then the pictures turned as that metadata says; a stage not produced
    /// leaves the other's answer as it is.
    @Test func metadataAndPicturesAreTwoAnswersToOneRequest() throws {
        let connection = Connection()
        func ask(_ name: BytePath, _ format: MediaFormat) throws -> (metadata: WorkerAnswer, pictures: WorkerAnswer) {
            let request = WorkerRequest(operation: .metadataAndPictures, name: name, format: format, surroundings: FileSurroundings(name: name))
            try connection.client.send(request)
            let next = { try connection.client.receive(deadline: .now + .seconds(20)) }
            return (try connection.client.answer(to: request, expecting: .metadata, nextFrame: next, streamBytes: { _ in }),
                    try connection.client.answer(to: request, expecting: .pictures, nextFrame: next, streamBytes: { _ in }))
        }
        let plain = try ask("a.heic", .heic)
        guard case .done(let metadata, _) = plain.metadata, case .done(let pictures, let payload) = plain.pictures else {
            Issue.record("\(plain)")
            return
        }
        #expect(metadata.metadata?.make == "Maker of a.heic with 0 bytes of XMP")
        #expect(pictures.thumbnailByteCount == StandInWork.pictures.thumbnail.count)
        #expect(Array(payload) == StandInWork.pictures.thumbnail + StandInWork.pictures.rendition!)

        let turned = try ask("turned.jpg", .jpeg)
        guard case .done(let turnedMetadata, _) = turned.metadata, case .notProduced(let refused) = turned.pictures else {
            Issue.record("\(turned)")
            return
        }
        #expect(turnedMetadata.metadata?.orientation == 6)
        #expect(refused == StageProblem(stage: "thumbnail", reason: "thumbnail: orientation 6 refused"), "the pictures were asked turned")

        let unreadable = try ask("unreadable.jpg", .jpeg)
        guard case .notProduced(let problem) = unreadable.metadata, case .done(_, let thumbnail) = unreadable.pictures else {
            Issue.record("\(unreadable)")
            return
        }
        #expect(problem == StageProblem(stage: "metadata", reason: "metadata: unreadable"))
        #expect(Array(thumbnail) == StandInWork.pictures.thumbnail)
        #expect(connection.close())
    }

    @Test func aStageNotProducedIsAnAnswerNotAFailure() throws {
        let connection = Connection()
        let (answer, _) = try connection.ask(WorkerRequest(operation: .pictures, name: "a.jpg", format: .jpeg, orientation: 6),
                                             expecting: .pictures)
        guard case .notProduced(let problem) = answer else { Issue.record("\(answer)"); return }
        #expect(problem == StageProblem(stage: "thumbnail", reason: "thumbnail: orientation 6 refused"))
        #expect(connection.close())
    }

    @Test func aSilentPeerTimesOutAndAClosedOneIsEndOfFile() throws {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        closeOnExec(fds)
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

    /// A stand-in worker (C, run confined as the real one is) that answers a stream request with `chunks` stream
    /// frames, the first after `firstDelay` milliseconds and the others `gap` apart.
    private func slowWorker(firstDelay: Int, gap: Int, chunks: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-slow-worker-\(UUID().uuidString)").path
        try StandInWorker.compile("""
            static void pause_ms(int ms) { struct timespec t = { ms / 1000, (ms % 1000) * 1000000L }; nanosleep(&t, 0); }
            static int worker_main(void) {
                char request[65536];
                while (read_request(request, sizeof request)) {
                    pause_ms(\(firstDelay));
                    for (int index = 0; index < \(chunks); index++) {
                        if (index) pause_ms(\(gap));
                        send_frame("{\\"kind\\":\\"streamBytes\\"}", "segment!", 8);
                    }
                    send_frame("{\\"kind\\":\\"stream\\",\\"playlist\\":\\"#EXTM3U\\"}", 0, 0);
                }
                return 0;
            }
            """, to: path)
        return path
    }

    /// Asks `work` for the stream of a small file: what it produced, and how many bytes came back.
    private func requestStream(from work: OutOfProcessMediaWork) throws -> (product: StreamProduct, received: Int) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-stand-in-\(UUID().uuidString).mov").path
        try Data(count: 100).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        var received = 0
        let product = try work.stream(fileAt: BytePath(file), format: .mov, embedded: nil, options: StreamOptions(),
                                      segmentKey: [UInt8](repeating: 1, count: 16), iv: [UInt8](repeating: 2, count: 16)) {
            received += $0.count
        }
        return (product, received)
    }

    /// The timeout is on silence, not on the whole answer: a long transcode that keeps sending segments is never cut
    /// off, a worker silent for longer than the timeout is.
    @Test func theTimeoutIsOnSilenceNotOnTheWholeAnswer() throws {
        func stream(with executable: String) throws -> (StreamProduct, Int) {
            let work = OutOfProcessMediaWork(executable: executable, timeoutFloor: .seconds(3), shouldStop: { false })
            return try requestStream(from: work)
        }
        let busy = try slowWorker(firstDelay: 1000, gap: 1000, chunks: 6)
        defer { unlink(busy) }
        let (product, received) = try stream(with: busy)
        #expect(product.playlist == "#EXTM3U" && received == 6 * 8, "6 s of answers, never 3 s of silence")

        let silent = try slowWorker(firstDelay: 6000, gap: 0, chunks: 1)
        defer { unlink(silent) }
        do {
            _ = try stream(with: silent)
            Issue.record("a worker silent for 6 s outlived a 3 s timeout")
        } catch MediaWorkError.workerFailed(let reason) {
            #expect(reason == "the media worker hung: no answer within 3 s; killed")
        }
    }

    /// A worker that dies after its metadata answer costs the pictures only: the metadata it sent is kept, and the
    /// pictures fail as a worker failure, with why.
    @Test func aWorkerThatDiesAfterItsMetadataCostsThePicturesOnly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-half-worker-\(UUID().uuidString)").path
        try StandInWorker.compile("""
            static int worker_main(void) {
                char request[65536];
                while (read_request(request, sizeof request)) {
                    if (strcmp(operation(request), "metadata") != 0) _exit(7);
                    send_frame("{\\"kind\\":\\"metadata\\",\\"metadata\\":{\\"format\\":\\"jpeg\\",\\"make\\":\\"Half\\",\\"sources\\":{}}}", 0, 0);
                }
                return 0;
            }
            """, to: path)
        defer { unlink(path) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-half-\(UUID().uuidString).jpg").path
        try Data(count: 100).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        let work = OutOfProcessMediaWork(executable: path, timeoutFloor: .seconds(3), shouldStop: { false })
        let both = work.metadataAndPictures(fileAt: BytePath(file), format: .jpeg, rendition: .whereNeeded)
        #expect((try? both.metadata.get())?.make == "Half")
        guard case .failure(.workerFailed(let reason)) = both.pictures else {
            Issue.record("pictures from a worker that died: \(both.pictures)")
            return
        }
        #expect(reason == "the media worker exited with status 7")
        #expect(work.takeWorkerFailures()[BytePath(file)] == reason)
    }

    /// A zygote that ends before its loop starts (as when the loader cannot find a library in the sandbox: exit 127)
    /// fails the file with what it said on stderr, after one fresh zygote was tried.
    @Test func aZygoteThatEndsAtItsStartIsNamedWithWhatItSaid() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-dying-zygote-\(UUID().uuidString)").path
        try StandInWorker.compile("static int worker_main(void) { return 0; }", main: """
            int main(void) {
                static const char said[] = "keepsake-media: error while loading shared libraries: libswiftCore.so\\n";
                write(2, said, sizeof said - 1);
                return 127;
            }
            """, to: path)
        defer { unlink(path) }
        let work = OutOfProcessMediaWork(executable: path, timeoutFloor: .seconds(3), shouldStop: { false })
        do {
            _ = try requestStream(from: work)
            Issue.record("a zygote that never started produced a stream")
        } catch MediaWorkError.workerFailed(let reason) {
            #expect(reason.contains("wait status 32512") && reason.contains("it said: keepsake-media: error while loading shared libraries: libswiftCore.so"),
                    "\(reason)")
        }
    }

    /// This process's memory map is read to its end, however many threads' stacks come before the libraries in it
    /// (Foundation's `String(contentsOfFile:)` reads one page of a `/proc` file: the Swift runtime's folder was then
    /// missing from the workers' sandbox in runs with many threads, and every zygote died at its start).
    @Test func theWholeMemoryMapIsRead() throws {
        let stop = Mutex(false)
        let threads = (0..<100).map { _ in Thread { while !stop.withLock({ $0 }) { usleep(10_000) } } }
        threads.forEach { $0.start() }
        defer { stop.withLock { $0 = true } }
        usleep(100_000)
        let bytes = try #require(try FileIO.readAll(BytePath("/proc/self/maps")))
        #expect(bytes.count > 8192, "100 threads' stacks: more than two pages")
        #expect(String(decoding: bytes, as: UTF8.self).contains("libswiftCore"))
    }
}
