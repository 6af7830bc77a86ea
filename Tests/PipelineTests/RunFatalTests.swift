import FileSystem
import Foundation
import MediaTypes
import Pipeline
@testable import Store
import Synchronization
import Testing

private final class Outcomes: IngestObserver {
    private let finishedFiles = Mutex<[FileOutcome]>([])
    var all: [FileOutcome] { finishedFiles.withLock { $0 } }
    func started(_ file: DiscoveredFile) {}
    func read(bytes: Int64) {}
    func finished(_ outcome: FileOutcome) { finishedFiles.withLock { $0.append(outcome) } }
}

@Suite struct RunFatalTests {
    /// `count` files that sniff as JPEG, each with bytes of its own.
    private func photos(_ count: Int, size: Int) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-fatal-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for index in 0..<count {
            let bytes = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF\0".utf8) + (0..<size).map { _ in UInt8.random(in: 0...255) }
            try Data(bytes).write(to: folder.appendingPathComponent(String(format: "photo-%02d.jpg", index)))
        }
        return folder.path
    }

    @Test func aFullStoreEndsTheRunWithoutFailingTheFilesNotStartedAndTheNextRunResumes() throws {
        let folder = try photos(12, size: 20_000)
        let store = MemoryStore(capacity: 90_000)
        let library = try Library.open(at: folder + "-library", store: .memory(store), passphrase: "test passphrase", create: true)
        let (files, skips) = Ingest.discover([folder])
        let options = IngestOptions(jobs: 2, stream: nil, mediaWork: NoMediaWork())

        let first = Outcomes()
        do {
            _ = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: first)
            Issue.record("the run went on with a full store")
        } catch let stopped as IngestStopped {
            #expect(stopped.exitStatus == 3)
            guard case .io(_, _, let code)? = stopped.cause as? StoreError else {
                Issue.record("stopped by \(stopped.cause), not the full store")
                return
            }
            #expect(code == ENOSPC)
            #expect(stopped.message.contains(store.description), "\(stopped.message)")
            #expect(stopped.message.contains("resumes"), "\(stopped.message)")
        }
        let stored = first.all
        // The files stored before the store filled were queued for one group commit, which the full store ended: none
        // of them is reported stored (the next run stores them).
        #expect(stored.count < 12, "the store filled in the middle of the run: \(stored.count) stored")
        #expect(stored.allSatisfy { $0.status == .stored }, "no file failed for the full store: \(stored.map(\.status))")
        #expect(try library.index.failedFiles().isEmpty)

        store.capacity = nil
        let second = Outcomes()
        let summary = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: second)
        #expect(summary.failures.isEmpty, "\(summary.failures.map { "\($0.path): \($0.reason ?? "")" })")
        #expect(summary.count(.stored) == 12 - stored.count)
        #expect(try library.index.allItems().count == 12)
        // Every object in the store belongs to an item: what the stopped run left pending was removed.
        let objects = Set(try store.list(prefix: "data/").map(\.path))
        var referenced = Set<String>()
        for item in try library.index.allItems() {
            referenced.formUnion(try library.index.originals(of: item.id).map(\.objectName))
            referenced.formUnion([item.metadataObject, item.thumbnailObject, item.streamObject, item.playlistObject].compactMap { $0 })
        }
        #expect(objects == referenced)
    }

    @Test func aFullIndexEndsTheRunAndTheNextRunResumes() throws {
        let folder = try photos(40, size: 2_000)
        let store = MemoryStore()
        let library = try Library.open(at: folder + "-library", store: .memory(store), passphrase: "test passphrase", create: true)
        let (files, skips) = Ingest.discover([folder])
        let options = IngestOptions(jobs: 2, stream: nil, mediaWork: NoMediaWork())
        // The index may not grow: once its free space is used up, SQLite fails its writes with SQLITE_FULL, as on a
        // full disk.
        let pages = try library.index.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        try library.index.pool.write { db in try db.execute(sql: "PRAGMA max_page_count = \(pages)") }

        let first = Outcomes()
        do {
            _ = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: first)
            Issue.record("the run went on with a full index")
        } catch let stopped as IngestStopped {
            #expect(stopped.exitStatus == 3)
            guard case .corruptIndex(let why)? = stopped.cause as? LibraryError else {
                Issue.record("stopped by \(stopped.cause), not the full index")
                return
            }
            #expect(why.contains("full"), "\(why)")
        }
        #expect(first.all.count < 40, "the index filled in the middle of the run")
        #expect(first.all.allSatisfy { $0.status == .stored }, "no file failed for the full index: \(first.all.map(\.status))")

        try library.index.pool.write { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        let summary = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: Outcomes())
        #expect(summary.failures.isEmpty, "\(summary.failures.map { "\($0.path): \($0.reason ?? "")" })")
        #expect(try library.index.allItems().count == 40)
    }
}
