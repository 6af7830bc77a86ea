import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake daemon` on a temporary watched folder: files landing, growing, deleted, edited; a worker that
/// crashes; a daemon killed mid-batch. Waits poll with deadlines; nothing sleeps for long.
@Suite(.serialized) struct DaemonTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    /// A `keepsake daemon` running in the background, its stderr in a log file.
    final class RunningDaemon {
        let process = Process()
        let log: String

        init(library: String, folder: URL, arguments: [String] = [], environment: [String: String] = [:]) throws {
            log = folder.appendingPathComponent("daemon-\(UUID().uuidString.prefix(4)).log").path
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: Keepsake.binary)
            process.arguments = ["daemon", "--library", library] + arguments
            process.environment = ProcessInfo.processInfo.environment
                .merging(["KEEPSAKE_PASSPHRASE": "test passphrase", "KEEPSAKE_LOG_LEVEL": "info"].merging(environment) { $1 }) { $1 }
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
        }

        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// SIGTERM, then the exit status (nil when it did not exit within `seconds`).
        func terminate(within seconds: Double = 15) -> Int32? {
            process.terminate()
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            guard !process.isRunning else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    func listing(_ library: String) throws -> [[String: Any]] {
        let result = try Keepsake.run(["ls", "--json", "--library", library])
        guard result.status == 0 else { return [] }
        return try result.stdoutText.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func paths(_ item: [String: Any]) -> [String] { (item["originals"] as! [[String: Any]]).map { $0["path"] as! String } }
    func albums(_ item: [String: Any]) -> [String] { item["albums"] as! [String] }

    /// Polls `ls --json` until `condition` holds or `seconds` pass; returns the last listing.
    @discardableResult
    func waitForListing(_ library: String, seconds: Double = 90, until condition: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(seconds)
        var items = try listing(library)
        while !condition(items) && Date() < deadline {
            usleep(500_000)
            items = try listing(library)
        }
        return items
    }

    func copy(_ sample: String, to path: URL) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: samples + "/" + sample, toPath: path.path)
    }

    /// A fresh watched folder and library; the folder's leaf name is `Holiday`.
    func makeWatch(mode: String) throws -> (root: URL, folder: URL, library: String) {
        let root = try TestEnvironment.makeTempDirectory("keepsake-daemon")
        let folder = root.appendingPathComponent("Holiday")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let library = root.appendingPathComponent("lib").path
        let added = try Keepsake.run(["watch", "add", folder.path, "--mode", mode, "--library", library])
        #expect(added.status == 0, "\(added.stderrText)")
        return (root, folder.resolvingSymlinksInPath(), library)
    }

    @Test(arguments: ["single", "separate"])
    func theLibraryFollowsTheFolder(mode: String) throws {
        let (root, folder, library) = try makeWatch(mode: mode)
        let listed = try Keepsake.run(["watch", "list", "--library", library])
        #expect(listed.stdoutText.contains(folder.path) && listed.stdoutText.contains(mode))
        // There before the daemon starts: found by its rescan.
        try copy("cameras/osxphotos__Pumkins1.jpg", to: folder.appendingPathComponent("before.jpg"))
        let daemon = try RunningDaemon(library: library, folder: root)

        try copy("cameras/osxphotos__wedding.jpg", to: folder.appendingPathComponent("trip/wedding.jpg"))
        try copy("android/androidx-media__london.jpg", to: folder.appendingPathComponent("trip/day 2/deep/london.jpg"))
        try copy("cameras/osxphotos__Tulips.jpg", to: folder.appendingPathComponent("edit.jpg"))
        // Written slowly: it must not be taken before it is complete.
        let slow = folder.appendingPathComponent("slow.jpg")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: samples + "/iphone/androidx-media__tokyo.jpg"))
        _ = FileManager.default.createFile(atPath: slow.path, contents: nil)
        let handle = try FileHandle(forWritingTo: slow)
        for chunk in stride(from: 0, to: bytes.count, by: bytes.count / 4 + 1) {
            handle.write(bytes[chunk..<min(chunk + bytes.count / 4 + 1, bytes.count)])
            usleep(400_000)
        }
        try handle.close()

        let landed = ["before.jpg", "trip/wedding.jpg", "trip/day 2/deep/london.jpg", "edit.jpg", "slow.jpg"].map { folder.path + "/" + $0 }
        var items = try waitForListing(library) { items in Set(items.flatMap(paths)).isSuperset(of: landed) }
        #expect(Set(items.flatMap(paths)) == Set(landed), "\(daemon.logText)")
        let slowItem = try #require(items.first { paths($0) == [slow.path] })
        #expect(slowItem["width"] as? Int != nil, "the slowly written file was taken whole")

        // Deleted, edited, and a folder that appears later.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("trip/wedding.jpg"))
        let edited = try FileHandle(forWritingTo: folder.appendingPathComponent("edit.jpg"))
        edited.seekToEndOfFile()
        edited.write(Data("an edit".utf8))
        try edited.close()
        try copy("cameras/osxphotos__badimage.jpeg", to: folder.appendingPathComponent("later/bad.jpeg"))
        let editPath = folder.path + "/edit.jpg"
        items = try waitForListing(library) { items in
            items.contains { paths($0) == [folder.path + "/trip/wedding.jpg"] && albums($0) == ["Uncategorized"] }
                && items.filter { paths($0) == [editPath] }.count == 2
                && items.contains { paths($0) == [folder.path + "/later/bad.jpeg"] }
        }
        #expect(daemon.terminate() == 0, "SIGTERM ends the daemon with status 0")

        func expectedAlbum(_ path: String) -> String {
            mode == "single" ? "Holiday" : URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
        }
        #expect(items.count == 7, "six files and the edited file's new version: \(items.map(paths))\n\(daemon.logText)")
        for item in items {
            let path = try #require(paths(item).first)
            if path.hasSuffix("wedding.jpg") {
                #expect(albums(item) == ["Uncategorized"], "the deleted file's item is kept, in Uncategorized")
            } else if path == editPath {
                continue
            } else {
                #expect(albums(item) == [expectedAlbum(path)], "\(path)")
            }
        }
        let versions = items.filter { paths($0) == [editPath] }
        let current = versions.filter { albums($0) == [expectedAlbum(editPath)] }
        #expect(current.count == 1, "the edited file's new version is in the album")
        #expect(versions.filter { albums($0) == ["Uncategorized"] }.count == 1, "its earlier version is kept, in Uncategorized")
        let hashes = items.map { (($0["originals"] as! [[String: Any]])[0]["blake2b"] as! String) }
        #expect(Set(hashes).count == hashes.count, "nothing stored twice")

        // The moves out of albums are in the store's journal: a new machine sees the same albums.
        let newMachine = root.appendingPathComponent("new-machine")
        try FileManager.default.createDirectory(at: newMachine, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: library + "/store", toPath: newMachine.path + "/store")
        func albumsById(_ items: [[String: Any]]) -> [String: [String]] {
            Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, albums($0)) })
        }
        #expect(albumsById(try listing(newMachine.path)) == albumsById(items))
    }

    @Test func ingestAndTheDaemonWaitForEachOtherInsteadOfFailing() throws {
        let (root, folder, library) = try makeWatch(mode: "single")
        let daemon = try RunningDaemon(library: library, folder: root)
        // This test process stands in for a writer in the middle of its work.
        let lock = open(library + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(flock(lock, LOCK_EX) == 0)
        let tulips = folder.appendingPathComponent("tulips.jpg")
        try copy("cameras/osxphotos__Tulips.jpg", to: tulips)
        let impatient = try Keepsake.run(["ingest", samples + "/android", "--library", library, "--lock-timeout", "1"])
        #expect(impatient.status == 3, "past its --lock-timeout, ingest gives up")
        // The daemon runs, but it is not the holder: ingest does not say it is.
        #expect(impatient.stderrText.contains("waiting for another process writing to the library to finish…"), "\(impatient.stderrText)")
        usleep(1_000_000)
        #expect(try listing(library).isEmpty, "the daemon has not written either")

        let ingest = Process()
        ingest.executableURL = URL(fileURLWithPath: Keepsake.binary)
        ingest.arguments = ["ingest", samples + "/android", "--library", library, "--lock-timeout", "60"]
        ingest.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
        ingest.standardOutput = FileHandle.nullDevice
        ingest.standardError = FileHandle.nullDevice
        try ingest.run()
        usleep(1_500_000)
        #expect(ingest.isRunning, "a patient ingest waits")
        flock(lock, LOCK_UN)
        close(lock)
        ingest.waitUntilExit()
        #expect(ingest.terminationStatus == 0)
        let items = try waitForListing(library) { $0.flatMap(paths).contains(tulips.path) }
        #expect(items.flatMap(paths).contains(tulips.path), "the daemon's batch went in after the lock was released\n\(daemon.logText)")
        #expect(items.count == 5, "four items from the ingest, one from the daemon")
        #expect(daemon.terminate() == 0)
    }

    /// The holder a library's lock file names, once it names one whose command contains `command`.
    func waitForLockHolder(_ library: String, command: String, seconds: Double = 60) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let record = (try? String(contentsOfFile: library + "/lock", encoding: .utf8)) ?? ""
            if record.contains(command) { return record }
            usleep(100_000)
        }
        return nil
    }

    /// An ingest that waits says for whom: another ingest (with its pid), or the daemon only when the daemon holds the lock.
    @Test func aWaitingIngestNamesTheHolderOfTheLock() throws {
        let (root, folder, library) = try makeWatch(mode: "single")
        defer { try? FileManager.default.removeItem(at: root) }
        let other = root.appendingPathComponent("other")
        try copy("cameras/osxphotos__Tulips.jpg", to: other.appendingPathComponent("tulips.jpg"))

        // An ingest whose worker hangs holds the lock for its --worker-timeout.
        let first = Process()
        first.executableURL = URL(fileURLWithPath: Keepsake.binary)
        first.arguments = ["ingest", other.path, "--library", library, "--worker-timeout", "6"]
        first.environment = ProcessInfo.processInfo.environment
            .merging(["KEEPSAKE_PASSPHRASE": "test passphrase", "KEEPSAKE_TEST_WORKER_HANG_ON": "tulips.jpg"]) { $1 }
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        let record = waitForLockHolder(library, command: "keepsake ingest")
        #expect(record == "\(first.processIdentifier) keepsake ingest\n", "\(record ?? "no holder recorded")")
        let waiting = try Keepsake.run(["ingest", samples + "/android", "--library", library, "--lock-timeout", "1"])
        #expect(waiting.status == 3)
        #expect(waiting.stderrText.contains("waiting for another keepsake ingest (pid \(first.processIdentifier)) to finish…"),
                "\(waiting.stderrText)")
        #expect(!waiting.stderrText.contains("waiting for the daemon"), "\(waiting.stderrText)")
        first.waitUntilExit()
        #expect(((try? String(contentsOfFile: library + "/lock", encoding: .utf8)) ?? "x").isEmpty, "released: no holder named")

        // The daemon, whose worker hangs on a new file, holds the lock for its batch.
        let daemon = try RunningDaemon(library: library, folder: root, arguments: ["--worker-timeout", "6"],
                                       environment: ["KEEPSAKE_TEST_WORKER_HANG_ON": "pumpkins.jpg"])
        try copy("cameras/osxphotos__Pumkins1.jpg", to: folder.appendingPathComponent("pumpkins.jpg"))
        let daemonRecord = waitForLockHolder(library, command: "keepsake daemon")
        #expect(daemonRecord == "\(daemon.process.processIdentifier) keepsake daemon\n", "\(daemonRecord ?? "no holder recorded")\n\(daemon.logText)")
        let waitingForDaemon = try Keepsake.run(["ingest", samples + "/android", "--library", library, "--lock-timeout", "1"])
        #expect(waitingForDaemon.status == 3)
        #expect(waitingForDaemon.stderrText.contains("waiting for the daemon (pid \(daemon.process.processIdentifier)) to finish its batch…"),
                "\(waitingForDaemon.stderrText)")
        #expect(daemon.terminate() == 0)
    }

    @Test(arguments: IngestEndToEndTests.workerFaults)
    func aWorkerThatCrashesOrHangsCostsOneFileWhichIsQuarantined(variable: String, reason: String) throws {
        let (root, folder, library) = try makeWatch(mode: "single")
        for name in ["osxphotos__Pumkins1.jpg", "osxphotos__badimage.jpeg", "osxphotos__Tulips.jpg"] {
            try copy("cameras/" + name, to: folder.appendingPathComponent(name))
        }
        let daemon = try RunningDaemon(library: library, folder: root, arguments: ["--worker-timeout", "2"],
                                       environment: [variable: "osxphotos__badimage.jpeg"])
        let bad = folder.path + "/osxphotos__badimage.jpeg"
        var status = ""
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            status = try Keepsake.run(["status", "--library", library]).stdoutText
            if status.contains("quarantined: 1 files") { break }
            usleep(500_000)
        }
        #expect(status.contains("quarantined: 1 files"), "\(status)\n\(daemon.logText)")
        #expect(status.contains("\(bad): \(reason)"), "\(status)")
        #expect(status.contains("daemon:   running"), "status reads the running daemon's state")
        let items = try waitForListing(library) { $0.count == 2 }
        #expect(Set(items.flatMap(paths)) == [folder.path + "/osxphotos__Pumkins1.jpg", folder.path + "/osxphotos__Tulips.jpg"])

        // The daemon goes on: a file landing now is ingested.
        try copy("android/androidx-media__london.jpg", to: folder.appendingPathComponent("london.jpg"))
        let after = try waitForListing(library) { $0.count == 3 }
        #expect(after.count == 3, "\(daemon.logText)")
        #expect(daemon.terminate() == 0)
        #expect(daemon.logText.contains("quarantined"))
    }

    /// When the kernel drops events (its queue is full), the daemon rescans, so a file whose events were lost is
    /// still taken. The daemon is stopped (SIGSTOP) while files made and deleted beside it fill the queue.
    @Test func whenTheKernelDropsEventsTheDaemonRescans() throws {
        let (root, folder, library) = try makeWatch(mode: "single")
        let daemon = try RunningDaemon(library: library, folder: root)
        let first = folder.appendingPathComponent("first.jpg"), second = folder.appendingPathComponent("second.jpg")
        try copy("cameras/osxphotos__Pumkins1.jpg", to: first)
        try waitForListing(library) { $0.flatMap(paths).contains(first.path) }

        #expect(kill(daemon.process.processIdentifier, SIGSTOP) == 0)
        let queued = Int((try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 16384
        // Three events each: created, closed after writing, deleted.
        for index in 0..<(queued / 3 + 100) {
            let noise = folder.appendingPathComponent("noise-\(index).txt").path
            close(open(noise, O_WRONLY | O_CREAT, 0o600))
            unlink(noise)
        }
        try copy("cameras/osxphotos__wedding.jpg", to: second)
        #expect(kill(daemon.process.processIdentifier, SIGCONT) == 0)

        let items = try waitForListing(library) { $0.flatMap(paths).contains(second.path) }
        #expect(Set(items.flatMap(paths)) == [first.path, second.path], "\(daemon.logText)")
        #expect(daemon.logText.contains("inotify dropped events; rescanning every watched folder"))
        #expect(daemon.terminate() == 0)
    }

    @Test func sigtermWhileAWorkerIsBusyExitsWithinSecondsAndTheRestartFinishes() throws {
        let (root, folder, library) = try makeWatch(mode: "single")
        let tulips = folder.appendingPathComponent("tulips.jpg")
        try copy("cameras/osxphotos__Tulips.jpg", to: tulips)
        let stuck = try RunningDaemon(library: library, folder: root, environment: ["KEEPSAKE_TEST_WORKER_HANG_ON": "tulips.jpg"])
        let deadline = Date().addingTimeInterval(60)
        var inFlight: [String] = []
        while Date() < deadline && inFlight.isEmpty {
            usleep(100_000)
            let state = FileManager.default.contents(atPath: library + "/daemon-state.json")
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            inFlight = state?["inFlight"] as? [String] ?? []
        }
        #expect(inFlight == [tulips.path], "status sees the file in flight")
        let start = Date()
        #expect(stuck.terminate(within: 20) == 0, "\(stuck.logText)")
        #expect(Date().timeIntervalSince(start) < 10, "the busy file is abandoned after a grace period")
        #expect(!FileManager.default.fileExists(atPath: library + "/daemon-state.json"))

        let restarted = try RunningDaemon(library: library, folder: root)
        let items = try waitForListing(library) { $0.flatMap(paths) == [tulips.path] }
        #expect(items.flatMap(paths) == [tulips.path], "\(restarted.logText)")
        #expect(restarted.terminate() == 0)
        let status = try Keepsake.run(["status", "--library", library]).stdoutText
        #expect(status.contains("failed:   0 files") && !status.contains("quarantined"), "\(status)")
    }

    @Test func aDaemonKilledMidBatchConvergesOnRestart() throws {
        let (root, folder, library) = try makeWatch(mode: "separate")
        try FileManager.default.removeItem(at: folder)
        try FileManager.default.copyItem(atPath: samples, toPath: folder.path)
        let statePath = library + "/daemon-state.json"
        let first = try RunningDaemon(library: library, folder: root)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !((try? String(contentsOfFile: statePath, encoding: .utf8))?.contains("lastBatch") ?? false) {
            usleep(20_000)
        }
        usleep(UInt32.random(in: 100_000...600_000))
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let committedBeforeRestart = try listing(library).count

        let second = try RunningDaemon(library: library, folder: root)
        let expected = FileManager.default.enumerator(atPath: folder.path)!.compactMap { $0 as? String }
            .map { folder.path + "/" + $0 }
            .filter { var isFolder: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder) && !isFolder.boolValue }
        let items = try waitForListing(library) { Set($0.flatMap(paths)) == Set(expected) }
        #expect(second.terminate() == 0, "the daemon must stop on SIGTERM\n\(second.logText)")
        #expect(items.flatMap(paths).sorted() == expected.sorted(),
                "every file ingested exactly once (\(committedBeforeRestart) items were in before the restart)\n\(second.logText)")
        let verify = try Keepsake.run(["verify", "--read-data", "--grace", "0", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)")
        #expect(!verify.stdoutText.contains("orphan"), "\(verify.stdoutText)")
    }
}
