#if canImport(Glibc)
import FileSystem
import Glibc
#endif

/// What the export folder's file system accepts as a name: any byte but `/` and NUL (ext4, XFS, Btrfs, tmpfs, ZFS,
/// F2FS…), or Windows' rules (FAT, exFAT, NTFS, SMB shares). Known by the type of its mount; an unknown one (NFS, sshfs…)
/// is tried: a probe file whose name breaks Windows' rules is created in the export folder.
public struct TargetFileSystem: Sendable, Equatable {
    /// Its usual name, as said in the summary (`ext4`, `vfat`…).
    public var name: String
    /// No `\ : * ? " < > |`, no control characters, no trailing dot or space, no CON, PRN…; UTF-8 only.
    public var windowsRules: Bool
    /// `IMG.JPG` and `img.jpg` are one file.
    public var caseInsensitive: Bool

    public init(name: String, windowsRules: Bool, caseInsensitive: Bool) {
        self.name = name
        self.windowsRules = windowsRules
        self.caseInsensitive = caseInsensitive
    }

    static func posix(_ name: String) -> TargetFileSystem { .init(name: name, windowsRules: false, caseInsensitive: false) }
    static func windows(_ name: String) -> TargetFileSystem { .init(name: name, windowsRules: true, caseInsensitive: true) }

    public static let vfat = windows("vfat")

    /// By the type `/proc/self/mountinfo` gives the mount (Glibc's Swift module has no `statfs`).
    private static let known: [String: TargetFileSystem] = Dictionary(uniqueKeysWithValues:
        ["ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "zfs", "f2fs", "overlay", "reiserfs", "jfs",
         "bcachefs", "nilfs2"].map { ($0, posix($0)) }
        // fuseblk is ntfs-3g or exFAT on a USB disk (a FUSE file system on a block device).
        + ["vfat", "msdos", "exfat", "ntfs", "ntfs3", "fuseblk", "cifs", "smb3", "smbfs"].map { ($0, windows($0)) })

    /// The file system of the (existing) folder `path`.
    static func of(_ path: String) -> TargetFileSystem {
        let type = mountType(of: path)
        return type.flatMap { known[$0] } ?? probed(path, type: type)
    }

    /// The type of the mount that holds `path`: the last mounted one whose mount point is the longest that contains it.
    static func mountType(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let real = String(cString: resolved)
        free(resolved)
        guard let table = try? DurableFile.contents(of: BytePath("/proc/self/mountinfo")) else { return nil }
        var best: (point: String, type: String)?
        for line in String(decoding: table, as: UTF8.self).split(separator: "\n") {
            // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 6, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            let point = unescaped(fields[4])
            let contains = point == "/" || real == point || real.hasPrefix(point + "/")
            if contains, point.utf8.count >= (best?.point.utf8.count ?? 0) { best = (point, String(fields[dash + 1])) }
        }
        return best?.type
    }

    /// mountinfo writes a space, tab, newline and backslash in a path as `\040`, `\011`, `\012`, `\134`.
    private static func unescaped(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var rest = Array(field.utf8)[...]
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "\\"), rest.count >= 3, let code = UInt8(String(decoding: rest.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(code)
                rest = rest.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An unknown file system, tried: does it take a name with `:` and a byte that is not UTF-8, and does it tell
    /// `a` from `A`? The probes are named like partial files, so a killed run's are removed by the next.
    static func probed(_ path: String, type: String?) -> TargetFileSystem {
        let name = type ?? "unknown"
        let folder = BytePath(path)
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let awkward = folder.appending(Array(".\(tag):?".utf8) + [0xFF] + Array(DurableFile.partialSuffix.utf8))
        guard create(awkward) else { return .windows(name) }
        _ = awkward.withCString { unlink($0) }
        let lower = folder.appending(".\(tag)a\(DurableFile.partialSuffix)")
        let upper = folder.appending(".\(tag)A\(DurableFile.partialSuffix)")
        var caseInsensitive = false
        if create(lower) {
            caseInsensitive = DurableFile.content(at: upper) != .nothing
            _ = lower.withCString { unlink($0) }
        }
        return .init(name: name, windowsRules: false, caseInsensitive: caseInsensitive)
    }

    /// Creates an empty file at `path`; true when it could.
    private static func create(_ path: BytePath) -> Bool {
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}
