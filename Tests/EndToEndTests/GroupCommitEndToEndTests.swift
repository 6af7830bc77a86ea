import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Group commit (issue 20, item 3) through the binary: a run of many small files, killed at several moments while
/// groups of items are queued, in flight or being committed; the reruns end with every file stored exactly once.
@Suite(.serialized) struct GroupCommitEndToEndTests {
    static let fileCount = 300

    /// `count` distinct small JPEGs: one 64×48 frame from the ffmpeg CLI, each copy made unique by bytes after its EOI
    /// (as the 10,000-file benchmark makes them), in ten folders.
    static func smallJPEGs(count: Int) throws -> (folder: String, paths: [String]) {
        let folder = try TestEnvironment.makeTempDirectory("small-jpegs").path
        let seed = folder + "/seed.jpg"
        let made = try runProcess("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", seed])
        #expect(made.status == 0, "\(made.stderrText)")
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: seed))
        try FileManager.default.removeItem(atPath: seed)
        var paths: [String] = []
        for index in 0..<count {
            let subfolder = folder + "/\(index % 10)"
            try FileManager.default.createDirectory(atPath: subfolder, withIntermediateDirectories: true)
            var unique = jpeg
            withUnsafeBytes(of: UInt32(index).bigEndian) { unique.append(contentsOf: $0) }
            let path = subfolder + "/IMG_\(index).jpg"
            try unique.write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        return (folder, paths.sorted())
    }

    /// The source path of every original of every item, sorted (a file stored twice shows twice).
    static func storedPaths(_ library: String) throws -> [String] {
        let listed = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(listed.status == 0, "\(listed.stderrText)")
        return try listed.stdoutText.split(separator: "\n").flatMap { line in
            let item = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (item["originals"] as! [[String: Any]]).map { $0["path"] as! String }
        }.sorted()
    }

    @Test(.needs("ffmpeg")) func killedDuringARunOfManySmallFilesTheRerunsConverge() throws {
        let (folder, paths) = try Self.smallJPEGs(count: Self.fileCount)
        // How long a whole run takes on this machine now, so that the kills fall inside a run.
        let scratch = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let start = Date()
        let whole = try Keepsake.run(["ingest", folder, "--library", scratch])
        #expect(whole.status == 0, "\(whole.stdoutText)\(whole.stderrText)")
        var fullRun = Date().timeIntervalSince(start)
        #expect(try Self.storedPaths(scratch) == paths)

        // Each library is killed once at its own moment of a run, then once more early in the rerun (a run killed while
        // it cleans up and resumes), then run to the end.
        // The last point is not a time: the run is killed as soon as its first group's log entries are being written
        // (most of a run is its first phase, every file's metadata and pictures, before anything is committed, so a
        // kill at a fraction of the run's time may fall before the first commit or after the last).
        var killedMidRun = 0, partial = 0
        let points: [Double?] = [0.35, 0.65, 0.9, nil]
        for (point, fraction) in points.enumerated() {
            let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
            let log = library + "/store/log"
            let firstGroupCommitting = { fraction == nil && ((try? FileManager.default.contentsOfDirectory(atPath: log).count) ?? 0) >= 20 }
            // A run that ends before its kill point shortens the estimate (this machine's speed drifts).
            if let finished = try Keepsake.ingestKilled(after: fraction.map { fullRun * $0 } ?? fullRun * 3, folder: folder,
                                                        library: library, orWhen: firstGroupCommitting) {
                fullRun = min(fullRun, finished)
            } else {
                killedMidRun += 1
            }
            let afterKill = try Self.storedPaths(library)
            #expect(Set(afterKill).count == afterKill.count, "kill point \(point): a file stored twice after the kill")
            if !afterKill.isEmpty && afterKill.count < paths.count { partial += 1 }
            _ = try Keepsake.ingestKilled(after: fullRun / 4, folder: folder, library: library)
            let rerun = try Keepsake.run(["ingest", folder, "--library", library])
            #expect(rerun.status == 0, "kill point \(point): \(rerun.stdoutText)\(rerun.stderrText)")
            #expect(try Self.storedPaths(library) == paths, "kill point \(point): every file stored exactly once")
            let verify = try Keepsake.run(["verify", "--read-data", "--grace", "0", "--library", library])
            #expect(verify.status == 0 && !verify.stdoutText.contains("orphan"), "kill point \(point): \(verify.stdoutText)")
        }
        print("group commit kill-and-rerun: \(killedMidRun) of \(points.count) runs killed mid-way, \(partial) with part of the files "
              + "committed (a whole run: \(String(format: "%.1f", fullRun)) s)")
        #expect(killedMidRun >= 2, "the runs must really be killed mid-way for the test to mean anything")
        #expect(partial >= 1, "a kill must fall after part of the files was committed")
    }
}
