#if canImport(Glibc)
import Glibc
#endif

/// The POSIX steps every module takes alike (the local store, export, the worker pipe): writing all of a buffer, and
/// making files and folders survive a crash. Each retries what an interrupted call left undone and throws the
/// `errno` that stopped it.
public enum FileIO {
    /// Writes all of `bytes` to `fd`, retrying short and interrupted writes.
    public static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            offset += written
        }
    }

    /// The whole of the file at `path`, read to its end (the size `stat` gives is not trusted: `/proc` files say 0,
    /// and Foundation's `String(contentsOfFile:)` then reads one page of them); nil when there is no such file.
    public static func readAll(_ path: BytePath) throws(Errno) -> [UInt8]? {
        let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .current
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            if got == 0 { return bytes }
            bytes.append(contentsOf: buffer[..<got])
        }
    }

    /// Makes the names created, renamed or removed in the folder `path` durable (fsync of the folder).
    public static func syncDirectory(_ path: BytePath) throws(Errno) {
        let fd = path.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw .current }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .current }
    }

    /// Makes everything written to the file system that holds `path` survive a crash, files' contents and names alike,
    /// in one call (`syncfs`): how many files written without fsync (and renamed or linked into place) are made durable
    /// together. It reports a write-back error of any of them (Linux 5.8 and later). On ext4 it costs about one fsync,
    /// where an fsync of each file and each folder costs one journal commit each; it also writes back what other
    /// programs have written to that file system, which the kernel would have written back within 30 s anyway.
    public static func syncFileSystem(holding path: BytePath) throws(Errno) {
        guard let syncfs = syncFileSystemCall else { throw Errno(ENOSYS) }
        let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw .current }
        defer { close(fd) }
        guard syncfs(fd) == 0 else { throw .current }
    }

    /// glibc's `syncfs`, looked up at run time: Swift's Glibc module leaves it out (it is declared under `_GNU_SOURCE`).
    private typealias SyncFileSystem = @convention(c) (Int32) -> Int32
    private static let syncFileSystemCall: SyncFileSystem? = dlsym(nil, "syncfs").map { unsafeBitCast($0, to: SyncFileSystem.self) }

    /// Creates the folder `path` and its missing parents with `mode`, each durably (the folder it was made in is
    /// fsynced), so a file later made durable in it cannot vanish with its folder in a crash. Nothing to do when the
    /// folder exists; `ENOTDIR` when something else has its name.
    public static func makeDirectory(_ path: BytePath, mode: mode_t) throws(Errno) {
        if path.withCString({ mkdir($0, mode) }) == 0 {
            try syncDirectory(path.parent)
            return
        }
        switch errno {
        case EEXIST:
            var info = stat()
            guard path.withCString({ stat($0, &info) }) == 0 else { throw .current }
            guard info.st_mode & S_IFMT == S_IFDIR else { throw Errno(ENOTDIR) }
        case ENOENT where path.parent != path:
            try makeDirectory(path.parent, mode: mode)
            guard path.withCString({ mkdir($0, mode) }) == 0 || errno == EEXIST else { throw .current }
            try syncDirectory(path.parent)
        default:
            throw .current
        }
    }
}

/// A file that lives in memory only (`memfd_create`): what a media worker reads a stored original from, so that its
/// plaintext never touches a disk. The media work opens it read-only as `path(of:)` and hands a worker that descriptor.
public enum MemoryFile {
    /// glibc's `memfd_create`, looked up at run time: Swift's Glibc module leaves it out (it is declared under
    /// `_GNU_SOURCE`), and `syscall` is variadic, which Swift cannot call.
    private typealias Create = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    private static let create: Create? = dlsym(nil, "memfd_create").map { unsafeBitCast($0, to: Create.self) }
    private static let closeOnExec: UInt32 = 1  // MFD_CLOEXEC

    /// A new empty memory file named `name` (for /proc listings), opened read-write; the caller closes it.
    public static func make(name: String) throws(Errno) -> Int32 {
        guard let create else { throw Errno(ENOSYS) }
        let fd = create(name, closeOnExec)
        guard fd >= 0 else { throw .current }
        return fd
    }

    /// The path by which this process opens `fd` anew (a description of its own, read-only if asked): no other
    /// process can, this one being not dumpable (`ProcessSecrets`).
    public static func path(of fd: Int32) -> BytePath { BytePath("/proc/self/fd/\(fd)") }
}
