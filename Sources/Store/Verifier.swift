import Foundation
import KeepsakeCrypto

/// `keepsake verify`: every object an item names is present (and of its recorded size); with `readData`, every
/// object is read whole and matches the size and BLAKE2b recorded when it was stored, every secretstream object
/// decrypts, and every original's plaintext BLAKE2b matches the index. Orphans are decided by the store, not the
/// local index: a data object is one when no log entry, item record, checkpoint or format-1 journal entry of any
/// machine names it and it is older than a grace period. The log is checked whole: every entry opens under its
/// name, every writer's entries are numbered without gaps and chained, every checkpoint is complete.
public struct Verifier {
    public struct Problem: Sendable, CustomStringConvertible {
        public var itemId: String
        public var object: String
        /// The object's role in the item (`thumbnail`, `stream`, …), or `log` for the store's log, records and checkpoints.
        public var role: String
        public var reason: String
        public var description: String { "item \(itemId), \(role) object \(object): \(reason)" }
    }

    public struct Report: Sendable {
        public var items = 0
        public var objectsChecked = 0
        public var bytesRead: Int64 = 0
        /// Objects of items stored before objects had digests: checked by decryption (and presence) only.
        public var objectsWithoutDigest = 0
        public var problems: [Problem] = []
        /// Unreferenced data objects older than the grace period: what `removeOrphans` deletes.
        public var orphans: [String] = []
        /// Unreferenced data objects younger than the grace period: perhaps a writer at work elsewhere; kept.
        public var recentUnreferenced: [String] = []
        /// Log entries, item records or journal entries that do not open or parse: reported, kept, and while there
        /// are any no orphan is removed, since what they reference is unknown.
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
            let digests = Dictionary(try library.index.digests(of: item.id).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for object in try objects(of: item) {
                referenced.insert(object.name)
                report.objectsChecked += 1
                if digests[object.name] == nil { report.objectsWithoutDigest += 1 }
                if let problem = check(object, digest: digests[object.name], key: key, readData: readData, report: &report) {
                    report.problems.append(Problem(itemId: item.id, object: object.name, role: object.role.rawValue, reason: problem))
                }
            }
        }
        let scan = try library.changeLog.scan()
        report.objectsChecked += scan.objectsRead
        for problem in scan.problems {
            report.problems.append(Problem(itemId: "-", object: problem.object, role: "log", reason: problem.reason))
        }
        report.unreadableEntries = scan.hasUnreadableReferences ? max(1, scan.problems.count) : 0
        referenced.formUnion(scan.referenced)
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

    /// One object of an item as verify reads it: the stream is AES-128 (HLS), read as stored; every other object is
    /// secretstream, decrypted; an original's plaintext also has a BLAKE2b to match.
    private struct ItemObject {
        var name: String
        var role: ObjectRole
        var plaintextHash: String?
        var isSecretStream: Bool { role != .stream }
    }

    private func objects(of item: ItemRecord) throws -> [ItemObject] {
        try library.index.originals(of: item.id).map {
            ItemObject(name: $0.objectName, role: ObjectRole(original: $0.role), plaintextHash: $0.blake2b)
        } + item.derivedObjects.map { ItemObject(name: $0.name, role: $0.role) }
    }

    private func check(_ object: ItemObject, digest: ObjectDigest?, key: SecretKey, readData: Bool, report: inout Report) -> String? {
        guard let name = try? ObjectName(object.name) else { return "invalid object name" }
        guard let size = (try? library.store.size(of: name)) ?? nil else { return "missing from the store" }
        if let digest, Int64(size) != digest.size {
            return "the store holds \(size) bytes, where \(digest.size) were stored: it is not the object stored under this name"
        }
        // A stream without a recorded digest has nothing to be checked against: its presence is what can be.
        guard readData, object.isSecretStream || digest != nil else {
            let minimum = SecretStreamFormat.headerByteCount + SecretStreamFormat.chunkOverhead
            return object.isSecretStream && size < UInt64(minimum) ? "too short to be an encrypted object" : nil
        }
        let hasher = Blake2b()
        do {
            if object.isSecretStream {
                try library.readDecrypted(name, key: key) { hasher.update($0) }
            } else {
                try library.readStored(name) { _ in }
            }
        } catch let mismatch as ObjectMismatch {
            return "the store returned something other than what was stored (\(mismatch.reason))"
        } catch {
            return "does not decrypt: \(error)"
        }
        report.bytesRead += Int64(size)
        if let expected = object.plaintextHash, hasher.finalize().hexString != expected {
            return "decrypts, but its BLAKE2b does not match the index"
        }
        return nil
    }
}
