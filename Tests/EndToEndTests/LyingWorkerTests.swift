import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// A worker that dies or lies costs the file it was given and nothing more: a stand-in `keepsake-media` (a shell
/// script beside a link to the real `keepsake`) misbehaves on the run's first request and is the real engine after,
/// so one file fails with the reason, the others are stored, and the run ends with no process of the stand-in left.
@Suite(.serialized) struct LyingWorkerTests {
    /// What the stand-in does instead of answering, and the reason the file then fails with (a prefix).
    static let standIns: [(name: String, script: String, reason: String)] = [
        // Random bytes whose first length (the leading 0xFF) is beyond any frame, then exit. `head` is a child of
        // the script that outlives it, blocked on the full pipe: killing the worker must not wait for it.
        ("random bytes, then exit", "printf '\\377'; head -c 100000 /dev/urandom; exit 0",
         "the media worker sent a malformed answer (lengths "),
        // A well-formed frame length around random bytes instead of a header, then stays alive.
        ("random bytes, stays alive", "printf '\\0\\0\\4\\0\\0\\0\\3\\374'; head -c 1020 /dev/urandom; sleep 600 & echo $! >> \"$STATE/pids\"; wait",
         "the media worker sent a malformed answer ("),
        ("a length beyond any frame", "printf '\\377\\377\\377\\377\\0\\0\\0\\20'; sleep 600 & echo $! >> \"$STATE/pids\"; wait",
         "the media worker sent a malformed answer (lengths 4294967295/16); killed"),
        ("a length it never fills", "printf '\\3\\377\\377\\360\\0\\0\\0\\20'; sleep 600 & echo $! >> \"$STATE/pids\"; wait",
         "the media worker hung: no answer within 2 s; killed"),
        ("closes its output, keeps running", "exec 1>&-; sleep 600 & echo $! >> \"$STATE/pids\"; wait",
         "the media worker closed its output without answering; killed"),
        ("exits at once", "exit 7", "the media worker exited with status 7"),
    ]

    @Test(arguments: standIns.map(\.name))
    func aLyingOrDeadWorkerCostsItsFile(_ name: String) throws {
        let standIn = try #require(Self.standIns.first { $0.name == name })
        let base = try TestEnvironment.makeTempDirectory("keepsake-lying-worker")
        defer { try? FileManager.default.removeItem(at: base) }
        let bin = base.appendingPathComponent("bin").path, state = base.appendingPathComponent("state").path
        let folder = base.appendingPathComponent("in").path, library = base.appendingPathComponent("lib").path
        for directory in [bin, state, folder] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }

        // `keepsake worker` starts the `keepsake-media` beside the binary it runs from.
        let keepsake = bin + "/keepsake"
        if link(Keepsake.binary, keepsake) != 0 { try FileManager.default.copyItem(atPath: Keepsake.binary, toPath: keepsake) }
        let engine = (Keepsake.binary as NSString).deletingLastPathComponent + "/keepsake-media"
        let script = """
            #!/bin/sh
            STATE='\(state)'
            exec 2>/dev/null
            if ! mkdir "$STATE/lied"; then exec '\(engine)'; fi
            echo $$ >> "$STATE/pids"
            \(standIn.script)

            """
        FileManager.default.createFile(atPath: bin + "/keepsake-media", contents: Data(script.utf8), attributes: [.posixPermissions: 0o755])

        let samples = TestEnvironment.samples.appendingPathComponent("media/cameras").path
        let names = ["osxphotos__Pumkins1.jpg", "osxphotos__wedding.jpg", "osxphotos__Tulips.jpg"]
        for name in names { try FileManager.default.copyItem(atPath: samples + "/" + name, toPath: folder + "/" + name) }

        let started = ContinuousClock.now
        let run = try runProcess("timeout", ["-k", "5", "120", keepsake, "ingest", folder, "--library", library, "--json",
                                             "--jobs", "1", "--worker-timeout", "2"],
                                 environment: ["KEEPSAKE_PASSPHRASE": "test passphrase"])
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 1, "exit \(run.status) after \(elapsed): \(run.stderrText)")
        #expect(elapsed < .seconds(60), "the run ended, and soon")
        let lines = run.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let failed = lines.filter { $0["status"] as? String == "failed" }
        #expect(failed.count == 1, "\(run.stdoutText)")
        let reason = failed.first?["reason"] as? String ?? ""
        #expect(reason.hasPrefix(standIn.reason), "\(reason)")
        #expect(lines.last?["images"] as? Int == 2 && lines.last?["failed"] as? Int == 1, "the run went on: \(run.stdoutText)")
        #expect(FileManager.default.fileExists(atPath: state + "/lied"), "the stand-in ran")

        // Nothing the stand-in started is still running.
        let pids = String(decoding: FileManager.default.contents(atPath: state + "/pids") ?? Data(), as: UTF8.self)
            .split(separator: "\n").compactMap { Int32($0) }
        #expect(!pids.isEmpty)
        for pid in pids {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            #expect(stat.isEmpty || state == "Z", "process \(pid) of the stand-in is still running: \(stat)")
        }

        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)")
    }
}
