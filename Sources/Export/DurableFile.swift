import FileSystem
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

    /// A fresh name beside `path`: short, so that a name of `PortableName.maxBytes` still has one.
    static func temporaryPath(for path: BytePath) -> BytePath {
        path.parent.appending("." + String(UInt64.random(in: 0...UInt64.max), radix: 36) + partialSuffix)
    }

    /// Writes `data` to `path` through a temporary file (fsync, rename); the folder itself is not fsynced.
    static func write(_ data: Data, to path: BytePath) throws(ExportError) {
        let temp = temporaryPath(for: path)
        let fd = try create(temp)
        do throws(ExportError) {
            try writeAll(fd, data, path: temp)
            try sync(fd, path: temp)
        } catch {
            close(fd)
            _ = temp.withCString { unlink($0) }
            throw error
        }
        close(fd)
        try rename(temp, to: path)
    }

    /// The bytes of the file at `path`; nil when there is none.
    static func contents(of path: BytePath) throws(ExportError) -> Data? {
        do throws(Errno) {
            return try FileIO.readAll(path).map { Data($0) }
        } catch {
            throw .io(operation: "read", path: "\(path)", errno: error.code)
        }
    }

    static func create(_ path: BytePath) throws(ExportError) -> Int32 {
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw .io(operation: "create", path: "\(path)", errno: errno) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: BytePath) throws(ExportError) {
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

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: BytePath) throws(ExportError) {
        do throws(Errno) { try FileIO.writeFully(fd, bytes) } catch {
            throw .io(operation: "write", path: "\(path)", errno: error.code)
        }
    }

    static func sync(_ fd: Int32, path: BytePath) throws(ExportError) {
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: "\(path)", errno: errno) }
    }

    static func rename(_ from: BytePath, to: BytePath) throws(ExportError) {
        let renamed = from.withCString { from in to.withCString { Glibc.rename(from, $0) } }
        guard renamed == 0 else { throw .io(operation: "rename to \(to)", path: "\(from)", errno: errno) }
    }

    /// Makes the renames inside `path` durable.
    static func syncDirectory(_ path: BytePath) throws(ExportError) {
        do throws(Errno) { try FileIO.syncDirectory(path) } catch {
            throw .io(operation: "fsync folder", path: "\(path)", errno: error.code)
        }
    }

    /// Creates `path` and its missing parents, durably.
    static func makeDirectory(_ path: BytePath) throws(ExportError) {
        do throws(Errno) { try FileIO.makeDirectory(path, mode: 0o755) } catch {
            throw .io(operation: "create folder", path: "\(path)", errno: error.code)
        }
    }

    /// Removes what killed runs left in `folder`: temporary files that were never renamed into place.
    static func removePartials(in folder: BytePath) throws(ExportError) -> Int {
        var removed = 0
        for name in names(in: folder) where name.first == UInt8(ascii: ".") && name.count > partialSuffix.utf8.count
            && name.suffix(partialSuffix.utf8.count).elementsEqual(partialSuffix.utf8) {
            let path = folder.appending(name)
            guard path.withCString({ unlink($0) }) == 0 else { throw .io(operation: "remove", path: "\(path)", errno: errno) }
            removed += 1
        }
        return removed
    }

    /// The names in `folder` as the bytes they are (but `.` and `..`); none when it cannot be read.
    static func names(in folder: BytePath) -> [[UInt8]] {
        guard let directory = folder.withCString({ opendir($0) }) else { return [] }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")] { names.append(name) }
        }
        return names
    }

    enum Content: Equatable {
        case nothing, folder, other
        case file(size: Int64)
    }

    /// What is at `path`, without following a symbolic link.
    static func content(at path: BytePath) -> Content {
        var info = stat()
        guard path.withCString({ lstat($0, &info) }) == 0 else { return .nothing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(size: Int64(info.st_size))
        case S_IFDIR: return .folder
        default: return .other
        }
    }
}
