import FileSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Objects as files under a folder: `ROOT/data/ab/abcdef…`, `ROOT/keys/master`. A writer fills `ROOT/tmp/…`, fsyncs
/// it and renames it into place (links it, for `putIfAbsent`), then fsyncs the folder, so an object is either whole or
/// absent after a crash. A writer made with `durably: false` skips both fsyncs: `makeDurable` makes many objects durable
/// later in one call (group commit), before anything names them.
public struct LocalFolderStore: ObjectStore {
    public let root: String

    public init(root: String) throws(StoreError) {
        self.root = root
        for folder in [root, root + "/tmp"] + Self.topFolders.map({ root + "/" + $0 }) {
            try makeDirectory(folder)
        }
    }

    /// The folders objects are named under: `index/` is format 1's journal; `log/`, `items/` and `checkpoints/` format 2's.
    static let topFolders = ["data", "keys", "index", "log", "items", "checkpoints"]

    func path(of name: ObjectName) -> String {
        let parts = name.path.split(separator: "/")
        // Fan data objects out into 256 folders so no folder grows huge.
        if parts.count == 2, parts[0] == "data", parts[1].count > 2 {
            return "\(root)/data/\(parts[1].prefix(2))/\(parts[1])"
        }
        return "\(root)/\(name.path)"
    }

    public func makeWriter(for name: ObjectName) throws(StoreError) -> any ObjectWriter {
        try localWriter(for: name)
    }

    public func makeWriter(for name: ObjectName, durably: Bool) throws(StoreError) -> any ObjectWriter {
        try localWriter(for: name, durably: durably)
    }

    /// One `syncfs` of the store's file system: the objects, and the folder entries that name them, all at once.
    public func makeDurable(_ names: [ObjectName]) throws(StoreError) {
        guard !names.isEmpty else { return }
        do throws(Errno) { try FileIO.syncFileSystem(holding: BytePath(root)) } catch {
            throw .io(operation: "syncfs", path: root, errno: error.code)
        }
    }

    /// A writer filling a new file in `tmp/`, with the object's folder made (the first object under a new prefix).
    private func localWriter(for name: ObjectName, durably: Bool = true) throws(StoreError) -> LocalObjectWriter {
        let final = path(of: name)
        try makeDirectory(folder(of: final))
        let temp = "\(root)/tmp/\(ObjectID.random().hex).partial"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(operation: "create", path: temp, errno: errno) }
        return LocalObjectWriter(fd: fd, tempPath: temp, finalPath: final, durably: durably)
    }

    public func read(_ name: ObjectName, range: Range<UInt64>?, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let file = path(of: name)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw errno == ENOENT ? StoreError.notFound(name.path) : StoreError.io(operation: "open", path: file, errno: errno)
        }
        defer { close(fd) }
        var offset = range?.lowerBound ?? 0
        let end = range?.upperBound ?? UInt64.max
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while offset < end {
            let want = Int(min(UInt64(buffer.count), end - offset))
            let got = pread(fd, buffer.baseAddress, want, off_t(offset))
            if got < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "read", path: file, errno: errno)
            }
            if got == 0 { break }
            try sink(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
            offset += UInt64(got)
        }
    }

    public func size(of name: ObjectName) throws(StoreError) -> UInt64? {
        var info = stat()
        let file = path(of: name)
        guard stat(file, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw .io(operation: "stat", path: file, errno: errno)
        }
        return UInt64(info.st_size)
    }

    /// The names of the files under the root (but `tmp/`), filtered and sorted; only the top folder a prefix with a
    /// slash names is walked. A file whose name is no object name (a stray file) is not listed.
    public func list(prefix: String, after: String?) throws(StoreError) -> [ObjectName] {
        let start = prefix.contains("/") ? "\(root)/\(prefix.prefix { $0 != "/" })" : root
        var names: [ObjectName] = []
        for file in try listFiles(under: start) {
            if let name = objectName(ofFile: file.dropFirst(root.count + 1)), name.isListed(prefix: prefix, after: after) {
                names.append(name)
            }
        }
        return names.sorted()
    }

    /// The object `path(of:)` puts at `relative` (a path under the root); nil for a temporary file or a stray one.
    private func objectName(ofFile relative: Substring) -> ObjectName? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        if parts.first == "tmp" { return nil }
        if parts.count == 3, parts[0] == "data", parts[1].count == 2, parts[2].count > 2, parts[2].hasPrefix(parts[1]) {
            return try? ObjectName("data/\(parts[2])")
        }
        return try? ObjectName(String(relative))
    }

    /// The files' modification times: an object file is written once and renamed into place.
    public func listing(prefix: String) throws(StoreError) -> [StoredObject] {
        var objects: [StoredObject] = []
        for name in try list(prefix: prefix) {
            var info = stat()
            let file = path(of: name)
            guard stat(file, &info) == 0 else {
                if errno == ENOENT { continue }  // deleted since the listing
                throw .io(operation: "stat", path: file, errno: errno)
            }
            let seconds = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            objects.append(StoredObject(name: name, modified: Date(timeIntervalSince1970: seconds)))
        }
        return objects
    }

    public func delete(_ name: ObjectName) throws(StoreError) {
        let file = path(of: name)
        guard unlink(file) == 0 || errno == ENOENT else { throw .io(operation: "delete", path: file, errno: errno) }
    }

    /// A writer's file linked into place, which fails rather than replace an existing object.
    @discardableResult
    public func putIfAbsent(_ name: ObjectName, bytes: [UInt8]) throws(StoreError) -> Bool {
        try putIfAbsent(name, bytes: bytes, durably: true)
    }

    @discardableResult
    public func putIfAbsent(_ name: ObjectName, bytes: [UInt8], durably: Bool) throws(StoreError) -> Bool {
        let writer = try localWriter(for: name, durably: durably)
        try writer.write(bytes)  // on failure the dropped writer removes its file
        return try writer.commitUnlessPresent()
    }

    /// Every file in `tmp/` is a killed writer's: only one process writes to a library folder at a time.
    public func removeAbandonedUploads(of orphans: [ObjectName]) throws(StoreError) {
        for entry in try listFiles(under: root + "/tmp") { unlink(entry) }
    }
}

final class LocalObjectWriter: ObjectWriter {
    private var fd: Int32
    private let tempPath: String
    private let finalPath: String
    /// False: `commit` neither fsyncs the file nor its folder (`LocalFolderStore.makeDurable` does, later).
    private let durably: Bool

    init(fd: Int32, tempPath: String, finalPath: String, durably: Bool) {
        self.fd = fd
        self.tempPath = tempPath
        self.finalPath = finalPath
        self.durably = durably
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        do throws(Errno) { try FileIO.writeFully(fd, bytes) } catch {
            throw .io(operation: "write", path: tempPath, errno: error.code)
        }
    }

    func commit() throws(StoreError) {
        _ = try place(replacing: true)
    }

    /// Puts the object in place unless one of its name exists: link(2), which fails rather than replace, where
    /// `commit` renames. False when one existed: it is left as it was.
    func commitUnlessPresent() throws(StoreError) -> Bool {
        try place(replacing: false)
    }

    private func place(replacing: Bool) throws(StoreError) -> Bool {
        guard fd >= 0 else { throw .unusable("writer for \(finalPath) already closed") }
        guard !durably || fsync(fd) == 0 else { throw .io(operation: "fsync", path: tempPath, errno: errno) }
        close(fd)
        fd = -1
        if replacing {
            guard rename(tempPath, finalPath) == 0 else {
                let code = errno
                unlink(tempPath)
                throw .io(operation: "rename", path: finalPath, errno: code)
            }
        } else {
            let linked = link(tempPath, finalPath) == 0, code = errno
            unlink(tempPath)
            guard linked else {
                if code == EEXIST { return false }
                throw .io(operation: "link", path: finalPath, errno: code)
            }
        }
        if durably { try syncDirectory(folder(of: finalPath)) }
        return true
    }

    func abort() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(tempPath)
    }
}

/// The folder `path` is in.
fileprivate func folder(of path: String) -> String {
    String(path[..<path.lastIndex(of: "/")!])
}

/// Makes the folder `path` and its missing parents, durably.
func makeDirectory(_ path: String) throws(StoreError) {
    do throws(Errno) { try FileIO.makeDirectory(BytePath(path), mode: 0o700) } catch {
        throw .io(operation: "mkdir", path: path, errno: error.code)
    }
}

/// Makes the names created, renamed or removed in the folder `path` durable.
func syncDirectory(_ path: String) throws(StoreError) {
    do throws(Errno) { try FileIO.syncDirectory(BytePath(path)) } catch {
        throw .io(operation: "fsync", path: path, errno: error.code)
    }
}

/// Regular files under `folder`, recursively, as full paths.
func listFiles(under folder: String) throws(StoreError) -> [String] {
    guard let dir = opendir(folder) else {
        if errno == ENOENT { return [] }
        throw .io(operation: "list", path: folder, errno: errno)
    }
    defer { closedir(dir) }
    var files: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        if name == "." || name == ".." { continue }
        let full = "\(folder)/\(name)"
        var isFolder = entry.pointee.d_type == DT_DIR
        if entry.pointee.d_type == DT_UNKNOWN {  // a file system that does not say: ask
            var info = stat()
            isFolder = lstat(full, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }
        if isFolder { files += try listFiles(under: full) } else { files.append(full) }
    }
    return files
}
