import FileSystem
import Foundation
import MediaTypes
import Pipeline
import Sharing
import Store

/// `sync`'s last step: the completed uploads of this library's collect links go through the normal ingest into their
/// link's album (docs/public-links.md, "Collect links"). Each is decrypted into `collect/<upload id>/` in the library
/// folder (0700, the file 0600), ingested, and only after its item is committed marked taken; the folder goes in any
/// case. Killed in between, the next sync decrypts it again and the ingest dedups.
enum UploadTaking {
    struct Report {
        var taken = 0
        var problems: [String] = []
    }

    /// `mediaWork` starts its workers only when a file needs one; `shouldStop` leaves the uploads not yet started for
    /// the next time.
    static func run(library: Library, mediaWork: any MediaWork, stream: StreamOptions?, lockWait: Duration,
                    shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> Report {
        let collector = UploadCollector(library: library)
        let (uploads, rejected) = try collector.pending()
        var report = Report(problems: rejected.map(\.description))
        guard !uploads.isEmpty else { return report }
        _ = try Executables.mediaEngine()
        let root = BytePath(library.path + "/collect")
        try? FileManager.default.removeItem(atPath: library.path + "/collect")  // what a killed sync left
        for upload in uploads where !shouldStop() {
            let folder = BytePath(root.description + "/" + upload.id)
            do { try FileIO.makeDirectory(folder, mode: 0o700) } catch { throw UploadCollectError.cannotWrite(folder.description, error) }
            defer { try? FileManager.default.removeItem(atPath: folder.description) }
            let file: BytePath
            do {
                file = try collector.decrypt(upload, into: folder)
            } catch let error as UploadCipherError {
                report.problems.append(try collector.reject(token: upload.token, id: upload.id, reason: error.description).description)
                continue
            }
            let options = IngestOptions(albumMode: .named(upload.album), jobs: 1, rehash: true, stream: stream, mediaWork: mediaWork,
                                        lockWait: lockWait, isCancelled: shouldStop)
            let (files, skips) = Ingest.discover([file.description])
            let summary = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: QuietIngest())
            let name = upload.header.name
            if summary.outcomes.isEmpty && shouldStop() { break }  // not started: the next time takes it
            guard let outcome = summary.outcomes.first else {
                report.problems.append(try collector.reject(token: upload.token, id: upload.id,
                                                            reason: "\"\(name)\" is not a file keepsake stores").description)
                continue
            }
            switch outcome.status {
            case .stored, .duplicate, .addedToAlbum, .previouslyDeleted:
                try collector.markTaken(upload)
                report.taken += 1
            case .rejected:
                report.problems.append(try collector.reject(token: upload.token, id: upload.id,
                                                            reason: "\"\(name)\": \(outcome.reason ?? "not a photo or video")").description)
            case .failed:
                report.problems.append("upload \(upload.id) (\"\(name)\"): \(outcome.reason ?? "failed"); the next sync tries again")
            }
        }
        return report
    }
}

/// An ingest of one upload prints nothing of its own: `sync` says what it took.
struct QuietIngest: IngestObserver {
    func started(_ file: DiscoveredFile) {}
    func read(bytes: Int64) {}
    func finished(_ outcome: FileOutcome) {}
}
