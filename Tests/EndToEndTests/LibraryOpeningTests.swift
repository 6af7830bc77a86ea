import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Store
import Synchronization
import Testing
import TestSupport

/// Opening, creating and repairing a library never loses data: concurrent creators, a damaged or foreign index,
/// a hostile key file, readers during a first ingest, repair against a shared store.
@Suite(.serialized) struct LibraryOpeningTests {
    static let media = TestEnvironment.samples.appendingPathComponent("media").path
    /// Small, distinct photos: one per folder in the concurrency tests.
    static let photos = ["android/androidx-media__london.jpg", "iphone/androidx-media__tokyo.jpg",
                         "cameras/osxphotos__Tulips.jpg", "cameras/osxphotos__wedding.jpg"].map { media + "/" + $0 }

    /// Folders holding one photo each (symlinks would be followed as links: copies).
    func folders(_ count: Int) throws -> [String] {
        let root = try TestEnvironment.makeTempDirectory("inputs")
        return try (0..<count).map { index in
            let folder = root.appendingPathComponent("in\(index)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.photos[index], toPath: folder.appendingPathComponent("photo.jpg").path)
            return folder.path
        }
    }

    func itemCount(_ library: String, environment: [String: String] = [:]) throws -> Int {
        let list = try Keepsake.run(["ls", "--json", "--library", library], environment: environment)
        #expect(list.status == 0, "\(list.stderrText)")
        return list.stdoutText.split(separator: "\n").count
    }

    /// Every file under the store folder, by path.
    func storeFiles(_ library: String) -> Set<String> {
        let store = Library.storePath(library: library)
        return Set(FileManager.default.enumerator(atPath: store)!.compactMap { $0 as? String }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: store + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && !path.hasPrefix("tmp/")
        })
    }

    // MARK: Concurrent creation

    @Test(arguments: [2, 4]) func concurrentFirstIngestsMakeOneLibraryWithEveryFile(_ writers: Int) throws {
        let inputs = try folders(writers)
        for attempt in 1...20 {
            let library = try TestEnvironment.makeTempDirectory("race").appendingPathComponent("lib").path
            let statuses = Mutex<[Int32]>([])
            DispatchQueue.concurrentPerform(iterations: writers) { index in
                let result = try? Keepsake.run(["ingest", inputs[index], "--library", library, "--no-streams", "--jobs", "1"])
                statuses.withLock { $0.append(result?.status ?? -1) }
            }
            #expect(statuses.withLock { $0 } == Array(repeating: 0, count: writers), "attempt \(attempt)")
            #expect(try itemCount(library) == writers, "attempt \(attempt)")
            let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
            #expect(verify.status == 0, "attempt \(attempt): \(verify.stdoutText)")
            #expect(verify.stdoutText.contains("no problems found"))
            try? FileManager.default.removeItem(atPath: (library as NSString).deletingLastPathComponent)
        }
    }

    // MARK: A damaged or foreign index

    enum Damage: String, CaseIterable, Sendable { case empty, truncated, garbage, foreign }

    @Test(arguments: Damage.allCases) func anIndexThatIsNotThisLibrarysIsMovedAsideAndRebuilt(_ damage: Damage) throws {
        let library = try TestEnvironment.makeTempDirectory("damaged").appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", Self.photos[0], Self.photos[1], "--library", library, "--album", "Trip"]).status == 0)
        let before = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(before.stdoutText.split(separator: "\n").count == 2)
        let objects = storeFiles(library)
        let indexPath = library + "/index.sqlite"
        let pristine = try Data(contentsOf: URL(fileURLWithPath: indexPath))

        switch damage {
        case .empty: try Data().write(to: URL(fileURLWithPath: indexPath))
        case .truncated: try pristine.prefix(pristine.count / 2).write(to: URL(fileURLWithPath: indexPath))
        case .garbage: try Data((0..<pristine.count).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: indexPath))
        case .foreign:
            let other = try TestEnvironment.makeTempDirectory("other").appendingPathComponent("lib").path
            #expect(try Keepsake.run(["ingest", Self.photos[2], "--library", other]).status == 0)
            try FileManager.default.removeItem(atPath: indexPath)
            try FileManager.default.copyItem(atPath: other + "/index.sqlite", toPath: indexPath)
        }

        let after = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(after.status == 0, "\(after.stderrText)")
        #expect(after.stdoutText == before.stdoutText)
        #expect(after.stderrText.contains("rebuilding the index from the store"), "\(after.stderrText)")
        let aside = try FileManager.default.contentsOfDirectory(atPath: library).filter { $0.hasPrefix("index.sqlite.damaged-") }
        #expect(aside.count == 1, "the bad index is kept: \(aside)")
        // Said once: the rebuilt index is sound.
        let again = try Keepsake.run(["ls", "--library", library])
        #expect(again.stderrText.isEmpty, "\(again.stderrText)")

        let repair = try Keepsake.run(["verify", "--read-data", "--repair", "--grace", "0", "--library", library])
        #expect(repair.status == 0, "\(repair.stdoutText)")
        #expect(!repair.stdoutText.contains("orphan"), "\(repair.stdoutText)")
        #expect(storeFiles(library) == objects, "the store keeps every object")
    }

    @Test func repairRemovesOnlyOldObjectsNoEntryNamesAndNothingWhileAnEntryIsUnreadable() throws {
        let library = try TestEnvironment.makeTempDirectory("grace").appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", Self.photos[0], "--library", library]).status == 0)
        let store = Library.storePath(library: library)
        let young = "data/ab/ab" + String(repeating: "0", count: 30), old = "data/cd/cd" + String(repeating: "0", count: 30)
        for path in [young, old] {
            try FileManager.default.createDirectory(atPath: store + "/" + (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: store + "/" + path))
        }
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86400)
        try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: store + "/" + old)
        let junkEntry = store + "/index/" + String(repeating: "e", count: 32)
        try Data(repeating: 1, count: 100).write(to: URL(fileURLWithPath: junkEntry))

        let blocked = try Keepsake.run(["verify", "--repair", "--library", library])
        #expect(blocked.status == 1, "the unreadable entry is a problem: \(blocked.stdoutText)")
        #expect(blocked.stdoutText.contains("journal entry cannot be read (kept)"))
        #expect(blocked.stdoutText.contains("not removing orphans"))
        #expect(FileManager.default.fileExists(atPath: junkEntry) && FileManager.default.fileExists(atPath: store + "/" + old))

        try FileManager.default.removeItem(atPath: junkEntry)
        let repair = try Keepsake.run(["verify", "--repair", "--library", library])
        #expect(repair.status == 0, "\(repair.stdoutText)")
        #expect(repair.stdoutText.contains("removed 1 orphaned objects"), "\(repair.stdoutText)")
        #expect(!FileManager.default.fileExists(atPath: store + "/" + old))
        #expect(FileManager.default.fileExists(atPath: store + "/" + young), "younger than the grace period: kept")
        #expect(try Keepsake.run(["verify", "--read-data", "--library", library]).status == 0)
    }

    /// Two folders on one S3 prefix, each with items the other's index did not hold when it last synced (the second
    /// folder commits after the first one's last command, and its last item is named by its record alone, as when it
    /// is killed between the record and the log entry): a repair on either, with no grace period, removes the one
    /// object nothing names and nothing either folder committed.
    @Test func repairOnEitherOfTwoFoldersSharingAnS3StoreDeletesNothingTheOtherCommitted() throws {
        let moto = try MotoServer.shared()
        let url = "s3://keepsake-shared-\(UUID().uuidString.prefix(8).lowercased())/lib"
        let environment = MotoServer.environment.merging(["KEEPSAKE_STORE": url, "AWS_ENDPOINT_URL": moto.endpoint]) { $1 }
        let store = S3Store(configuration: try S3Configuration(url: url, endpoint: moto.endpoint, environment: MotoServer.environment))
        let root = try TestEnvironment.makeTempDirectory("shared")
        let (a, b, c) = (root.appendingPathComponent("a").path, root.appendingPathComponent("b").path, root.appendingPathComponent("c").path)
        #expect(try Keepsake.run(["ingest", Self.photos[0], "--library", a], environment: environment).status == 0)
        #expect(try Keepsake.run(["ingest", Self.photos[1], "--library", b], environment: environment).status == 0)
        // a's last sync; then b commits two more items and a third, a video with every kind of object.
        #expect(try itemCount(a, environment: environment) == 2)
        #expect(try Keepsake.run(["ingest", Self.photos[2], Self.photos[3], "--library", b], environment: environment).status == 0)
        #expect(try Keepsake.run(["ingest", Self.media + "/android/androidx-media__sample_sef_slow_motion.mp4", "--library", b],
                                 environment: environment).status == 0)
        // The video's entry is gone: only its record names its objects, so a's index never learns of it.
        let videoEntry = try #require(try store.list(prefix: LogEntryName.prefix).compactMap(LogEntryName.init).max())
        try store.delete(videoEntry.objectName)
        #expect(try itemCount(a, environment: environment) == 4)
        let committed = try store.list(prefix: "data/")
        // One object no entry, record or checkpoint names: the repair is real, and finds exactly that one.
        let orphan = ObjectName.randomData()
        try store.put(orphan, bytes: Array(repeating: 7, count: 100))

        let repairA = try Keepsake.run(["verify", "--repair", "--grace", "0", "--library", a], environment: environment)
        #expect(repairA.status == 0 && repairA.stdoutText.contains("removed 1 orphaned objects"), "\(repairA.stdoutText)\(repairA.stderrText)")
        #expect(Set(try store.list(prefix: "data/")) == Set(committed), "every committed object is kept, the orphan is gone")
        // b applied the entry the store lost: it says so, and removes nothing.
        let repairB = try Keepsake.run(["verify", "--repair", "--grace", "0", "--library", b], environment: environment)
        #expect(repairB.stdoutText.contains("applied here, are missing from the store") && !repairB.stdoutText.contains("removed"),
                "\(repairB.stdoutText)\(repairB.stderrText)")
        #expect(Set(try store.list(prefix: "data/")) == Set(committed))
        #expect(try itemCount(c, environment: environment) == 5, "a fresh folder rebuilds both sets")
        let verify = try Keepsake.run(["verify", "--read-data", "--library", c], environment: environment)
        #expect(verify.status == 0 && verify.stdoutText.contains("no problems found"), "\(verify.stdoutText)")
    }

    // MARK: Hostile key files

    enum KeyFileDamage: String, CaseIterable, Sendable { case endless, hugeOpsLimit, hugeMemLimit, newerVersion, shortWrappedKey }

    @Test(arguments: KeyFileDamage.allCases) func aHostileKeyFileIsRefusedAtOnce(_ damage: KeyFileDamage) throws {
        let library = try TestEnvironment.makeTempDirectory("keyfile").appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", Self.photos[0], "--library", library]).status == 0)
        let keyFile = Library.storePath(library: library) + "/keys/master"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: keyFile))) as! [String: Any]
        var kdf = json["kdf"] as! [String: Any]
        switch damage {
        case .endless:
            try FileManager.default.removeItem(atPath: keyFile)
            try FileManager.default.createSymbolicLink(atPath: keyFile, withDestinationPath: "/dev/zero")
        case .hugeOpsLimit: kdf["opsLimit"] = 4_294_967_295
        case .hugeMemLimit: kdf["memLimit"] = 1 << 50
        case .newerVersion: json["version"] = 9
        // The wrapped key is `masterKey` from format 2 on (`wrappedMasterKey` in format 1).
        case .shortWrappedKey: json[json["version"] as? Int == 1 ? "wrappedMasterKey" : "masterKey"] = [1, 2, 3]
        }
        if damage != .endless {
            json["kdf"] = kdf
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: keyFile))
        }
        let started = ContinuousClock.now
        let result = try runProcess("timeout", ["-s", "KILL", "60", Keepsake.binary, "ls", "--library", library],
                                    environment: ["KEEPSAKE_PASSPHRASE": "test passphrase"])
        #expect(result.status == 3, "\(result.stderrText)")
        #expect(result.stderrText.contains("the library's key file is damaged"), "\(result.stderrText)")
        if damage == .newerVersion { #expect(result.stderrText.contains("newer keepsake")) }
        #expect(ContinuousClock.now - started < .seconds(10), "refused at once, before any key derivation")
    }

    // MARK: Readers during a first ingest, and the index's mode

    @Test func lsDuringTheFirstIngestAlwaysSeesALibrary() throws {
        let library = try TestEnvironment.makeTempDirectory("reader").appendingPathComponent("lib").path
        let ingest = Process()
        ingest.executableURL = URL(fileURLWithPath: Keepsake.binary)
        ingest.arguments = ["ingest", Self.media + "/cameras", "--library", library, "--no-streams", "--jobs", "1"]
        ingest.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
        ingest.standardOutput = FileHandle.nullDevice
        ingest.standardError = FileHandle.nullDevice
        try ingest.run()
        // From the moment the library folder exists, a reader must see a library (maybe empty).
        while !FileManager.default.fileExists(atPath: library) && ingest.isRunning { usleep(1_000) }
        #expect(ingest.isRunning, "the readers start while the first ingest runs")
        var runs = 0
        while ingest.isRunning || runs < 3 {
            let list = try Keepsake.run(["ls", "--library", library])
            #expect(list.status == 0, "run \(runs): \(list.stderrText)")
            runs += 1
        }
        ingest.waitUntilExit()
        #expect(ingest.terminationStatus == 0)
        #expect(try itemCount(library) == 4)
        #expect(try Keepsake.run(["verify", "--read-data", "--library", library]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: library).filter { $0.contains("damaged") }.isEmpty)
    }

    @Test func theIndexAndItsWALAreReadableByTheOwnerAlone() throws {
        let library = try TestEnvironment.makeTempDirectory("mode").appendingPathComponent("lib").path
        #expect(try Keepsake.run(["ingest", Self.photos[0], "--library", library]).status == 0)
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        _ = try opened.index.items()
        for suffix in ["", "-wal", "-shm"] {
            var info = stat()
            #expect(stat(library + "/index.sqlite" + suffix, &info) == 0, "index.sqlite\(suffix) exists while open")
            #expect(info.st_mode & 0o777 == 0o600, "index.sqlite\(suffix): \(String(info.st_mode & 0o777, radix: 8))")
        }
    }
}
