import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake daemon --export-to DIR`: the export folder follows the library as files land in a watched folder,
/// leave it, and as another machine adds to the library.
@Suite(.serialized) struct ContinuousExportEndToEndTests {
    let daemonTests = DaemonTests()

    func waitFor(_ seconds: Double = 90, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() && Date() < deadline { usleep(250_000) }
        return condition()
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func theExportFolderFollowsTheLibrary() throws {
        let (root, folder, library) = try daemonTests.makeWatch(mode: "single")
        defer { try? FileManager.default.removeItem(at: root) }
        let export = root.appendingPathComponent("export").path
        let samples = daemonTests.samples
        // Already in the library before the daemon starts: exported at its start.
        try daemonTests.copy("cameras/osxphotos__Pumkins1.jpg", to: folder.appendingPathComponent("pumpkins.jpg"))
        #expect(try Keepsake.run(["ingest", folder.path, "--album", "Holiday", "--library", library]).status == 0)

        let daemon = try DaemonTests.RunningDaemon(library: library, folder: root, arguments: ["--export-to", export, "--pull-interval", "2"])
        #expect(waitFor { bytes(export + "/Holiday/pumpkins.jpg") != nil }, "\(daemon.logText)")
        #expect(bytes(export + "/Holiday/pumpkins.jpg") == bytes(samples + "/cameras/osxphotos__Pumkins1.jpg"))

        // A file that lands is exported once its batch is stored, bit-exact, with its Takeout sidecar.
        try daemonTests.copy("cameras/osxphotos__Tulips.jpg", to: folder.appendingPathComponent("tulips.jpg"))
        #expect(waitFor { bytes(export + "/Holiday/tulips.jpg") != nil }, "\(daemon.logText)")
        #expect(bytes(export + "/Holiday/tulips.jpg") == bytes(samples + "/cameras/osxphotos__Tulips.jpg"))
        #expect(FileManager.default.fileExists(atPath: export + "/Holiday/metadata/tulips.jpg.json"))

        // A file deleted from the folder leaves its album: its export moves to the album's Trash and to Uncategorized.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("tulips.jpg"))
        #expect(waitFor { bytes(export + "/Uncategorized/tulips.jpg") != nil && bytes(export + "/Holiday/tulips.jpg") == nil },
                "\(daemon.logText)")
        #expect(bytes(export + "/Holiday/Trash/tulips.jpg") == bytes(samples + "/cameras/osxphotos__Tulips.jpg"), "never deleted")

        // What another process stores (a manual ingest here, another machine through the store) is exported after
        // the daemon's next pull.
        let other = root.appendingPathComponent("other")
        try daemonTests.copy("android/androidx-media__london.jpg", to: other.appendingPathComponent("london.jpg"))
        #expect(try Keepsake.run(["ingest", other.path, "--album", "Elsewhere", "--library", library]).status == 0)
        #expect(waitFor { bytes(export + "/Elsewhere/london.jpg") != nil }, "\(daemon.logText)")
        #expect(daemon.terminate() == 0)

        // The folder is the one `keepsake export` keeps: a manual export finds nothing left to do.
        let manual = try Keepsake.run(["export", "--to", export, "--json", "--library", library])
        #expect(manual.status == 0, "\(manual.stderrText)")
        let summary = try #require(manual.stdoutText.split(separator: "\n").last.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? nil)
        #expect(summary["exported"] as? Int == 0 && summary["alreadyExported"] as? Int == 3, "\(summary)")
    }
}
