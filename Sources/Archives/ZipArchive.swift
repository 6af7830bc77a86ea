import Foundation
@preconcurrency import ZIPFoundation

/// One file inside a ZIP archive.
public struct ArchiveMember: Sendable, Hashable {
    /// Its path inside the archive, `/`-separated, as the archive names it (UTF-8, or CP437 when the archive says so).
    public var path: String
    public var size: UInt64
    public var modified: Date?

    /// The folder it is in inside the archive ("" at the top).
    public var folder: String { path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "" }
    public var name: String { path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path }
}

/// Why an archive or one of its members could not be read.
public enum ArchiveError: Error, Sendable, CustomStringConvertible {
    case notAnArchive(String, reason: String)
    case damagedMember(String, reason: String)

    public var description: String {
        switch self {
        case .notAnArchive(let path, let reason): "\(path) is not a ZIP archive keepsake can read: \(reason)"
        case .damagedMember(let path, let reason): "the archive member is damaged: \(reason)"
        }
    }
}

/// A ZIP archive (ZIP64 too) read member by member, streaming: a member is inflated in small pieces into whatever the
/// caller gives, and checked against its CRC-32 and size. Not thread-safe: one reader a thread.
public final class ZipArchive {
    public let path: String
    public let members: [ArchiveMember]
    private let archive: Archive
    private let entries: [String: Entry]

    public init(path: String) throws(ArchiveError) {
        self.path = path
        let opened: Archive
        do { opened = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) }
        catch { throw .notAnArchive(path, reason: "\(error)") }
        archive = opened
        var members: [ArchiveMember] = []
        var entries: [String: Entry] = [:]
        for entry in opened where entry.type == .file {
            let path = entry.path
            guard entries[path] == nil, !path.hasSuffix("/") else { continue }
            entries[path] = entry
            members.append(ArchiveMember(path: path, size: entry.uncompressedSize,
                                         modified: entry.fileAttributes[.modificationDate] as? Date))
        }
        self.members = members
        self.entries = entries
    }

    /// Streams `member`'s bytes to `sink`; throws `ArchiveError.damagedMember` when they do not inflate, or their size
    /// or CRC-32 is not what the archive recorded (the sink may have had part of them).
    public func read(_ member: ArchiveMember, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let entry = entries[member.path] else { throw ArchiveError.damagedMember(member.path, reason: "it is not in the archive") }
        var size: UInt64 = 0
        var checksum: CRC32 = 0
        // What the sink throws (a full disk…) is the sink's, not damage of the archive.
        var sinkError: (any Error)?
        do {
            checksum = try archive.extract(entry, bufferSize: 1 << 16, skipCRC32: false) { data in
                size += UInt64(data.count)
                guard size <= entry.uncompressedSize else { throw ArchiveError.damagedMember(member.path, reason: "it is longer than recorded") }
                do { try data.withUnsafeBytes { try sink($0) } } catch {
                    sinkError = error
                    throw error
                }
            }
        } catch {
            if let sinkError { throw sinkError }
            if let error = error as? ArchiveError { throw error }
            throw ArchiveError.damagedMember(member.path, reason: "it does not inflate (\(error))")
        }
        guard size == entry.uncompressedSize else {
            throw ArchiveError.damagedMember(member.path, reason: "\(size) bytes where the archive recorded \(entry.uncompressedSize)")
        }
        guard checksum == entry.checksum else { throw ArchiveError.damagedMember(member.path, reason: "its CRC-32 does not match") }
    }

    /// A small member whole (a sidecar), or nil when it is larger than `cap` or does not read.
    public func small(_ member: ArchiveMember, upTo cap: Int) -> Data? {
        guard member.size <= UInt64(cap) else { return nil }
        var data = Data()
        do { try read(member) { data.append(contentsOf: $0) } } catch { return nil }
        return data
    }
}
