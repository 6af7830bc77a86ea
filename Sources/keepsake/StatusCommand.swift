import ArgumentParser
import Foundation
import Store

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What the library holds, what is pending, what failed and why.")

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let library = try libraryOptions.open()
        let counts = try library.index.counts()
        var lines = ["Library \(library.path)",
                     "  items:    \(counts.items) (\(counts.images) images, \(counts.videos) videos, \(counts.livePhotos) Live Photos, "
                        + "\(counts.motionPhotos) motion photos) in \(counts.albums) albums, \(formatBytes(counts.originalsBytes)) of originals",
                     "  pending:  \(counts.uncommittedObjects) objects written by an unfinished run (cleaned up by the next ingest)"]
        if counts.itemsMissingDerived > 0 {
            lines.append("  incomplete: \(counts.itemsMissingDerived) items lack a thumbnail, stream or metadata (`keepsake ls --json` says why)")
        }
        let failed = try library.index.failedFiles()
        lines.append("  failed:   \(failed.count) files" + (failed.isEmpty ? "" : ":"))
        for failure in failed { lines.append("    \(failure.path): \(failure.reason)") }
        print(lines.joined(separator: "\n"))
    }
}
