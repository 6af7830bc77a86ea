import Foundation
import Store
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Several library folders ("machines") on one S3 store (moto on loopback): what one stores or edits, the others
/// see after a sync, and they converge on the same library (issue 15).
@Suite(.serialized) struct SyncEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    struct Machines {
        let root: URL
        let store: String
        let endpoint: String

        func library(_ name: String) -> String { root.appendingPathComponent(name).path }

        func run(_ arguments: [String], on machine: String) throws -> ProcessResult {
            try Keepsake.run(arguments + ["--library", library(machine), "--store", store, "--s3-endpoint", endpoint],
                             environment: MotoServer.environment)
        }

        /// `ls --json` lines, sorted: equal on two machines when they hold the same library.
        func listing(_ machine: String) throws -> [String] {
            let result = try run(["ls", "--json"], on: machine)
            #expect(result.status == 0, "\(result.stderrText)")
            return result.stdoutText.split(separator: "\n").map(String.init).sorted()
        }
    }

    func machines(_ moto: MotoServer) throws -> Machines {
        Machines(root: try TestEnvironment.makeTempDirectory("keepsake-sync"), store: "s3://keepsake-sync-\(ObjectID.random().hex.prefix(8))/lib",
                 endpoint: moto.endpoint)
    }

    func folder(_ root: URL, _ name: String, files: [String]) throws -> String {
        let folder = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in files {
            try FileManager.default.copyItem(atPath: samples + "/" + file, toPath: folder.appendingPathComponent((file as NSString).lastPathComponent).path)
        }
        return folder.path
    }

    func ids(_ listing: [String]) -> [String] {
        listing.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String }
    }

    @Test func threeFoldersOnOneStoreConvergeAndRepairDeletesNothingReferenced() throws {
        let moto = try MotoServer.shared()
        let m = try machines(moto)
        let first = try folder(m.root, "trip", files: ["iphone/androidx-media__tokyo.jpg", "cameras/osxphotos__Tulips.jpg"])
        let second = try folder(m.root, "home", files: ["android/androidx-media__london.jpg", "cameras/osxphotos__wedding.jpg",
                                                        "iphone/androidx-media__tokyo.jpg"])
        #expect(try m.run(["ingest", first, "--album", "Trip"], on: "a").status == 0)
        // B is made after A's first ingest; from then on each only sees the other by syncing.
        #expect(try m.run(["ingest", second, "--album", "Home"], on: "b").status == 0)
        let more = try folder(m.root, "more", files: ["cameras/osxphotos__Pumkins1.jpg"])
        #expect(try m.run(["ingest", more, "--album", "Trip"], on: "a").status == 0)
        // Deletions on both, of an item each stored, and of one the other stored.
        let onA = try m.listing("a")
        let tulips = try #require(ids(onA.filter { $0.contains("Tulips") }).first)
        #expect(try m.run(["rm", tulips], on: "b").status == 0, "B sees A's item without an explicit sync")
        let london = try #require(ids(try m.listing("b").filter { $0.contains("london") }).first)
        #expect(try m.run(["rm", london], on: "a").status == 0)

        // Album edits interleaved on both: a rename on A while B adds to the same album and makes one of its own.
        let pumpkins = try #require(ids(try m.listing("b").filter { $0.contains("Pumkins") }).first)
        let tokyo = try #require(ids(try m.listing("b").filter { $0.contains("tokyo") }).first)
        #expect(try m.run(["album", "rename", "Trip", "Journey"], on: "a").status == 0)
        #expect(try m.run(["album", "add", "Home", pumpkins], on: "b").status == 0)
        #expect(try m.run(["album", "create", "Favourites"], on: "b").status == 0)
        #expect(try m.run(["album", "add", "Favourites", tokyo], on: "b").status == 0)
        #expect(try m.run(["album", "remove", "Journey", pumpkins], on: "a").status == 0)

        for machine in ["a", "b"] {
            let sync = try m.run(["sync"], on: machine)
            #expect(sync.status == 0, "\(sync.stdoutText)\(sync.stderrText)")
        }
        let a = try m.listing("a"), b = try m.listing("b"), c = try m.listing("c-new-machine")
        #expect(a == b)
        #expect(a == c, "a fresh folder rebuilds the same library")
        #expect(a.count == 3, "tokyo (in both albums), wedding, pumpkins: \(a)")
        let tokyoLine = a.first { $0.contains("tokyo") } ?? ""
        #expect(tokyoLine.contains("Home") && tokyoLine.contains("Journey") && tokyoLine.contains("Favourites"), "\(a)")
        let pumpkinsLine = a.first { $0.contains("Pumkins") } ?? ""
        #expect(pumpkinsLine.contains("Home") && !pumpkinsLine.contains("Journey") && !pumpkinsLine.contains("Trip"), "\(a)")
        for machine in ["a", "b", "c-new-machine"] {
            let verify = try m.run(["verify", "--read-data"], on: machine)
            #expect(verify.status == 0, "\(machine): \(verify.stdoutText)\(verify.stderrText)")
        }
        // A repair on A deletes nothing B or C can still name: their verify stays clean and export is bit-exact.
        let repair = try m.run(["verify", "--read-data", "--repair", "--grace", "0"], on: "a")
        #expect(repair.status == 0, "\(repair.stdoutText)\(repair.stderrText)")
        for machine in ["b", "c-new-machine"] {
            let verify = try m.run(["verify", "--read-data"], on: machine)
            #expect(verify.status == 0, "\(machine) after A's repair: \(verify.stdoutText)\(verify.stderrText)")
        }
        let out = m.root.appendingPathComponent("out").path
        #expect(try m.run(["export", "--to", out], on: "b").status == 0)
        #expect(FileManager.default.contentsEqual(atPath: first + "/androidx-media__tokyo.jpg", andPath: out + "/Home/androidx-media__tokyo.jpg")
                || FileManager.default.contentsEqual(atPath: first + "/androidx-media__tokyo.jpg", andPath: out + "/Journey/androidx-media__tokyo.jpg"))
    }

    @Test func anEditMadeWhileTheServerIsDownIsPushedWhenItComesBack() throws {
        let moto = try MotoServer.dedicated()
        defer { moto.terminate() }
        let m = try machines(moto)
        let photos = try folder(m.root, "photos", files: ["iphone/androidx-media__tokyo.jpg", "cameras/osxphotos__Tulips.jpg"])
        #expect(try m.run(["ingest", photos], on: "a").status == 0)
        let listing = try m.listing("b")
        #expect(listing.count == 2)
        let tokyo = try #require(ids(listing.filter { $0.contains("tokyo") }).first)

        moto.suspend()
        let removal = try m.run(["rm", tokyo], on: "b")
        #expect(removal.status == 0, "\(removal.stdoutText)\(removal.stderrText)")
        #expect(removal.stderrText.contains("pushed at the next"), "\(removal.stderrText)")
        let status = try m.run(["status", "--json"], on: "b")
        #expect(status.stdoutText.contains("\"waitingEdits\":1"), "\(status.stdoutText)\(status.stderrText)")
        // (Ingest needs the store: S3EndToEndTests checks that it ends with exit 3 naming the endpoint.)

        moto.resume()
        let sync = try m.run(["sync", "--json"], on: "b")
        #expect(sync.status == 0, "\(sync.stdoutText)\(sync.stderrText)")
        #expect(sync.stdoutText.contains("\"pushed\":1"), "\(sync.stdoutText)")
        #expect(try m.listing("a").count == 1, "A sees B's deletion")
        #expect(try m.run(["status", "--json"], on: "b").stdoutText.contains("\"waitingEdits\":0"))
    }

    @Test func aSyncKilledAtSpreadPointsConvergesOnTheRerun() throws {
        let moto = try MotoServer.shared()
        let m = try machines(moto)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: samples + "/android/androidx-media__london.jpg"))
        let photos = m.root.appendingPathComponent("many")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for index in 0..<30 { try (jpeg + Data("copy \(index)".utf8)).write(to: photos.appendingPathComponent("p\(index).jpg")) }
        let seed = try folder(m.root, "seed", files: ["cameras/osxphotos__Tulips.jpg"])
        #expect(try m.run(["ingest", seed], on: "a").status == 0)
        _ = try m.listing("b")  // B exists before A stores the rest
        #expect(try m.run(["ingest", photos.path, "--no-streams"], on: "a").status == 0)
        var killedInFlight = 0
        for delay in [20_000, 60_000, 120_000, 200_000, 300_000, 450_000, 700_000, 1_000_000] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Keepsake.binary)
            process.arguments = ["sync", "--library", m.library("b"), "--store", m.store, "--s3-endpoint", m.endpoint]
            process.environment = ProcessInfo.processInfo.environment.merging(MotoServer.environment) { $1 }
                .merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(delay))
            if process.isRunning { killedInFlight += 1 }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        print("sync killed in flight \(killedInFlight) of 8 times")
        #expect(killedInFlight > 0, "no kill landed while sync ran")
        let sync = try m.run(["sync"], on: "b")
        #expect(sync.status == 0, "\(sync.stdoutText)\(sync.stderrText)")
        #expect(try m.listing("b") == m.listing("a"))
        #expect(try m.listing("b").count == 31)
        let verify = try m.run(["verify", "--read-data"], on: "b")
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
    }

    @Test func theDaemonOnOneMachinePicksUpAnItemIngestedOnAnotherWithinItsPullInterval() throws {
        let moto = try MotoServer.shared()
        let m = try machines(moto)
        let seed = try folder(m.root, "seed", files: ["cameras/osxphotos__Tulips.jpg"])
        #expect(try m.run(["ingest", seed], on: "a").status == 0)
        _ = try m.listing("b")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Keepsake.binary)
        process.arguments = ["daemon", "--pull-interval", "2", "--library", m.library("b"), "--store", m.store, "--s3-endpoint", m.endpoint]
        process.environment = ProcessInfo.processInfo.environment.merging(MotoServer.environment) { $1 }
            .merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let photos = try folder(m.root, "photos", files: ["iphone/androidx-media__tokyo.jpg"])
        #expect(try m.run(["ingest", photos], on: "a").status == 0)
        // B's index is read directly (any keepsake command would pull by itself): the daemon's pull must put it there.
        let index = m.library("b") + "/index.sqlite"
        let deadline = ContinuousClock.now + .seconds(30)
        var count = 0
        while ContinuousClock.now < deadline {
            let result = try runProcess("/usr/bin/python3", ["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from items').fetchone()[0])", index])
            count = Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            if count == 2 { break }
            usleep(250_000)
        }
        #expect(count == 2, "the daemon on B pulled A's item")
    }
}
