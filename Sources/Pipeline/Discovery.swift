#if canImport(Glibc)
import Glibc
#endif

/// A file found under one of the folders given to `ingest`.
public struct DiscoveredFile: Sendable, Hashable {
    public var path: String
    /// The name of the folder the file sits in (for `--album-per-folder`).
    public var folderName: String
    public var size: Int64
}

/// What the walk left out, and why, for the summary.
public struct DiscoverySkips: Sendable {
    public var hidden = 0, systemFiles = 0, sidecars = 0, symlinkLoops = 0, unreadable: [(path: String, reason: String)] = []
}

/// Walks folders recursively (SPEC 2, step 1): skips hidden entries, `.DS_Store`, `Thumbs.db`, `@eaDir`,
/// and sidecars (`.xmp`, `.json`, read as metadata by the media stage); follows symlinks without looping.
public enum Discovery {
    static let systemNames: Set<String> = [".DS_Store", "Thumbs.db", "@eaDir", "desktop.ini", "@__thumb", ".thumbnails"]
    static let sidecarExtensions: Set<String> = ["xmp", "json", "aae"]

    public static func walk(_ roots: [String]) -> (files: [DiscoveredFile], skips: DiscoverySkips) {
        var files: [DiscoveredFile] = []
        var skips = DiscoverySkips()
        var visited = Set<FileIdentity>()
        for root in roots {
            var info = stat()
            guard stat(root, &info) == 0 else {
                skips.unreadable.append((root, String(cString: strerror(errno))))
                continue
            }
            let trimmed = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
            if (info.st_mode & S_IFMT) == S_IFDIR {
                walkDirectory(trimmed, info: info, into: &files, skips: &skips, visited: &visited)
            } else {
                files.append(DiscoveredFile(path: trimmed, folderName: folderName(of: trimmed), size: Int64(info.st_size)))
            }
        }
        return (files, skips)
    }

    private struct FileIdentity: Hashable { var device: UInt64; var inode: UInt64 }

    private static func walkDirectory(_ path: String, info: stat, into files: inout [DiscoveredFile],
                                      skips: inout DiscoverySkips, visited: inout Set<FileIdentity>) {
        guard visited.insert(FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))).inserted else {
            skips.symlinkLoops += 1
            return
        }
        guard let dir = opendir(path) else {
            skips.unreadable.append((path, String(cString: strerror(errno))))
            return
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) })
        }
        closedir(dir)
        let leaf = path.split(separator: "/").last.map(String.init) ?? path
        for name in names.sorted() where name != "." && name != ".." {
            if systemNames.contains(name) { skips.systemFiles += 1; continue }
            if name.hasPrefix(".") { skips.hidden += 1; continue }
            let full = path == "/" ? "/" + name : path + "/" + name
            var entryInfo = stat()
            guard stat(full, &entryInfo) == 0 else {  // follows symlinks; a dangling one is reported
                skips.unreadable.append((full, String(cString: strerror(errno))))
                continue
            }
            switch entryInfo.st_mode & S_IFMT {
            case S_IFDIR:
                walkDirectory(full, info: entryInfo, into: &files, skips: &skips, visited: &visited)
            case S_IFREG:
                if isSidecar(name) {
                    skips.sidecars += 1
                    continue
                }
                files.append(DiscoveredFile(path: full, folderName: leaf, size: Int64(entryInfo.st_size)))
            default:
                continue  // sockets, devices, fifos
            }
        }
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

    static func folderName(of path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.count >= 2 ? String(parts[parts.count - 2]) : "/"
    }
}
