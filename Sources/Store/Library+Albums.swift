import Foundation
import KeepsakeCrypto

/// Album editing (`keepsake album`). Every edit is one log entry per album it touches, so that other library folders
/// on the store apply it as this one did; albums of one name (two machines made one each at once) are edited as one.
extension Library {
    /// Each user album with its live items, then Uncategorized (what is in no user album) when it holds any.
    /// With `includingShared`, albums shared with this library follow, under their owners' names.
    public func albumSummaries(includingShared: Bool = true) throws -> [AlbumSummary] {
        let own = try index.albumSummaries()
        guard includingShared else { return own }
        return own + (try sharedView().albums.map { AlbumSummary(name: $0.row.name, items: $0.items.count) })
    }

    public func createAlbum(named name: String) throws {
        let name = try Self.checkedAlbumName(name)
        try commitLock.withLock { _ in
            guard try index.userAlbums(named: name).isEmpty else { throw LibraryEditError.albumExists(name) }
            _ = try ensureAlbum(.named(name))
        }
    }

    public func renameAlbum(_ old: String, to new: String) throws {
        let new = try Self.checkedAlbumName(new)
        try commitLock.withLock { _ in
            let albums = try existingAlbums(old)
            guard new != old else { return }
            guard try index.userAlbums(named: new).isEmpty else { throw LibraryEditError.albumExists(new) }
            for album in albums { try changeLog.append(.albumRename(albumId: album.id, from: old, to: new), queueIfOffline: true) }
        }
    }

    /// Puts the live item `itemId` in the album `name`; false when it is in it already.
    @discardableResult
    public func addToAlbum(_ name: String, itemId: String) throws -> Bool {
        try commitLock.withLock { _ in
            let albums = try existingAlbums(name)
            guard let item = try index.item(id: itemId) else { throw LibraryEditError.noSuchItem(itemId) }
            guard item.deletedAt == nil else { throw LibraryEditError.itemDeleted(itemId) }
            for album in albums where try index.isMember(itemId: itemId, albumId: album.id) { return false }
            let membership = try membership(albumId: albums[0].id, fileKey: try fileKey(of: itemId))
            try changeLog.append(.membership(itemId: itemId, membership), queueIfOffline: true)
            return true
        }
    }

    /// Takes the item `itemId` out of the album `name` (nothing is deleted: in no other album, it is Uncategorized);
    /// false when it was not in it.
    @discardableResult
    public func removeFromAlbum(_ name: String, itemId: String) throws -> Bool {
        try commitLock.withLock { _ in
            let albums = try existingAlbums(name)
            guard try index.item(id: itemId) != nil else { throw LibraryEditError.noSuchItem(itemId) }
            var removed = false
            for album in albums where try index.isMember(itemId: itemId, albumId: album.id) {
                let keeper = try keyKeeper(for: itemId, leaving: Set(albums.map(\.id)))
                try changeLog.append(.albumRemoval(itemId: itemId, albumId: album.id, uncategorized: keeper), queueIfOffline: true)
                removed = true
            }
            return removed
        }
    }

    /// Deletes the album `name`; its items stay in the library (those in no other album are Uncategorized).
    /// Returns how many items were in it.
    @discardableResult
    public func deleteAlbum(_ name: String) throws -> Int {
        try commitLock.withLock { _ in
            let albums = try existingAlbums(name)
            var items = Set<String>()
            for album in albums {
                let members = try index.members(of: album.id)
                for itemId in members {
                    if let keeper = try keyKeeper(for: itemId, leaving: Set(albums.map(\.id))) {
                        try changeLog.append(.membership(itemId: itemId, keeper), queueIfOffline: true)
                    }
                }
                try changeLog.append(.albumDeletion(albumId: album.id, items: members), queueIfOffline: true)
                items.formUnion(members)
            }
            return items.count
        }
    }

    /// The user albums named `name`, or `noSuchAlbum`.
    func existingAlbums(_ name: String) throws -> [AlbumRecord] {
        let albums = try index.userAlbums(named: name)
        guard !albums.isEmpty else { throw LibraryEditError.noSuchAlbum(name) }
        return albums
    }

    /// An item with no file key of its own (a format-1 item) is opened only through its albums: leaving the last of
    /// them, it keeps its key through Uncategorized (this membership). Nil for every other item.
    private func keyKeeper(for itemId: String, leaving albumIds: Set<String>) throws -> Membership? {
        guard try index.wrappedFileKey(of: itemId) == nil,
              try index.memberships(of: itemId).allSatisfy({ albumIds.contains($0.id) }) else { return nil }
        return try membership(albumId: try ensureAlbum(.uncategorized), fileKey: try fileKey(of: itemId))
    }

    /// A name an album may have: not empty, no control characters, not Uncategorized's.
    static func checkedAlbumName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { throw LibraryEditError.badAlbumName(name, reason: "it is empty") }
        if trimmed.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) {
            throw LibraryEditError.badAlbumName(name, reason: "it holds control characters")
        }
        if trimmed.caseInsensitiveCompare(AlbumRecord.uncategorizedName) == .orderedSame {
            throw LibraryEditError.badAlbumName(name, reason: "Uncategorized is what is in no album")
        }
        return trimmed
    }
}
