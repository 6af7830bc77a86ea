import Foundation
import GRDB

/// When a run's queued items are committed: after `maxItems` items, or when the oldest has waited `maxDelay` (checked
/// as each item is queued), and always at the end of the run.
public struct CommitGrouping: Sendable {
    public var maxItems: Int
    public var maxDelay: Duration

    public init(maxItems: Int, maxDelay: Duration) {
        self.maxItems = max(1, maxItems)
        self.maxDelay = maxDelay
    }

    public static let standard = CommitGrouping(maxItems: 256, maxDelay: .milliseconds(500))
}

/// A new item whose objects are in the store, waiting for its group's commit.
struct QueuedItem {
    var state: ItemState
    var membership: Membership
    var sourceFiles: [SourceFileRecord]
    /// The objects its upload session stored (not yet durable).
    var objects: [ObjectName]
}

/// The items queued since the last group commit of a run that groups its commits (`Library.groupingCommits`); held
/// under `Library.commitLock`, so that the check-then-write of a commit sees the queued items as well as the index.
struct CommitQueue {
    let grouping: CommitGrouping
    /// Told the ids of each group's items once they are committed.
    let committed: @Sendable ([String]) -> Void
    private(set) var items: [QueuedItem] = []
    /// The keyed content hashes of `items`: a later item with the same bytes is a duplicate of a queued one.
    private(set) var hashes: Set<String> = []
    private var oldest: ContinuousClock.Instant?

    init(grouping: CommitGrouping, committed: @escaping @Sendable ([String]) -> Void) {
        self.grouping = grouping
        self.committed = committed
    }

    var isDue: Bool {
        items.count >= grouping.maxItems || oldest.map { ContinuousClock.now - $0 >= grouping.maxDelay } ?? false
    }

    mutating func add(_ item: QueuedItem) {
        if items.isEmpty { oldest = .now }
        items.append(item)
        hashes.insert(item.state.item.dedupHash)
    }

    mutating func take() -> [QueuedItem] {
        defer {
            items.removeAll()
            hashes.removeAll()
            oldest = nil
        }
        return items
    }
}

/// Group commit (issue 20): many small items made durable together. An upload session's objects are put in place
/// without fsync; committing a group then makes every object of its items durable at once (`makeDurable`: on a local
/// store one `syncfs`), writes their item records and makes those durable, writes their log entries and makes those
/// durable, and applies the entries to the index in one transaction. So an item is named by its record, its log entry or the
/// index only once all its objects are durable, as when each item was committed alone; a run killed at any moment
/// leaves objects no item names (the next writer removes them) or items the next pull applies.
extension Library {
    /// Runs `body` (an ingest's store phase) with the commits of new items grouped: a commit queues its item, with its
    /// id and its place among duplicates decided at once, and the queue is committed when `grouping` says it is due
    /// and at the end; `committed` is told the ids of each group's items once they are committed (what a commit
    /// returned as stored is stored only then). Outside such a run every commit is a group of one.
    public func groupingCommits<T>(_ grouping: CommitGrouping = .standard, committed: @escaping @Sendable ([String]) -> Void = { _ in },
                                   _ body: () throws -> T) throws -> T {
        commitLock.withLock { $0 = CommitQueue(grouping: grouping, committed: committed) }
        let result: T
        do {
            result = try body()
        } catch {
            // What was queued before a failure of one part of the run is committed all the same; after a run-fatal
            // error the store cannot take it, and the next run stores it again.
            if !error.isRunFatal { try? commitLock.withLock { queue in try commitQueued(&queue) } }
            commitLock.withLock { $0 = nil }
            throw error
        }
        defer { commitLock.withLock { $0 = nil } }
        try commitLock.withLock { queue in try commitQueued(&queue) }
        return result
    }

    /// Commits the queued items now (the caller holds `commitLock`); with `holding`, only when one of them has that
    /// keyed content hash (a lookup of those bytes must find the item in the index).
    func commitQueued(_ queue: inout CommitQueue?, holding keyedHash: String? = nil) throws {
        guard queue != nil, keyedHash.map({ queue!.hashes.contains($0) }) ?? true else { return }
        let items = queue!.take()
        try commitGroup(items)
        queue!.committed(items.map(\.state.item.id))
    }

    /// Queues `item` in a grouped run (committing the queue when due), else commits it alone. The caller holds
    /// `commitLock` and has checked that no item has its bytes.
    func commitOrQueue(_ item: QueuedItem, in queue: inout CommitQueue?) throws {
        guard queue != nil else { return try commitGroup([item]) }
        queue!.add(item)
        if queue!.isDue { try commitQueued(&queue) }
    }

    /// Commits new items, each durable before anything names it (see above). A failure is run-fatal: the run reports
    /// these items as not stored, and the next run stores them.
    private func commitGroup(_ items: [QueuedItem]) throws {
        guard !items.isEmpty else { return }
        do {
            try ledger.makeDurable(items.flatMap(\.objects))
            let records = try items.map { try changeLog.putRecord($0.state, durably: false) }
            try store.makeDurable(records)
            try changeLog.append(group: items.map { item in
                (.item(item.state, memberships: [item.membership]), { db in
                    try self.index.recordSources(item.sourceFiles, itemId: item.state.item.id, in: db)
                })
            })
        } catch where !error.isRunFatal {
            throw LibraryError.store(.unusable("committing \(items.count) new items failed: \(error)"))
        }
        try changeLog.checkpointIfDue()
    }
}
