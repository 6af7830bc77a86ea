import FileSystem
import Foundation

/// Why the other half of a Live Photo could not complete the item that holds the first.
public enum LivePhotoCompletionError: Error, Sendable, CustomStringConvertible {
    /// The item changed since the run began (deleted, or completed by another machine): the next run pairs anew.
    case itemChanged(String)

    public var description: String {
        switch self {
        case .itemChanged(let id): "item \(id), the other half of this Live Photo, changed during the run; run ingest again"
        }
    }
}

/// Live Photos whose halves arrive in different runs (a phone sync tool copies the still and the video minutes
/// apart): the second half completes the item that holds the first. The new Live Photo item is sealed with the
/// first item's file key, reuses its objects (original, and the thumbnail or stream that half made), and replaces it
/// in one change (`Change.livePhotoMerge`): the old id becomes an alias, its albums, deletion and sources move.
extension Library {
    /// The single-image and single-video items, not deleted, whose original lies directly in one of `folders`.
    public func livePhotoHalves(inFolders folders: Set<BytePath>) throws -> [LivePhotoHalf] {
        try index.livePhotoHalves(inFolders: folders)
    }

    /// Starts storing the other half of the Live Photo whose first half is `half`, under that item's file key.
    public func beginUpload(completing half: LivePhotoHalf) throws -> UploadSession {
        UploadSession(library: self, fileKey: try fileKey(of: half.item.id), completing: half)
    }

    /// Commits `item` (both originals, its objects durable, `digests` those this session stored) in place of the item
    /// of `half`, whose objects it reuses. When an item with the same bytes exists already, that one is used instead.
    func commitLivePhoto(_ item: NewItem, completing half: LivePhotoHalf, album: AlbumTarget, objects: [ObjectName],
                         digests: (String) throws -> [ObjectDigest]) throws -> CommitOutcome {
        try commitLock.withLock { queue in
            // Committed alone, after what a grouped run queued (the items it looks up are in the index then).
            try commitQueued(&queue)
            if let existing = try index.item(dedupHash: keyring.keyedHash(item.dedupHash)) {
                return try resolve(existing, album: album, sourceFiles: item.sourceFiles, reuploadDeleted: false)
            }
            guard let current = try index.item(id: half.item.id), current.deletedAt == nil, current.dedupHash == half.item.dedupHash else {
                throw LivePhotoCompletionError.itemChanged(half.item.id)
            }
            let roles = Dictionary(item.objectRoles.map { ($0.name.path, $0.role.rawValue) }, uniquingKeysWith: { a, _ in a })
            let previous = try index.digests(of: half.item.id).filter { roles[$0.name] != nil }
            var state = try newState(of: item) { itemId in
                let own = try digests(itemId)
                let ownNames = Set(own.map(\.name))
                return own + previous.filter { !ownNames.contains($0.name) }.map { digest in
                    var digest = digest
                    digest.itemId = itemId
                    digest.role = roles[digest.name]!
                    return digest
                }
            }
            state.replaces = half.item.id
            try ledger.makeDurable(objects)
            try changeLog.putRecord(state)
            let membership = try membership(albumId: try ensureAlbum(album), fileKey: item.fileKey)
            try changeLog.append(.livePhotoMerge(state, replacing: half.item.id, memberships: [membership])) { db in
                try self.index.recordSources(item.sourceFiles, itemId: state.item.id, in: db)
            }
            try changeLog.checkpointIfDue()
            queue?.committed([state.item.id])
            return .stored(itemId: state.item.id)
        }
    }
}
