import Foundation
import KeepsakeCrypto
import Store
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The binary against a real S3-compatible server (moto on loopback), checked from outside with the AWS CLI.
@Suite(.serialized) struct S3EndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func run(_ arguments: [String], store: String, endpoint: String, library: String) throws -> ProcessResult {
        try Keepsake.run(arguments + ["--library", library, "--store", store, "--s3-endpoint", endpoint],
                         environment: MotoServer.environment)
    }

    @Test func ingestIntoABucketThenRecoverOnANewMachine() throws {
        let moto = try MotoServer.shared()
        let bucket = "keepsake-e2e-\(ObjectID.random().hex.prefix(8))"
        let store = "s3://\(bucket)/photos/keepsake"
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path

        let ingest = try run(["ingest", samples, "--album-per-folder"], store: store, endpoint: moto.endpoint, library: library)
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: Library.storePath(library: library)), "no local store beside an S3 one")

        // From outside: only random names (and the log's times, writer ids and sequence numbers) under the prefix.
        let listing = try moto.aws(["s3", "ls", "s3://\(bucket)/photos/keepsake/", "--recursive"])
        #expect(listing.status == 0, "\(listing.stderrText)")
        let keys = listing.stdoutText.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(keys.contains("photos/keepsake/keys/master") && keys.contains("photos/keepsake/keys/identity"))
        #expect(keys.filter { $0.hasPrefix("photos/keepsake/data/") }.count >= 3)
        for key in keys where key != "photos/keepsake/keys/master" && key != "photos/keepsake/keys/identity" {
            #expect(key.wholeMatch(of: /photos\/keepsake\/((data|items)\/[0-9a-f]{32}|log\/[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{16}|checkpoints\/[0-9a-f]{16}-[0-9a-f]{16}\.[0-9a-f]{4}-[0-9a-f]{4})/) != nil, "\(key)")
        }

        // One original fetched with the AWS CLI decrypts to the file that was ingested.
        let location = StoreLocation.s3(try S3Configuration(url: store, endpoint: moto.endpoint, environment: MotoServer.environment))
        let opened = try Library.open(at: library, store: location, passphrase: "test passphrase", create: false)
        let item = try #require(try opened.index.items().first { $0.type == .image })
        let original = try #require(try opened.index.originals(of: item.id).first)
        let download = try TestEnvironment.makeTempDirectory().appendingPathComponent("object").path
        let copy = try moto.aws(["s3", "cp", "s3://\(bucket)/photos/keepsake/\(original.objectName)", download])
        #expect(copy.status == 0, "\(copy.stderrText)")
        var plain = [UInt8]()
        let opener = try OpeningStream(key: try opened.fileKey(of: item.id)) { plain.append(contentsOf: $0) }
        try opener.write(Array(try Data(contentsOf: URL(fileURLWithPath: download))))
        try opener.finish()
        #expect(plain == Array(try Data(contentsOf: URL(fileURLWithPath: original.sourcePath.description))))

        // A new machine: nothing but the store and the passphrase.
        let before = try Keepsake.run(["ls", "--json", "--library", library], environment: MotoServer.environment.merging(
            ["KEEPSAKE_STORE": store, "AWS_ENDPOINT_URL": moto.endpoint]) { $1 })
        #expect(before.status == 0, "\(before.stderrText)")
        try FileManager.default.removeItem(atPath: library)
        let newMachine = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let after = try run(["ls", "--json"], store: store, endpoint: moto.endpoint, library: newMachine)
        #expect(after.status == 0, "\(after.stderrText)")
        #expect(after.stdoutText == before.stdoutText)
        #expect(after.stdoutText.split(separator: "\n").count >= 3)
        let verify = try run(["verify", "--read-data", "--grace", "0"], store: store, endpoint: moto.endpoint, library: newMachine)
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        #expect(!verify.stdoutText.contains("orphan"), "\(verify.stdoutText)")
        let again = try run(["ingest", samples, "--album-per-folder", "--json"], store: store, endpoint: moto.endpoint, library: newMachine)
        #expect(again.status == 0, "\(again.stderrText)")
        let summary = try JSONSerialization.jsonObject(with: Data(again.stdoutText.split(separator: "\n").last!.utf8)) as! [String: Any]
        #expect(summary["bytesStored"] as? Int == 0, "everything is a duplicate on the new machine: \(again.stdoutText)")
    }

    @Test func anUnreachableOrRefusingStoreOrAMissingLibraryIsExitStatusThree() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let unreachable = try run(["ls"], store: "s3://bucket/x", endpoint: "http://127.0.0.1:1", library: library)
        #expect(unreachable.status == 3)
        #expect(unreachable.stderrText.contains("unreachable"), "\(unreachable.stderrText)")

        let moto = try MotoServer.shared()
        let missing = try run(["ls"], store: "s3://keepsake-e2e-none/x", endpoint: moto.endpoint, library: library)
        #expect(missing.status == 3)
        #expect(missing.stderrText.contains("s3://keepsake-e2e-none/x is not a Keepsake library"), "\(missing.stderrText)")

        let refused = try run(["ingest", samples], store: "s3://keepsake-e2e/x", endpoint: try MotoServer.refusingEveryKey().endpoint,
                              library: library)
        #expect(refused.status == 3)
        #expect(refused.stderrText.contains("HTTP 403 (check AWS_ACCESS_KEY_ID"), "\(refused.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: library + "/index.sqlite"))

        let noCredentials = try Keepsake.run(["ls", "--library", library, "--store", "s3://bucket/x"],
                                             environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        #expect(noCredentials.status == 2)
        #expect(noCredentials.stderrText.contains("AWS_ACCESS_KEY_ID"))
    }

    /// `count` distinct photos: one JPEG with a different tail each (decoders stop at its end marker).
    func distinctPhotos(_ count: Int) throws -> String {
        let folder = try TestEnvironment.makeTempDirectory().appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: TestEnvironment.samples.appendingPathComponent("media/android/androidx-media__london.jpg"))
        for index in 0..<count {
            try (jpeg + Data("copy \(index)".utf8)).write(to: folder.appendingPathComponent(String(format: "photo-%03d.jpg", index)))
        }
        return folder.path
    }

    @Test func theServerStallingDuringAnIngestEndsTheRunWithinNinetySecondsAndTheNextRunResumes() throws {
        let moto = try MotoServer.dedicated()
        defer { moto.terminate() }
        let photos = try distinctPhotos(40)
        let store = "s3://keepsake-e2e-stall/x"
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Keepsake.binary)
        process.arguments = ["ingest", photos, "--json", "--jobs", "2", "--library", library, "--store", store, "--s3-endpoint", moto.endpoint]
        process.environment = ProcessInfo.processInfo.environment.merging(MotoServer.environment) { $1 }
            .merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let stdout = Mutex(Data()), stderr = Mutex(Data())
        let stalled = Mutex<ContinuousClock.Instant?>(nil)
        out.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            stdout.withLock { $0.append(chunk) }
            // The first file stored: the run is under way; the server stalls from now on.
            stalled.withLock { instant in
                if instant == nil, !chunk.isEmpty {
                    moto.suspend()
                    instant = .now
                }
            }
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            stderr.withLock { $0.append(chunk) }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(240)
        while process.isRunning && ContinuousClock.now < deadline { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let ended = ContinuousClock.now
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        let lines = String(decoding: stdout.withLock { $0 } + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n")
        let errors = String(decoding: stderr.withLock { $0 } + err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)

        let stalledAt = try #require(stalled.withLock { $0 }, "the run printed nothing before it ended: \(errors)")
        #expect(process.terminationStatus == 3, "\(lines.joined(separator: "\n"))\n\(errors)")
        #expect(ended - stalledAt < .seconds(90), "the run ended \(ended - stalledAt) after the server stalled")
        #expect(errors.contains(moto.endpoint), "\(errors)")
        #expect(errors.contains("the next run") || errors.contains("resumes"), "\(errors)")
        #expect(errors.components(separatedBy: "keepsake: ").count == 2, "one message: \(errors)")
        let outcomes = lines.filter { !$0.contains("\"summary\"") }
        print("the run ended \(ended - stalledAt) after the server stalled, with \(outcomes.count) of 40 files stored; it said: \(errors)")
        #expect(outcomes.count < 40, "the server stalled before the last file: \(outcomes.count) outcomes")
        #expect(!outcomes.contains { $0.contains("\"failed\"") }, "no file failed for the store's outage: \(outcomes)")

        moto.resume()
        let again = try run(["ingest", photos], store: store, endpoint: moto.endpoint, library: library)
        #expect(again.status == 0, "\(again.stdoutText)\(again.stderrText)")
        let listed = try run(["ls", "--json"], store: store, endpoint: moto.endpoint, library: library)
        #expect(listed.status == 0, "\(listed.stderrText)")
        let paths = listed.stdoutText.split(separator: "\n")
        #expect(paths.count == 40, "every file exactly once: \(listed.stdoutText)")
        let verify = try run(["verify", "--read-data"], store: store, endpoint: moto.endpoint, library: library)
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        #expect(!verify.stdoutText.contains("orphan"), "\(verify.stdoutText)")
    }

    @Test func aServerStalledOrKilledBeforeTheRunEndsItAtOnceNamingTheEndpoint() throws {
        let moto = try MotoServer.dedicated()
        defer { moto.terminate() }
        let photos = try distinctPhotos(2)
        let store = "s3://keepsake-e2e-down/x"
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let first = try run(["ingest", photos], store: store, endpoint: moto.endpoint, library: library)
        #expect(first.status == 0, "\(first.stdoutText)\(first.stderrText)")

        moto.suspend()
        var start = ContinuousClock.now
        let stalled = try run(["ingest", photos], store: store, endpoint: moto.endpoint, library: library)
        #expect(stalled.status == 3, "\(stalled.stdoutText)\(stalled.stderrText)")
        #expect(ContinuousClock.now - start < .seconds(20), "a stalled server is given up on after \(ContinuousClock.now - start)")
        #expect(stalled.stderrText.contains("S3 endpoint \(moto.endpoint) unreachable"), "\(stalled.stderrText)")

        moto.terminate()
        start = ContinuousClock.now
        let killed = try run(["ingest", photos], store: store, endpoint: moto.endpoint, library: library)
        #expect(killed.status == 3, "\(killed.stdoutText)\(killed.stderrText)")
        #expect(ContinuousClock.now - start < .seconds(15), "a dead server is given up on after \(ContinuousClock.now - start)")
        #expect(killed.stderrText.contains("S3 endpoint \(moto.endpoint) unreachable"), "\(killed.stderrText)")
    }

    @Test func theDaemonWaitsForAStalledStoreInsteadOfExitingAndThenTakesTheFiles() throws {
        let moto = try MotoServer.dedicated()
        defer { moto.terminate() }
        let store = "s3://keepsake-e2e-daemon/x"
        let photos = try distinctPhotos(3)
        let root = try TestEnvironment.makeTempDirectory()
        let folder = root.appendingPathComponent("Holiday")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let library = root.appendingPathComponent("lib").path
        let first = try run(["ingest", photos + "/photo-000.jpg"], store: store, endpoint: moto.endpoint, library: library)
        #expect(first.status == 0, "\(first.stdoutText)\(first.stderrText)")
        let watch = try run(["watch", "add", folder.path], store: store, endpoint: moto.endpoint, library: library)
        #expect(watch.status == 0, "\(watch.stderrText)")
        let daemon = try DaemonTests.RunningDaemon(library: library, folder: root, arguments: ["--store", store, "--s3-endpoint", moto.endpoint],
                                                   environment: MotoServer.environment)
        func waitForLog(_ text: String, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !daemon.logText.contains(text) && Date() < deadline && daemon.process.isRunning { usleep(200_000) }
            return daemon.logText.contains(text)
        }
        #expect(waitForLog("watching", seconds: 30), "\(daemon.logText)")

        moto.suspend()
        for name in ["photo-001.jpg", "photo-002.jpg"] {
            try FileManager.default.copyItem(atPath: photos + "/" + name, toPath: folder.appendingPathComponent(name).path)
        }
        #expect(waitForLog("waiting for the store", seconds: 120), "\(daemon.logText)")
        #expect(daemon.process.isRunning, "the daemon did not exit: \(daemon.logText)")
        moto.resume()
        #expect(waitForLog("the store is usable again", seconds: 120), "\(daemon.logText)")
        let listed = try run(["ls", "--json"], store: store, endpoint: moto.endpoint, library: library)
        #expect(listed.stdoutText.split(separator: "\n").count == 3, "\(listed.stdoutText)\(listed.stderrText)")
        #expect(daemon.terminate() == 0, "\(daemon.logText)")
        #expect(daemon.logText.components(separatedBy: "waiting for the store").count == 2, "said once: \(daemon.logText)")
    }
}
