#if canImport(Glibc)
import Glibc
#endif

/// `O_PATH` (Linux, the same on every architecture): a descriptor that names a file or folder without opening it for
/// reading, for `fstat` and as the folder of `openat`. Glibc exports it only under `_GNU_SOURCE`, which Swift does not set.
public let O_PATH: Int32 = 0o10_000_000

/// An `errno` from a failed system call.
public struct Errno: Error, Equatable, CustomStringConvertible {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
    public static var current: Errno { Errno(errno) }
    public var description: String { String(cString: strerror(code)) }
}

/// Opens paths of any length: one component at a time, each relative to the descriptor of the folder before it,
/// so the kernel never sees a string longer than one name (a path over `PATH_MAX`, 4,096 bytes, opens like any
/// other). Symlinks are followed as `open(2)` follows them; one that loops fails with `ELOOP`.
public enum PathOpener {
    /// A descriptor for `path` opened with `flags` (`O_CLOEXEC` is added); the caller closes it.
    public static func open(_ path: BytePath, flags: Int32) throws(Errno) -> Int32 {
        let components = path.components
        guard let last = components.last else {
            return try openAt(AT_FDCWD, path.isAbsolute ? ArraySlice("/".utf8) : ArraySlice(".".utf8), flags: flags)
        }
        var folder = path.isAbsolute ? try openAt(AT_FDCWD, ArraySlice("/".utf8), flags: O_PATH | O_DIRECTORY) : AT_FDCWD
        defer { if folder != AT_FDCWD { close(folder) } }
        for component in components.dropLast() {
            let next = try openAt(folder, component, flags: O_PATH | O_DIRECTORY)
            if folder != AT_FDCWD { close(folder) }
            folder = next
        }
        return try openAt(folder, last, flags: flags)
    }

    /// `openat(folder, name, flags | O_CLOEXEC)`.
    public static func openAt(_ folder: Int32, _ name: some Collection<UInt8>, flags: Int32) throws(Errno) -> Int32 {
        let fd = withCString(name) { openat(folder, $0, flags | O_CLOEXEC) }
        guard fd >= 0 else { throw Errno.current }
        return fd
    }

    /// The path C libraries that insist on a path string can open `fd` by, whatever the file's own path.
    public static func procPath(of fd: Int32) -> String { "/proc/self/fd/\(fd)" }

    /// `name` NUL-terminated for a C call.
    public static func withCString<R>(_ name: some Collection<UInt8>, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        let terminated = Array(name) + [0]
        return try terminated.withUnsafeBufferPointer { try $0.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) } }
    }
}
