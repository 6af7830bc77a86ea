import FileSystem
#if canImport(Glibc)
import Glibc
#endif

/// What is left out of a walk below one folder given to `ingest` or watched: the `--exclude` patterns, rooted at that
/// folder, and the `.keepsakeignore` file of each folder on the way down, as git reads `.gitignore`: a file's
/// patterns apply to its folder and below, a deeper file overrides a shallower one, and within one source the last
/// matching line decides. The `--exclude` patterns come first, like patterns on git's command line.
public struct Exclusions: Sendable {
    public static let fileName = ".keepsakeignore"
    /// The largest `.keepsakeignore` read; a longer one is a problem of its folder.
    static let maximumFileSize = 1 << 20

    /// Patterns of one source, and the folder they are relative to (its depth below the root).
    struct Source: Sendable {
        var depth: Int
        var patterns: [IgnorePattern]
    }

    let commandLine: [IgnorePattern]
    /// The `.keepsakeignore` files from the root down to the current folder.
    private(set) var files: [Source] = []

    public init(patterns: [String]) {
        commandLine = patterns.compactMap { IgnorePattern($0) }
    }

    public var isEmpty: Bool { commandLine.isEmpty && files.isEmpty }

    /// Whether the entry at `path` (its components relative to the root) is excluded; `isFolder` for a folder.
    public func excludes(_ path: [ArraySlice<UInt8>], isFolder: Bool) -> Bool {
        if let decided = Self.decide(commandLine, path, isFolder: isFolder) { return decided }
        for source in files.reversed() where source.depth < path.count {
            if let decided = Self.decide(source.patterns, Array(path[source.depth...]), isFolder: isFolder) { return decided }
        }
        return false
    }

    /// The last matching pattern's verdict; nil when none matches.
    private static func decide(_ patterns: [IgnorePattern], _ path: [ArraySlice<UInt8>], isFolder: Bool) -> Bool? {
        patterns.last { $0.matches(path, isFolder: isFolder) }.map { !$0.negated }
    }

    /// Adds the `.keepsakeignore` of the folder open as `folder`, `depth` names below the root, to the rules of what
    /// is under it. Throws when the file exists and cannot be read (or is larger than 1 MiB).
    public mutating func enter(folder: Int32, depth: Int) throws(Errno) {
        files.removeAll { $0.depth >= depth }
        guard let contents = try Self.readIgnoreFile(in: folder) else { return }
        let patterns = contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).compactMap { IgnorePattern(line: $0) }
        if !patterns.isEmpty { files.append(Source(depth: depth, patterns: patterns)) }
    }

    /// The bytes of `.keepsakeignore` in `folder`; nil when there is none.
    private static func readIgnoreFile(in folder: Int32) throws(Errno) -> [UInt8]? {
        let fd: Int32
        do { fd = try PathOpener.openAt(folder, Array(fileName.utf8), flags: O_RDONLY | O_NONBLOCK) } catch {
            if error.code == ENOENT { return nil }
            throw error
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .current }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Errno(info.st_mode & S_IFMT == S_IFDIR ? EISDIR : EINVAL) }
        guard info.st_size <= maximumFileSize else { throw Errno(EFBIG) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)  // one more: a file that grew is read whole
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            if got == 0 { break }
            count += got
        }
        if count == bytes.count { throw Errno(EAGAIN) }  // being written: read at the next walk
        return Array(bytes[..<count])
    }

    /// Whether `file`, under the folder `root`, is excluded by `patterns` and the `.keepsakeignore` files from
    /// `root` down to the file's folder, or lies in an excluded folder: for the daemon, which takes files one by one.
    /// An ignore file that cannot be read is passed over, as the walk does (which reports it).
    public static func excludes(_ file: BytePath, under root: BytePath, patterns: [String]) -> Bool {
        let rootNames = root.components, names = file.components
        guard names.count > rootNames.count, Array(names.prefix(rootNames.count)) == rootNames else { return false }
        let relative = Array(names[rootNames.count...])
        var rules = Exclusions(patterns: patterns)
        guard var folder = try? PathOpener.open(root, flags: O_PATH | O_DIRECTORY) else { return false }
        defer { close(folder) }
        for depth in 0..<relative.count {
            try? rules.enter(folder: folder, depth: depth)
            let isFolder = depth < relative.count - 1
            if rules.excludes(Array(relative[...depth]), isFolder: isFolder) { return true }
            guard isFolder, let next = try? PathOpener.openAt(folder, relative[depth], flags: O_PATH | O_DIRECTORY) else { break }
            close(folder)
            folder = next
        }
        return false
    }
}
