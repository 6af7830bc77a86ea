import FileSystem
#if canImport(Glibc)
import Glibc
#endif

/// A file found under one of the folders given to `ingest`.
public struct DiscoveredFile: Sendable, Hashable {
    /// The path's exact bytes, which may not be UTF-8.
    public var path: BytePath
    /// The name of the folder the file sits in (for `--album-per-folder`), escaped as `BytePath` prints it.
    public var folderName: String
    public var size: Int64
}

/// A path the walk did not take, and why.
public struct SkippedPath: Sendable, Equatable {
    public var path: BytePath
    public var reason: String
}

/// What the walk left out, and why, for the summary.
public struct DiscoverySkips: Sendable {
    public var hidden = 0, systemFiles = 0, sidecars = 0
    /// Files and folders left out by `--exclude` or a `.keepsakeignore` (an excluded folder is not walked).
    public var excludedFiles = 0, excludedFolders = 0
    public var excluded: Int { excludedFiles + excludedFolders }
    /// Skipped as not regular files: FIFOs, sockets, devices (or symlinks to them), and symlinks back to a folder
    /// already walked. Nothing of the user's is lost by leaving them.
    public var notRegular: [SkippedPath] = []
    /// What could not be read: folders, dangling symlinks, symlinks that loop, entries `stat` refuses. Failures.
    public var unreadable: [SkippedPath] = []
}

/// Walks folders recursively (SPEC 2, step 1): skips hidden entries, `.DS_Store`, `Thumbs.db`, `@eaDir`,
/// and sidecars (`.xmp`, `.json`, read as metadata by the media stage); follows symlinks without looping.
///
/// Names are bytes (`BytePath`), and each folder is read through a descriptor relative to its parent's (`openat`,
/// `fdopendir`, `fstatat`), so neither a name that is not UTF-8 nor a path over 4,096 bytes is lost on the way.
public enum Discovery {
    static let systemNames: Set<String> = [".DS_Store", "Thumbs.db", "@eaDir", "desktop.ini", "@__thumb", ".thumbnails"]
    static let sidecarExtensions: Set<String> = ["xmp", "json", "aae"]

    /// `exclude` are gitignore patterns rooted at each folder in `roots` (a file given itself is always taken).
    public static func walk(_ roots: [BytePath], exclude: [String] = []) -> (files: [DiscoveredFile], skips: DiscoverySkips) {
        var walk = Walk()
        for root in roots {
            let trimmed = root.bytes.count > 1 && root.bytes.last == UInt8(ascii: "/") ? BytePath(bytes: root.bytes.dropLast()) : root
            let fd: Int32
            do { fd = try PathOpener.open(trimmed, flags: O_PATH) } catch {
                walk.skips.unreadable.append(SkippedPath(path: trimmed, reason: "\(error)"))
                continue
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                walk.skips.unreadable.append(SkippedPath(path: trimmed, reason: "\(Errno.current)"))
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: walk.enter(fd, name: ArraySlice(".".utf8), path: trimmed, info: info,
                                     rules: Exclusions(patterns: exclude), relative: [])
            case S_IFREG: walk.files.append(DiscoveredFile(path: trimmed, folderName: folderName(of: trimmed), size: Int64(info.st_size)))
            default: walk.skips.notRegular.append(SkippedPath(path: trimmed, reason: notRegularReason(info.st_mode, viaSymlink: false)))
            }
        }
        return (walk.files, walk.skips)
    }

    private struct FileIdentity: Hashable { var device: UInt64; var inode: UInt64 }

    private struct Walk {
        var files: [DiscoveredFile] = []
        var skips = DiscoverySkips()
        var visited = Set<FileIdentity>()

        /// Opens the folder `name` in `parent` and walks it, unless it was walked already (a symlink back up).
        /// `rules` are those of the folders above; `relative` is the folder's path below the root.
        mutating func enter(_ parent: Int32, name: some Collection<UInt8>, path: BytePath, info: stat,
                            rules: Exclusions, relative: [ArraySlice<UInt8>]) {
            guard visited.insert(FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))).inserted else {
                skips.notRegular.append(SkippedPath(path: path, reason: "symlink loop: a folder already walked"))
                return
            }
            let fd: Int32
            do { fd = try PathOpener.openAt(parent, name, flags: O_RDONLY | O_DIRECTORY) } catch {
                skips.unreadable.append(SkippedPath(path: path, reason: "cannot open folder: \(error)"))
                return
            }
            guard let dir = fdopendir(fd) else {
                skips.unreadable.append(SkippedPath(path: path, reason: "cannot open folder: \(Errno.current)"))
                close(fd)
                return
            }
            defer { closedir(dir) }
            var rules = rules
            do throws(Errno) { try rules.enter(folder: fd, depth: relative.count) } catch {
                // Like git with an unreadable .gitignore: the folder is walked without it, and the run says so.
                let file = path.appending(Exclusions.fileName)
                skips.unreadable.append(SkippedPath(path: file, reason: "cannot read the exclusions file (\(error)); its folder was walked without it"))
            }
            walkEntries(of: dir, path: path, rules: rules, relative: relative)
        }

        private mutating func walkEntries(of dir: OpaquePointer, path: BytePath, rules: Exclusions, relative: [ArraySlice<UInt8>]) {
            let folder = dirfd(dir)
            var names: [[UInt8]] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
                if name != Array(".".utf8) && name != Array("..".utf8) { names.append(name) }
            }
            let leaf = path.lastComponent.description
            for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let text = String(decoding: name, as: UTF8.self)  // only for the ASCII tests below
                if systemNames.contains(text) { skips.systemFiles += 1; continue }
                if name.first == UInt8(ascii: ".") { skips.hidden += 1; continue }
                let full = path.appending(name)
                var info = stat()
                guard PathOpener.withCString(name, { fstatat(folder, $0, &info, 0) }) == 0 else {  // follows symlinks
                    skips.unreadable.append(SkippedPath(path: full, reason: unreadableReason(Errno.current, folder: folder, name: name)))
                    continue
                }
                let isFolder = info.st_mode & S_IFMT == S_IFDIR
                if rules.excludes(relative + [name[...]], isFolder: isFolder) {
                    if isFolder { skips.excludedFolders += 1 } else { skips.excludedFiles += 1 }
                    continue
                }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    enter(folder, name: name, path: full, info: info, rules: rules, relative: relative + [name[...]])
                case S_IFREG:
                    if isSidecar(text) {
                        skips.sidecars += 1
                        continue
                    }
                    files.append(DiscoveredFile(path: full, folderName: leaf, size: Int64(info.st_size)))
                default:
                    let viaSymlink = isSymlink(folder: folder, name: name)
                    skips.notRegular.append(SkippedPath(path: full, reason: notRegularReason(info.st_mode, viaSymlink: viaSymlink)))
                }
            }
        }
    }

    private static func isSymlink(folder: Int32, name: [UInt8]) -> Bool {
        var info = stat()
        return PathOpener.withCString(name, { fstatat(folder, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    private static func unreadableReason(_ error: Errno, folder: Int32, name: [UInt8]) -> String {
        if error.code == ELOOP { return "symlink loop: the link never reaches a file" }
        if error.code == ENOENT, isSymlink(folder: folder, name: name) { return "dangling symlink: its target does not exist" }
        return "\(error)"
    }

    private static func notRegularReason(_ mode: mode_t, viaSymlink: Bool) -> String {
        let kind = switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "not a file or folder"
        }
        return "not a regular file: " + (viaSymlink ? "a symlink to " : "") + kind
    }

    /// False for the names the walk leaves out (hidden, system folders and files), so a watcher can skip them too.
    public static func isWalked(name: String) -> Bool {
        !systemNames.contains(name) && !name.hasPrefix(".")
    }

    /// Sidecars are read as metadata of their media, never ingested themselves.
    public static func isSidecar(_ name: String) -> Bool {
        guard name.contains("."), let ext = name.split(separator: ".").last else { return false }
        return sidecarExtensions.contains(ext.lowercased())
    }

    static func folderName(of path: BytePath) -> String {
        let parts = path.components
        return parts.count >= 2 ? BytePath(bytes: parts[parts.count - 2]).description : "/"
    }
}
