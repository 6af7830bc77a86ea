import FileSystem
import Foundation
import MediaTypes
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake renditions`: makes the renditions that items stored before renditions existed lack (their HEIC, RAW
/// and TIFF photos). Each original is decrypted from the store into a memory file (never onto a disk), which a media
/// worker reads as it reads a file at ingest; the rendition is sealed with the item's file key and recorded.
public enum RenditionBackfill {
    public struct Report: Sendable {
        public var made = 0
        /// Items whose rendition could not be made, and why (the worker's reason); the next run tries them again.
        public var failures: [(itemId: String, reason: String)] = []
    }

    /// Makes the missing renditions one item at a time, telling `progress` each item done. The caller holds the
    /// library's writer lock. A run-fatal error (the store unusable) ends the run; any other costs its item.
    public static func run(library: Library, mediaWork: any MediaWork,
                           progress: (_ itemId: String, _ made: Bool) -> Void = { _, _ in }) throws -> Report {
        var report = Report()
        for candidate in try library.itemsMissingRenditions() {
            let itemId = candidate.item.id
            do {
                if let problem = try make(candidate, library: library, mediaWork: mediaWork) {
                    report.failures.append((itemId, problem))
                    progress(itemId, false)
                } else {
                    report.made += 1
                    progress(itemId, true)
                }
            } catch where !error.isRunFatal {
                report.failures.append((itemId, "\(error)"))
                progress(itemId, false)
            }
        }
        return report
    }

    /// Makes and records one rendition; the reason when the worker made none.
    private static func make(_ candidate: RenditionCandidate, library: Library, mediaWork: any MediaWork) throws -> String? {
        let itemId = candidate.item.id
        let pictures: StillPictures
        do {
            pictures = try picturesOfStored(candidate.original, of: candidate.item, format: candidate.format, rendition: .whereNeeded,
                                            library: library, mediaWork: mediaWork)
        } catch let error as MediaWorkError {
            return error.description
        }
        guard let rendition = pictures.rendition else {
            return pictures.renditionProblem?.reason ?? "no rendition made for \(candidate.format.mimeType)"
        }
        let upload = try library.beginUpload(renditionOf: itemId)
        do {
            _ = try upload.storeSealed(rendition, role: .rendition)
            _ = try upload.commitRendition(of: itemId)
        } catch {
            try? upload.discard()
            throw error
        }
        return nil
    }

    /// A public link's large picture of a photo that has no rendition (one the browser shows as it is): a link never
    /// shows the original itself. Nil for what is not a still picture; throws `MediaWorkError` when none can be made.
    public static func largePicture(of original: OriginalRecord, of item: ItemRecord, library: Library,
                                    mediaWork: any MediaWork) throws -> [UInt8]? {
        guard let format = MediaFormat.allCases.first(where: { $0.mimeType == original.mimeType }), format.kind == .image else { return nil }
        let pictures = try picturesOfStored(original, of: item, format: format, rendition: .always, library: library, mediaWork: mediaWork)
        guard let rendition = pictures.rendition else {
            throw MediaWorkError.notProduced(pictures.renditionProblem ?? StageProblem(stage: "rendition", reason: "no rendition made"))
        }
        return rendition
    }

    /// The stored original decrypted into a memory file (never onto a disk), read by a media worker as it reads a file
    /// at ingest.
    private static func picturesOfStored(_ original: OriginalRecord, of item: ItemRecord, format: MediaFormat, rendition: RenditionPolicy,
                                         library: Library, mediaWork: any MediaWork) throws -> StillPictures {
        let fd = try MemoryFile.make(name: "keepsake-original")
        defer { close(fd) }
        try library.readDecrypted(ObjectName(original.objectName), key: try library.fileKey(of: item.id)) { bytes in
            try FileIO.writeFully(fd, bytes)
        }
        return try mediaWork.pictures(fileAt: MemoryFile.path(of: fd), format: format, orientation: item.metadata?.orientation,
                                      rendition: rendition)
    }
}
