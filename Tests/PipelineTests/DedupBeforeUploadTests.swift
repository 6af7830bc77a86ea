import FileSystem
import Foundation
import MediaTypes
import Pipeline
@testable import Store
import Synchronization
import Testing

/// Issue 20, item 4: a file whose bytes the library holds is recognised before anything is encrypted or uploaded.
@Suite struct DedupBeforeUploadTests {
    private static func jpeg(_ body: [UInt8]) -> Data {
        Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF\0".utf8) + body)
    }

    @Test func aCopyAtAnotherPathWritesNoDataObjectAndANewFileOfTheSameSizeIsStored() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-dedup-\(UUID().uuidString.prefix(8))")
        let first = root.appendingPathComponent("first"), second = root.appendingPathComponent("copy")
        try FileManager.default.createDirectory(at: first, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: second, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let bodies = (0..<6).map { _ in (0..<30_000).map { _ in UInt8.random(in: 0...255) } }
        for (index, body) in bodies.enumerated() {
            try Self.jpeg(body).write(to: first.appendingPathComponent("photo-\(index).jpg"))
            try Self.jpeg(body).write(to: second.appendingPathComponent("renamed-\(index).jpg"))
        }
        // The same size as the others, other bytes: hashed first, found new, stored.
        try Self.jpeg((0..<30_000).map { _ in UInt8.random(in: 0...255) }).write(to: second.appendingPathComponent("new.jpg"))

        let store = MemoryStore()
        let library = try Library.open(at: root.appendingPathComponent("library").path, store: .memory(store),
                                       passphrase: "test passphrase", create: true)
        let options = IngestOptions(jobs: 2, stream: nil, mediaWork: NoMediaWork())
        let (files, skips) = Ingest.discover([first.path])
        let firstRun = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: QuietObserver())
        #expect(firstRun.count(.stored) == 6)
        // The original and the metadata document of each (no media work here).
        let writtenFirst = store.writesBegun(under: "data/")
        let perItem = writtenFirst / 6
        #expect(writtenFirst == perItem * 6 && perItem >= 1)

        let (copies, copySkips) = Ingest.discover([second.path])
        let secondRun = try Ingest.run(files: copies, skips: copySkips, library: library, options: options, observer: QuietObserver())
        #expect(secondRun.count(.stored) == 1)
        #expect(secondRun.outcomes.filter { $0.status != .stored }.count == 6)
        #expect(secondRun.failures.isEmpty)
        // Only the new file's original was written: no copy was encrypted or uploaded, not even to be thrown away.
        #expect(store.writesBegun(under: "data/") - writtenFirst == perItem)
        #expect(try library.index.allItems().count == 7)
    }

    /// Two copies of one file in the same run, stored by two workers at once: one is encrypted and uploaded, the other
    /// waits for it and is a duplicate.
    @Test func copiesInOneRunAreUploadedOnce() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-dedup-run-\(UUID().uuidString.prefix(8))")
        let folder = root.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("b"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let bodies = (0..<4).map { _ in (0..<200_000).map { _ in UInt8.random(in: 0...255) } }
        for (index, body) in bodies.enumerated() {
            try Self.jpeg(body).write(to: folder.appendingPathComponent("photo-\(index).jpg"))
            try Self.jpeg(body).write(to: folder.appendingPathComponent("b/copy-\(index).jpg"))
        }
        // What one item writes, from a library holding one of them.
        let single = MemoryStore()
        let control = try Library.open(at: root.appendingPathComponent("control").path, store: .memory(single),
                                       passphrase: "test passphrase", create: true)
        let one = Ingest.discover([folder.appendingPathComponent("photo-0.jpg").path])
        _ = try Ingest.run(files: one.files, skips: one.skips, library: control,
                           options: IngestOptions(jobs: 1, stream: nil, mediaWork: NoMediaWork()), observer: QuietObserver())
        let perItem = single.writesBegun(under: "data/")
        #expect(perItem >= 1)

        let store = MemoryStore()
        let library = try Library.open(at: root.appendingPathComponent("library").path, store: .memory(store),
                                       passphrase: "test passphrase", create: true)
        let (files, skips) = Ingest.discover([folder.path])
        let run = try Ingest.run(files: files, skips: skips, library: library,
                                 options: IngestOptions(jobs: 4, stream: nil, mediaWork: NoMediaWork()), observer: QuietObserver())
        #expect(run.count(.stored) == 4 && run.count(.duplicate) + run.count(.addedToAlbum) == 4 && run.failures.isEmpty)
        #expect(store.writesBegun(under: "data/") == 4 * perItem, "a copy was encrypted and uploaded")
    }
}
