import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// What an `ingest` says while another process holds the library's writer lock.
struct LockWaitEndToEndTests {
    @Test func anIngestWaitingForAnotherIngestDoesNotBlameTheDaemon() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-lockwait")
        defer { try? FileManager.default.removeItem(at: root) }
        let photos = root.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: false)
        try Data([0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9]).write(to: photos.appendingPathComponent("a.jpg"))
        let library = root.appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", photos.path, "--library", library]).status == 0)

        // This test process stands in for another writer that did not say who it is; no daemon runs.
        let lock = open(library + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(lock) }
        #expect(flock(lock, LOCK_EX) == 0)
        let waiting = try Keepsake.run(["ingest", photos.path, "--library", library, "--lock-timeout", "1"])
        #expect(waiting.status == 3)
        #expect(waiting.stderrText.contains("waiting for another process writing to the library to finish…"), "\(waiting.stderrText)")
        #expect(!waiting.stderrText.contains("daemon"), "\(waiting.stderrText)")
    }
}
