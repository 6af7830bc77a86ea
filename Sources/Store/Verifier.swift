import Foundation
import KeepsakeCrypto

/// `keepsake verify`: every object an item names is present; with `readData`, every object decrypts and
/// every original's BLAKE2b matches the index. Orphans are decided by the store, not the local index: a data object is
/// one when no journal entry of any machine names it and it is older than a grace period.
public struct Verifier {
    public struct Problem: Sendable, CustomStringConvertible {
        public var itemId: String
        public var object: String
        public var reason: String
        public var description: String { "item \(itemId), object \(object): \(reason)" }
    }

    public struct Report: Sendable {
        public var items = 0
        public var objectsChecked = 0
        public var bytesRead: Int64 = 0
        public var problems: [Problem] = []
        /// Unreferenced data objects older than the grace period: what `removeOrphans` deletes.
        public var orphans: [String] = []
        /// Unreferenced data objects younger than the grace period: perhaps a writer at work elsewhere; kept.
        public var recentUnreferenced: [String] = []
        /// Journal entries that do not decrypt or parse: reported, kept, and while there are any no orphan is removed,
        /// since what they reference is unknown.
        public var unreadableEntries = 0
        public var isClean: Bool { problems.isEmpty }
    }

    /// How old an unreferenced object must be before it counts as an orphan: a writer on another machine may have
    /// stored it and not yet committed the entry that names it.
    public static let defaultGrace: Duration = .seconds(24 * 3600)

    let library: Library

    public init(library: Library) { self.library = library }

    public func run(readData: Bool, grace: Duration = Verifier.defaultGrace) throws -> Report {
        var report = Report()
        var referenced = Set<String>()
        for item in try library.index.allItems() {
            report.items += 1
            let key = try library.fileKey(of: item.id)
            let originals = try library.index.originals(of: item.id)
            var objects: [(name: String, expectedHash: String?)] = originals.map { ($0.objectName, $0.blake2b) }
            objects += [item.metadataObject, item.thumbnailObject, item.playlistObject].compactMap { $0 }.map { ($0, nil) }
            for (name, expectedHash) in objects {
                referenced.insert(name)
                report.objectsChecked += 1
                if let problem = check(name, key: key, expectedHash: expectedHash, readData: readData, report: &report) {
                    report.problems.append(Problem(itemId: item.id, object: name, reason: problem))
                }
            }
            // The stream is AES-128 (HLS) rather than secretstream: its presence is what can be checked here.
            if let stream = item.streamObject {
                referenced.insert(stream)
                report.objectsChecked += 1
                if (try? library.store.size(of: ObjectName(stream))) ?? nil == nil {
                    report.problems.append(Problem(itemId: item.id, object: stream, reason: "missing from the store"))
                }
            }
        }
        let references = try library.storeReferences()
        report.objectsChecked += references.entries.count
        for (name, reason) in references.unreadable {
            report.problems.append(Problem(itemId: "-", object: name.path, reason: "journal entry cannot be read (kept): \(reason)"))
        }
        report.unreadableEntries = references.unreadable.count
        referenced.formUnion(references.objects)
        let cutoff = Date().addingTimeInterval(-Double(grace.components.seconds))
        for object in try library.store.listing(prefix: "data/") where !referenced.contains(object.name.path) {
            if object.modified < cutoff { report.orphans.append(object.name.path) } else { report.recentUnreferenced.append(object.name.path) }
        }
        return report
    }

    /// Deletes the orphans `report` found, unless a journal entry could not be read. The caller holds the library's
    /// writer lock, so no run of this folder is writing them.
    public func removeOrphans(_ report: Report) throws {
        guard report.unreadableEntries == 0 else { return }
        for orphan in report.orphans { try library.store.delete(ObjectName(orphan)) }
    }

    private func check(_ object: String, key: SecretKey, expectedHash: String?, readData: Bool, report: inout Report) -> String? {
        guard let name = try? ObjectName(object) else { return "invalid object name" }
        guard let size = (try? library.store.size(of: name)) ?? nil else { return "missing from the store" }
        guard readData else {
            return size < UInt64(SecretStreamFormat.headerByteCount + SecretStreamFormat.chunkOverhead) ? "too short to be an encrypted object" : nil
        }
        let hasher = Blake2b()
        do {
            try library.readDecrypted(name, key: key) { hasher.update($0) }
        } catch {
            return "does not decrypt: \(error)"
        }
        report.bytesRead += Int64(size)
        if let expectedHash, hasher.finalize().hexString != expectedHash { return "decrypts, but its BLAKE2b does not match the index" }
        return nil
    }
}
