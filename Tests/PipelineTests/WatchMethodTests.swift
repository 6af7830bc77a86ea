import Foundation
import Store
import Testing
@testable import Daemon

/// How `watch add` and the daemon tell a network or FUSE file system, on which inotify misses other machines' writes,
/// from a local one: the `statfs` magic numbers.
struct WatchMethodTests {
    @Test func networkAndFuseFileSystemsAreKnownByTheirMagicNumber() {
        let remote: [UInt32: String] = [0x6969: "nfs", 0x517B: "smb", 0xFF53_4D42: "cifs", 0xFE53_4D42: "smb3",
                                         0x6573_5546: "fuse", 0x0102_1997: "9p", 0x00C3_6400: "ceph"]
        for (magic, name) in remote { #expect(RemoteFileSystem.magicNumbers[magic] == name, "\(String(magic, radix: 16))") }
        // ext4, XFS, Btrfs, tmpfs, overlayfs, ZFS, F2FS, vfat, exFAT, NTFS (ntfs3), procfs, sysfs: inotify sees everything.
        let local: [UInt32] = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630, 0x2FC1_2FC1, 0xF2F5_2010,
                               0x4D44, 0x2011_BAB0, 0x7366_746E, 0x9FA0, 0x6265_6572]
        for magic in local { #expect(RemoteFileSystem.magicNumbers[magic] == nil, "\(String(magic, radix: 16))") }
    }

    /// The magic number is read from the kernel, not assumed: /proc and /sys have theirs.
    @Test func statfsGivesTheMountsMagicNumber() throws {
        #expect(RemoteFileSystem.magic(of: "/proc") == 0x9FA0)
        #expect(RemoteFileSystem.magic(of: "/sys") == 0x6265_6572)
        #expect(RemoteFileSystem.magic(of: "/no/such/folder") == nil)
        let folder = FileManager.default.temporaryDirectory.path
        #expect(RemoteFileSystem.magic(of: folder) != nil)
    }

    @Test func pollForcesRescansAnywhere() throws {
        let folder = FileManager.default.temporaryDirectory.path
        try #require(RemoteFileSystem.of(folder) == nil, "the temporary folder is on a local file system")
        #expect(WatchMethod(of: WatchRecord(path: folder, mode: .single)) == .inotify)
        #expect(WatchMethod(of: WatchRecord(path: folder, mode: .single, poll: true, pollInterval: 30))
                == .rescan(everySeconds: 30, fileSystem: nil))
        #expect(WatchMethod(of: WatchRecord(path: folder, mode: .single, poll: true)).description == "rescanned every 300 s (--poll)")
    }
}
