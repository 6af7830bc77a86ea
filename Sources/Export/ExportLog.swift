import FileSystem
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `DIR/.keepsake-export.log`: the changes made to the export state since its snapshot was written, one JSON object
/// a line. Recording a change costs one line, written with one write() and made durable with fdatasync() before
/// `append` returns, however many files the state holds.
///
/// Appends are serialised, and a log is compacted before anything is appended after a kill, so only the last line can
/// be torn (a kill or power loss during its append): a last line without its newline, or that is not JSON, is left
/// out. The file it was for is then in place but unrecorded, and the next run adopts it.
///
/// Compacting writes the snapshot atomically, then removes the log. A kill between the two leaves a log whose changes
/// the snapshot already holds, and applying them again changes nothing (`ExportState.apply`).
final class ExportLog: Sendable {
    static let fileName = ".keepsake-export.log"

    private struct Appender {
        /// Open once something was appended since the last compaction.
        var fd: Int32?
        /// Why an append failed: its line may be torn, and a line after it would make the log unreadable.
        var broken: ExportError?
    }

    private let directory: String
    private let path: String
    private let appender = Mutex(Appender())

    private init(directory: String) {
        self.directory = directory
        path = directory + "/" + Self.fileName
    }

    deinit {
        appender.withLock { if let fd = $0.fd { close(fd) } }
    }

    /// The state in `directory`, and its log, compacted so that appends start on an empty one.
    static func open(in directory: String) throws(ExportError) -> (ExportState, ExportLog) {
        let state = try ExportState.load(from: directory)
        let log = ExportLog(directory: directory)
        try log.compact(state)
        return (state, log)
    }

    /// Appends `change`; it is durable when this returns.
    func append(_ change: ExportChange) throws(ExportError) {
        let encoded = try line(for: change)
        try appender.withLock { (appender) throws(ExportError) in
            if let broken = appender.broken { throw broken }
            let fd: Int32
            if let open = appender.fd {
                fd = open
            } else {
                fd = try openForAppending()
                appender.fd = fd
            }
            do throws(ExportError) {
                try DurableFile.writeAll(fd, encoded, path: BytePath(path))
                guard fdatasync(fd) == 0 else { throw .io(operation: "fdatasync", path: path, errno: errno) }
            } catch {
                appender.broken = error
                throw error
            }
        }
    }

    /// Folds the log into the snapshot: writes `state`, which holds every change appended, as the snapshot, then
    /// removes the log. Nothing to do when there is no log.
    func compact(_ state: ExportState) throws(ExportError) {
        try appender.withLock { (appender) throws(ExportError) in
            if let fd = appender.fd {
                close(fd)
                appender.fd = nil
            }
            guard DurableFile.content(at: BytePath(path)) != .nothing else { return }
            try state.writeSnapshot(in: directory)
            guard unlink(path) == 0 else { throw .io(operation: "remove", path: path, errno: errno) }
            try DurableFile.syncDirectory(BytePath(directory))
            appender.broken = nil
        }
    }

    /// The changes logged in `directory`, in order; none when there is no log.
    static func changes(in directory: String) throws(ExportError) -> [ExportChange] {
        let path = directory + "/" + fileName
        guard let data = try DurableFile.contents(of: BytePath(path)) else { return [] }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // What follows the last newline is a torn line, or nothing.
        lines.removeLast()
        let decoder = JSONDecoder()
        var changes: [ExportChange] = []
        changes.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            let change: ExportChange
            do { change = try decoder.decode(ExportChange.self, from: line) } catch {
                if index == lines.count - 1 { break }
                throw .stateDamaged(path: path, reason: "line \(index + 1): \(error)")
            }
            if case .recorded(let file) = change { try file.checkPath(in: path) }
            changes.append(change)
        }
        return changes
    }

    private func line(for change: ExportChange) throws(ExportError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(change) + Data([UInt8(ascii: "\n")]) } catch {
            throw .stateDamaged(path: path, reason: "cannot encode \(change): \(error)")
        }
    }

    /// The log's name must be in its folder for good before any line in it counts.
    private func openForAppending() throws(ExportError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: path, errno: errno) }
        do { try DurableFile.syncDirectory(BytePath(directory)) } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
