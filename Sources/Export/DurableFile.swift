import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Files that are either wholly in place or not there at all: written under a temporary name in the same
/// folder, fsynced, then renamed. A temporary name starts with a dot and ends with `partialSuffix`; a killed
/// run's leftovers are removed by `removePartials`.
enum DurableFile {
    static let partialSuffix = ".keepsake-partial"

    static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().path + "/." + url.lastPathComponent + partialSuffix
    }

    /// Writes `data` to `path` through a temporary file (fsync, rename); the folder itself is not fsynced.
    static func write(_ data: Data, to path: String) throws(ExportError) {
        let temp = temporaryPath(for: path)
        let fd = try create(temp)
        do throws(ExportError) {
            try writeAll(fd, data, path: temp)
            try sync(fd, path: temp)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        try rename(temp, to: path)
    }

    /// The bytes of the file at `path`; nil when there is none.
    static func contents(of path: String) throws(ExportError) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            guard errno == ENOENT else { throw .io(operation: "open", path: path, errno: errno) }
            return nil
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if got == 0 { return data }
            data.append(contentsOf: buffer[..<got])
        }
    }

    static func create(_ path: String) throws(ExportError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: path, errno: errno) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws(ExportError) {
        // `withUnsafeBytes` rethrows untyped errors: the typed one is carried out.
        let failure: ExportError? = data.withUnsafeBytes { bytes in
            do throws(ExportError) {
                try writeAll(fd, bytes, path: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(ExportError) {
        let failure = writeFully(fd, bytes)
        if failure != 0 { throw .io(operation: "write", path: path, errno: failure) }
    }

    static func sync(_ fd: Int32, path: String) throws(ExportError) {
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    static func rename(_ from: String, to: String) throws(ExportError) {
        guard Glibc.rename(from, to) == 0 else { throw .io(operation: "rename to \(to)", path: from, errno: errno) }
    }

    /// Makes the renames inside `path` durable.
    static func syncDirectory(_ path: String) throws(ExportError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open folder", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync folder", path: path, errno: errno) }
    }

    /// Creates `path` and its missing parents.
    static func makeDirectory(_ path: String) throws(ExportError) {
        if mkdir(path, 0o755) == 0 { return }
        switch errno {
        case EEXIST:
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw .io(operation: "create folder", path: path, errno: ENOTDIR)
            }
        case ENOENT where path != "/" && !path.isEmpty:
            try makeDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw .io(operation: "create folder", path: path, errno: errno) }
        default:
            throw .io(operation: "create folder", path: path, errno: errno)
        }
    }

    /// Removes what killed runs left in `folder`: temporary files that were never renamed into place.
    static func removePartials(in folder: String) throws(ExportError) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(".") && name.hasSuffix(partialSuffix) {
            guard unlink(folder + "/" + name) == 0 else { throw .io(operation: "remove", path: folder + "/" + name, errno: errno) }
            removed += 1
        }
        return removed
    }

    enum Content: Equatable {
        case nothing, folder, other
        case file(size: Int64)
    }

    /// What is at `path`, without following a symbolic link.
    static func content(at path: String) -> Content {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .nothing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(size: Int64(info.st_size))
        case S_IFDIR: return .folder
        default: return .other
        }
    }
}
