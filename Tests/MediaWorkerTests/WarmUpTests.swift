import Foundation
import FileSystem
import Media
import MediaTypes
import Testing
import TestSupport
@testable import MediaWorker
#if canImport(Glibc)
import Glibc
#endif

/// The zygote's warm-up (`WorkerServer.warmUp`): it is handed its built-in pictures, and answers them with the real
/// media work, both ways through the metadata, before its first worker is forked.
@Suite struct WarmUpTests {
    /// What a stand-in zygote finds at the warm-up descriptors, said on stderr before it ends: the sandbox hands over
    /// both pictures, whole, as readable files.
    @Test func theZygoteIsHandedItsWarmUpPictures() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-warm-up-zygote-\(UUID().uuidString)").path
        try StandInWorker.compile("static int worker_main(void) { return 0; }", main: """
            int main(void) {
                char said[256];
                int length = 0;
                for (int fd = 4; fd <= 5; fd++) {
                    unsigned char start[2] = { 0, 0 };
                    struct stat status;
                    long size = fstat(fd, &status) == 0 ? (long)status.st_size : -1;
                    pread(fd, start, 2, 0);
                    length += snprintf(said + length, sizeof said - (size_t)length, "fd %d: %ld bytes, %02x%02x; ", fd, size, start[0], start[1]);
                }
                write(2, said, (size_t)length);
                return 127;
            }
            """, to: path)
        defer { unlink(path) }
        let work = OutOfProcessMediaWork(executable: path, timeoutFloor: .seconds(3), shouldStop: { false })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-warm-up-\(UUID().uuidString).jpg").path
        try Data(WarmUpPictures.all[0].bytes).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        do {
            _ = try work.metadata(fileAt: BytePath(file), format: .jpeg)
            Issue.record("a zygote that never started answered")
        } catch {
            let (first, second) = (WarmUpPictures.all[0].bytes.count, WarmUpPictures.all[1].bytes.count)
            #expect("\(error)".contains("fd 4: \(first) bytes, ffd8; fd 5: \(second) bytes, ffd8;"), "\(error)")
        }
    }

    /// The real media work answers both pictures: a metadata answer and a thumbnail each; the EXIF one's capture time
    /// and orientation come from its EXIF, the other's capture time from its name.
    @Test func bothPicturesAreAnsweredByTheRealMediaWork() throws {
        let pictures = try WarmUpPictures.all.map { picture in
            let fd = try MemoryFile.make(name: "warm-up-test")
            try picture.bytes.withUnsafeBytes { try FileIO.writeFully(fd, $0) }
            return fd
        }
        defer { pictures.forEach { close($0) } }
        var pipeEnds: [Int32] = [-1, -1]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]) }
        WorkerServer.warmUp(work: InProcessMediaWork(), pictures: pictures, answers: pipeEnds[1])
        close(pipeEnds[1])

        let channel = FrameChannel(input: pipeEnds[0], output: -1)
        var replies: [(WorkerReply, Data)] = []
        while let frame = try? channel.receive() { replies.append((try frame.decodeHeader(WorkerReply.self), frame.payload)) }
        #expect(replies.map(\.0.kind) == [.metadata, .pictures, .metadata, .pictures])
        guard replies.count == 4 else { return }
        #expect(replies[0].0.metadata?.captureTime?.local == "2020-01-02T03:04:05")
        #expect(replies[0].0.metadata?.orientation == 6)
        #expect(replies[2].0.metadata?.captureTime?.local == "2020-01-02T03:04:05")
        #expect(replies[2].0.metadata?.captureTime?.source != replies[0].0.metadata?.captureTime?.source)
        for (reply, payload) in [replies[1], replies[3]] {
            #expect(payload.prefix(2) == Data([0xFF, 0xD8]) && reply.thumbnailByteCount == payload.count)
        }
    }
}
