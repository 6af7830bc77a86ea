import FileSystem
import Foundation
import KeepsakeCrypto
import Store
import Synchronization
import Testing
import TestSupport
@testable import Export

@Suite struct ExportLogTests {
    func file(_ number: Int, in folder: String = "A", name: String? = nil) -> ExportState.File {
        ExportState.File(key: ExportKey(itemId: String(format: "item-%08d", number), role: "main", album: folder),
                         path: BytePath(folder + "/" + (name ?? String(format: "IMG_%05d.jpg", number))), size: 1_000_000,
                         blake2b: String(repeating: "0123456789abcdef", count: 8))
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// A snapshot, then a log that adds a folder, files, and forgets some, one of them recorded again.
    var changes: [ExportChange] {
        [.assigned(.init(album: "B", folder: "B")), .recorded(file(3, in: "B")), .forgotten(file(1).key),
         .recorded(file(2, name: "moved.jpg")), .forgotten(file(3, in: "B").key), .recorded(file(3, in: "B"))]
    }
    var snapshot: ExportState { ExportState(folders: [.init(album: "A", folder: "A")], files: [file(1), file(2)]) }

    @Test func applyingChangesTheStateAlreadyHoldsChangesNothing() {
        var state = snapshot
        state.apply(changes)
        let once = state
        #expect(once.folders.map(\.folder) == ["A", "B"])
        #expect(once.files == [file(2, name: "moved.jpg"), file(3, in: "B")])
        state.apply(changes)
        #expect(state == once)
    }

    @Test func aKillBetweenTheStepsOfACompactionLosesNothing() throws {
        let directory = try TestEnvironment.makeTempDirectory().path
        let logPath = directory + "/" + ExportLog.fileName
        try snapshot.writeSnapshot(in: directory)
        let (opened, log) = try ExportLog.open(in: directory)
        #expect(opened == snapshot)
        for change in changes { try log.append(change) }
        var expected = snapshot
        expected.apply(changes)
        #expect(try ExportState.load(from: directory) == expected)

        // Killed while the new snapshot was being written: only its temporary file is new.
        let temporary = DurableFile.temporaryPath(for: BytePath(directory + "/" + ExportState.fileName)).description
        #expect(FileManager.default.createFile(atPath: temporary, contents: Data("{\"version\":1,\"fol".utf8)))
        #expect(try ExportState.load(from: directory) == expected)
        // Killed after the new snapshot was renamed into place, before the log was removed.
        try expected.writeSnapshot(in: directory)
        #expect(exists(logPath))
        #expect(try ExportState.load(from: directory) == expected)

        let (reopened, _) = try ExportLog.open(in: directory)
        #expect(reopened == expected)
        #expect(!exists(logPath))
        #expect(try ExportState.load(from: directory) == expected)
    }

    @Test func onlyTheLastLineMayBeTornOrUnreadable() throws {
        let directory = try TestEnvironment.makeTempDirectory().path
        let logPath = directory + "/" + ExportLog.fileName
        let (_, log) = try ExportLog.open(in: directory)
        try log.append(.recorded(file(1)))
        try log.append(.recorded(file(2)))
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map { String($0) + "\n" }
        #expect(lines.count == 2)

        try append(String(lines[1].prefix(30)), to: logPath)
        #expect(try ExportLog.changes(in: directory) == [.recorded(file(1)), .recorded(file(2))])
        // The whole line but its newline.
        try (lines.joined() + lines[0].dropLast()).write(toFile: logPath, atomically: false, encoding: .utf8)
        #expect(try ExportLog.changes(in: directory) == [.recorded(file(1)), .recorded(file(2))])
        // A power loss can leave a last line of zeros.
        try (lines[0] + "\0\0\0\0\n").write(toFile: logPath, atomically: false, encoding: .utf8)
        #expect(try ExportLog.changes(in: directory) == [.recorded(file(1))])

        try (lines[0] + "\0\0\0\0\n" + lines[1]).write(toFile: logPath, atomically: false, encoding: .utf8)
        let damaged = #expect(throws: ExportError.self) { try ExportLog.changes(in: directory) }
        if case .stateDamaged(let path, let reason) = damaged {
            #expect(path == logPath && reason.hasPrefix("line 2: "), "\(reason)")
        } else {
            Issue.record("not stateDamaged: \(String(describing: damaged))")
        }
        let escaping = #"{"file":{"blake2b":"00","key":{"itemId":"x","role":"main"},"path":"../../etc/passwd","size":1}}"# + "\n"
        try (escaping + lines[0]).write(toFile: logPath, atomically: false, encoding: .utf8)
        #expect(throws: ExportError.stateDamaged(path: logPath, reason: "../../etc/passwd is not FOLDER/NAME")) {
            try ExportState.load(from: directory)
        }
    }

    /// A run killed while appending the record of `c.jpg`: `a.jpg` is in the snapshot, `b.jpg` in the log, and the
    /// log ends with part of `c.jpg`'s line. `c.jpg` is in place (its line is written after its rename), or not when a
    /// power loss took the rename away.
    @Test(arguments: [true, false])
    func theFileOfATornLastLineIsAdoptedOrExportedAgain(inPlace: Bool) throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let library = try Library.open(at: base + "/lib", passphrase: "pw", create: true)
        for name in ["a.jpg", "b.jpg", "c.jpg"] { try ExporterTests().commit(Array("bytes of \(name)".utf8), name: name, into: library) }
        let out = base + "/out"
        let options = ExportOptions(target: out)
        #expect(try Exporter(library: library, options: options, observer: ExporterTests.Silent()).run().count(.exported) == 3)
        #expect(!exists(out + "/" + ExportLog.fileName), "the log is compacted at the end of a run")
        let complete = try ExportState.load(from: out)
        func recorded(_ name: String) throws -> ExportState.File {
            try #require(complete.files.first { $0.path == BytePath("Uncategorized/" + name) })
        }

        var killed = complete
        killed.files = [try recorded("a.jpg")]
        try killed.writeSnapshot(in: out)
        let (_, log) = try ExportLog.open(in: out)
        try log.append(.recorded(try recorded("b.jpg")))
        try append(#"{"file":{"blake2b":""# + (try recorded("c.jpg")).blake2b.prefix(40), to: out + "/" + ExportLog.fileName)
        if !inPlace { try FileManager.default.removeItem(atPath: out + "/Uncategorized/c.jpg") }
        #expect(try ExportState.load(from: out).files.map(\.path) == ["Uncategorized/a.jpg", "Uncategorized/b.jpg"])

        let rerun = try Exporter(library: library, options: options, observer: ExporterTests.Silent()).run()
        #expect(rerun.alreadyExported == 2)
        #expect(rerun.outcomes.map(\.path) == ["Uncategorized/c.jpg"])
        #expect(rerun.outcomes.map(\.status) == [inPlace ? .adopted : .exported])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/Uncategorized").sorted()
                == ["a.jpg", "b.jpg", "c.jpg", "metadata"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/Uncategorized/c.jpg")) == Data("bytes of c.jpg".utf8))
        let resumed = try ExportState.load(from: out)
        #expect(resumed.folders == complete.folders)
        #expect(resumed.files.sorted { $0.path < $1.path } == complete.files.sorted { $0.path < $1.path })
        #expect(!exists(out + "/" + ExportLog.fileName))
    }

    /// Recording a file appends one line to the log, as long with 20,000 files recorded as with none, and writes
    /// nothing else; workers recording at once each append whole lines.
    @Test func recordingAFileAppendsOneLineHoweverManyAreRecorded() throws {
        let empty = try TestEnvironment.makeTempDirectory().path
        let (none, firstLog) = try ExportLog.open(in: empty)
        var folder = ExportFolder(target: empty, state: none, fileSystem: .posix("ext4"))
        let assigned = folder.assignFolder(to: "A")?.folder
        try firstLog.append(.assigned(try #require(assigned)))
        let logged = try logSize(in: empty)
        let first = SharedExportFolder(folder, log: firstLog)
        for number in 0..<1_000 { try first.record(file(number)) }
        let lineLength = (try logSize(in: empty) - logged) / 1_000
        #expect(lineLength > 0 && lineLength < 300)
        #expect(try logSize(in: empty) == logged + 1_000 * lineLength)

        let full = try TestEnvironment.makeTempDirectory().path
        let snapshotPath = full + "/" + ExportState.fileName
        try ExportState(folders: folder.state.folders, files: (0..<20_000).map { file($0) }).writeSnapshot(in: full)
        let snapshot = try Data(contentsOf: URL(fileURLWithPath: snapshotPath))
        let (state, log) = try ExportLog.open(in: full)
        let shared = SharedExportFolder(ExportFolder(target: full, state: state, fileSystem: .posix("ext4")), log: log)
        let workers = 4, each = 250
        let failures = Mutex<[ExportError]>([])
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for number in 0..<each {
                do throws(ExportError) { try shared.record(file(20_000 + worker * each + number)) } catch {
                    failures.withLock { $0.append(error) }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try logSize(in: full) == 1_000 * lineLength)
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshotPath)) == snapshot)
        #expect(try FileManager.default.contentsOfDirectory(atPath: full).sorted() == [ExportState.fileName, ExportLog.fileName])

        let byItem = { (files: [ExportState.File]) in files.sorted { $0.key.itemId < $1.key.itemId } }
        let expected = (0..<21_000).map { file($0) }
        #expect(byItem(try ExportState.load(from: full).files) == expected)
        try log.compact(shared.state)
        #expect(try FileManager.default.contentsOfDirectory(atPath: full) == [ExportState.fileName])
        #expect(byItem(try ExportState.load(from: full).files) == expected)
    }

    func logSize(in directory: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: directory + "/" + ExportLog.fileName)[.size] as? Int ?? 0
    }
}
