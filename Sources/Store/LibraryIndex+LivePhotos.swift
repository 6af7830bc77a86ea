import FileSystem
import Foundation
import GRDB

/// A library item that may be one half of a Live Photo whose other half arrives later: a single-image or single-video
/// item, not deleted, with its one original.
public struct LivePhotoHalf: Sendable {
    public var item: ItemRecord
    public var original: OriginalRecord
}

extension LibraryIndex {
    /// Originals by source path: each run looks up the items in the folders it has files in.
    static func registerLivePhotoMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-originals-by-path") { db in
            try db.execute(sql: "CREATE INDEX originals_path ON originals(sourcePath)")
        }
    }

    /// The single-image and single-video items, not deleted, whose original lies directly in one of `folders` (where a
    /// phone sync tool puts a Live Photo's still and video, perhaps minutes apart).
    func livePhotoHalves(inFolders folders: Set<BytePath>) throws(LibraryError) -> [LivePhotoHalf] {
        try read { db in
            var halves: [LivePhotoHalf] = []
            for folder in folders.sorted() {
                // Paths are compared as bytes (TEXT and BLOB alike): the range of paths that start with "folder/".
                let prefix = folder.bytes.last == UInt8(ascii: "/") ? folder.bytes : folder.bytes + [UInt8(ascii: "/")]
                let end = BytePath(bytes: prefix.dropLast() + [UInt8(ascii: "/") + 1])
                let originals = try OriginalRecord.fetchAll(db, sql: """
                    SELECT o.* FROM originals o JOIN items i ON i.id = o.itemId
                    WHERE o.sourcePath >= ? AND o.sourcePath < ? AND i.type IN ('image', 'video') AND i.deletedAt IS NULL
                      AND (SELECT COUNT(*) FROM originals WHERE itemId = o.itemId) = 1
                    ORDER BY o.itemId
                    """, arguments: [BytePath(bytes: prefix), end])
                for original in originals where original.sourcePath.parent == folder {
                    guard let item = try ItemRecord.fetchOne(db, key: original.itemId) else { continue }
                    halves.append(LivePhotoHalf(item: item, original: original))
                }
            }
            return halves
        }
    }
}
