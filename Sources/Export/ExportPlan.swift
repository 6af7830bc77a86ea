import Store

/// One original to be found in one album folder.
struct PlannedFile: Sendable {
    var key: ExportKey
    var item: ItemRecord
    var original: OriginalRecord
    /// The original's name, as the bytes it had where it was ingested from.
    var name: [UInt8]
}

/// What the export folder should hold: every original of every live item, once per album it is in
/// (Uncategorized when it is in none), or only those of one album.
enum ExportPlan {
    static func files(in library: Library, album: String?) throws -> [PlannedFile] {
        var planned: [PlannedFile] = []
        for item in try library.liveItems(inAlbum: album) {
            let albums: [String?] = if let album { [album] } else {
                try library.albumNames(of: item.id).map(Optional.some)
            }
            let originals = try library.originals(of: item.id)
            for album in albums.isEmpty ? [nil] : albums {
                for original in originals {
                    planned.append(PlannedFile(key: ExportKey(itemId: item.id, role: original.role, album: album),
                                               item: item, original: original, name: original.name.bytes))
                }
            }
        }
        return planned
    }
}
