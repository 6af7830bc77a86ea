import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

/// How the daemon follows a watched folder: inotify, or a rescan every so often where inotify cannot see the changes
/// (a network or FUSE file system, on which another machine writes), or where the watch asks for it (`--poll`).
public enum WatchMethod: Sendable, Equatable {
    case inotify
    /// `fileSystem` is the file system that called for it; nil when `--poll` did.
    case rescan(everySeconds: Int, fileSystem: String?)

    /// For `watch`, as its folder is now: the file system is looked at each time (a NAS mounted after `watch add`
    /// changes the method).
    public init(of watch: WatchRecord) {
        let remote = RemoteFileSystem.of(watch.path)
        if watch.poll || remote != nil {
            self = .rescan(everySeconds: watch.pollInterval, fileSystem: watch.poll ? nil : remote)
        } else {
            self = .inotify
        }
    }

    /// For `watch list` and `status`.
    public var description: String {
        switch self {
        case .inotify: "inotify"
        case .rescan(let seconds, nil): "rescanned every \(seconds) s (--poll)"
        case .rescan(let seconds, let fileSystem?):
            "rescanned every \(seconds) s (\(fileSystem): inotify misses what other machines write there)"
        }
    }
}

/// The file systems on which inotify sees only what this machine writes: network and cluster file systems, and FUSE
/// (sshfs, rclone, s3fs, virtiofs…), known by the `f_type` magic number `statfs(2)` gives their mount.
public enum RemoteFileSystem {
    /// From linux/magic.h and the file systems' sources.
    public static let magicNumbers: [UInt32: String] = [
        0x6969: "nfs",
        0x517B: "smb",
        0xFF53_4D42: "cifs",
        0xFE53_4D42: "smb3",
        0x6573_5546: "fuse",
        0x0102_1997: "9p",
        0x00C3_6400: "ceph",
        0x5346_414F: "afs",
        0x6B41_4653: "afs",
        0x7375_7245: "coda",
        0x564C: "ncpfs",
        0x7461_636F: "ocfs2",
        0x0116_1970: "gfs2",
        0x0BD0_0BD0: "lustre",
        0x4750_4653: "gpfs",
        0x786F_4256: "vboxsf",
    ]

    /// The name of the remote file system holding `path`, nil for a local one (or when `statfs` fails: an unmounted
    /// share is a local empty folder until it is mounted).
    public static func of(_ path: String) -> String? {
        magic(of: path).flatMap { magicNumbers[$0] }
    }

    /// glibc's `statfs`, looked up at run time: Swift's Glibc module leaves it out. Its `struct statfs` starts with
    /// `f_type`, a `long`, on every 64-bit Linux; the rest of the (120-byte) structure is not read.
    private typealias StatFS = @convention(c) (UnsafePointer<CChar>, UnsafeMutableRawPointer) -> Int32
    private static let statfs: StatFS? = dlsym(nil, "statfs").map { unsafeBitCast($0, to: StatFS.self) }

    static func magic(of path: String) -> UInt32? {
        guard let statfs else { return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        let result = buffer.withUnsafeMutableBytes { statfs(path, $0.baseAddress!) }
        guard result == 0 else { return nil }
        return UInt32(truncatingIfNeeded: buffer.withUnsafeBytes { $0.load(as: Int.self) })
    }
}
