import Foundation
import KeepsakeCrypto
import MediaTypes

/// A photo stored before renditions existed, whose format needs one (`MediaFormat.needsRendition`): its item and the
/// original the rendition is made from (a Live Photo's still).
public struct RenditionCandidate: Sendable {
    public var item: ItemRecord
    public var original: OriginalRecord
    public var format: MediaFormat
}

/// Renditions for the items stored before they existed (`keepsake renditions`): each is made from the stored
/// original and recorded by one change, `Change.rendition`, which every machine applies.
extension Library {
    /// The items, not deleted, without a rendition whose photo is of a format browsers do not show.
    public func itemsMissingRenditions() throws -> [RenditionCandidate] {
        let formats = Dictionary(MediaFormat.allCases.filter(\.needsRendition).map { ($0.mimeType, $0) },
                                 uniquingKeysWith: { a, _ in a })
        return try index.itemsWithoutRendition().compactMap { item in
            let originals = try index.originals(of: item.id)
            guard let photo = originals.first(where: { $0.role == "main" || $0.role == "still" }),
                  let format = formats[photo.mimeType] else { return nil }
            return RenditionCandidate(item: item, original: photo, format: format)
        }
    }

    /// Starts storing a rendition for the existing item `itemId`, under its file key.
    public func beginUpload(renditionOf itemId: String) throws -> UploadSession {
        UploadSession(library: self, fileKey: try fileKey(of: itemId))
    }

    /// Records `digest`'s object as the rendition of `itemId`, then rewrites the item's record to name it too. False
    /// when the item has one already or is gone (the caller discards the object).
    func commitRendition(_ digest: ObjectDigest, of itemId: String) throws -> Bool {
        try commitLock.withLock { _ in
            guard let item = try index.item(id: itemId), item.renditionObject == nil else { return false }
            try changeLog.append(.rendition(itemId: itemId, digest))
            guard try index.item(id: itemId)?.renditionObject == digest.name else { return false }
            // The record as stored (it keeps what only it holds, such as the item a Live Photo replaced); the index's
            // state of the item when the record cannot be read.
            let name = ItemRecordName.objectName(itemId: itemId)
            if var state = try (try? changeLog.readRecord(name)) ?? index.itemState(itemId) {
                state.item.renditionObject = digest.name
                state.objects = state.objects.filter { $0.name != digest.name } + [digest]
                try changeLog.putRecord(state)
            }
            try changeLog.checkpointIfDue()
            return true
        }
    }
}

extension UploadSession {
    /// Commits the one rendition this session stored as that of `itemId` (see `Library.beginUpload(renditionOf:)`);
    /// false, with the object discarded, when the item has one already or is gone.
    public func commitRendition(of itemId: String) throws -> Bool {
        let rendition = try storedObjects(itemId: itemId).first { $0.digest.role == ObjectRole.rendition.rawValue }
        if let (name, _) = rendition { try library.ledger.makeDurable([name]) }
        guard let (name, digest) = rendition, try library.commitRendition(digest, of: itemId) else {
            try discard()
            return false
        }
        library.ledger.committed([name])
        return true
    }
}
