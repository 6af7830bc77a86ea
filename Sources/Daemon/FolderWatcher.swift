import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// What happened under a watched folder.
enum FolderEvent: Equatable {
    /// A file appeared, was written or was moved in (also every file of a folder that appeared).
    case changed(String)
    /// A file or folder was deleted or moved out.
    case removed(String)
    /// The kernel dropped events: only a rescan knows what happened.
    case overflow
}

/// Why the watcher cannot work.
struct WatcherError: Error, CustomStringConvertible {
    var operation: String
    var path: String
    var code: Int32
    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Follows changes under folders with inotify, recursively: a folder that appears is watched at once and the
/// files it already holds are reported, since they may have landed before its watch existed.
final class FolderWatcher {
    private let fd: Int32
    private var folders: [Int32: String] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    private static let mask = UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR)

    init() throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw WatcherError(operation: "inotify init", path: "", code: errno) }
    }

    deinit { close(fd) }

    /// Watches `root` and every folder under it; returns the files already there, as `changed` events.
    @discardableResult
    func watchTree(_ root: String) throws -> [FolderEvent] {
        try Self.walk(root) { folder in
            let wd = inotify_add_watch(fd, folder, Self.mask)
            guard wd >= 0 else { throw WatcherError(operation: "inotify add_watch", path: folder, code: errno) }
            folders[wd] = folder
        }
    }

    /// The files under `root`, as `changed` events, without watching anything: a rescan of a polled folder.
    static func scanTree(_ root: String) throws -> [FolderEvent] {
        try walk(root) { folder in
            guard folder == root else { return }
            var info = stat()
            guard stat(root, &info) == 0 else { throw WatcherError(operation: "scan", path: root, code: errno) }
            guard info.st_mode & S_IFMT == S_IFDIR else { throw WatcherError(operation: "scan", path: root, code: ENOTDIR) }
            guard access(root, R_OK | X_OK) == 0 else { throw WatcherError(operation: "scan", path: root, code: errno) }
        }
    }

    /// Calls `entering` on `root` and each folder under it before listing it; returns the files found.
    private static func walk(_ root: String, entering: (String) throws -> Void) rethrows -> [FolderEvent] {
        try entering(root)
        var found: [FolderEvent] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for name in names.sorted() where Discovery.isWalked(name: name) {
            let path = root + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: found += try walk(path, entering: entering)
            case S_IFREG where !Discovery.isSidecar(name): found.append(.changed(path))
            default: break
            }
        }
        return found
    }

    /// Stops watching `root` and the folders under it (the kernel drops watches of deleted folders by itself).
    func unwatchTree(_ root: String) {
        for (wd, path) in folders where path == root || path.hasPrefix(root + "/") {
            inotify_rm_watch(fd, wd)
            folders[wd] = nil
        }
    }

    /// Waits up to `timeout` for events and returns them (none when the time ran out).
    func next(timeout: Duration) throws -> [FolderEvent] {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        guard ready > 0 else { return [] }
        var events: [FolderEvent] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return events }
                throw WatcherError(operation: "inotify read", path: "", code: errno)
            }
            events += try parse(count: count)
        }
    }

    private func parse(count: Int) throws -> [FolderEvent] {
        var raw: [(wd: Int32, mask: UInt32, name: String)] = []
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset + 16 <= count {
                let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameBytes = bytes[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                raw.append((wd, mask, String(decoding: nameBytes, as: UTF8.self)))
                offset += 16 + length
            }
        }
        var events: [FolderEvent] = []
        for (wd, mask, name) in raw {
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { events.append(.overflow); continue }
            if mask & UInt32(IN_IGNORED) != 0 { folders[wd] = nil; continue }
            guard let folder = folders[wd], !name.isEmpty, Discovery.isWalked(name: name) else { continue }
            let path = folder + "/" + name
            let isFolder = mask & UInt32(IN_ISDIR) != 0
            if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                if isFolder { unwatchTree(path) }
                events.append(.removed(path))
            } else if isFolder {
                if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { events += (try? watchTree(path)) ?? [] }
            } else if !Discovery.isSidecar(name) {
                events.append(.changed(path))
            }
        }
        return events
    }
}
