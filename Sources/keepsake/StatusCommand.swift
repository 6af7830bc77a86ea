import ArgumentParser
import Foundation
import Daemon
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
        let recorded = try library.index.failedFiles()
        let failed = recorded.filter { !$0.isSkip }, skipped = recorded.filter(\.isSkip)
        lines.append("  failed:   \(failed.count) files" + (failed.isEmpty ? "" : ":"))
        for failure in failed { lines.append("    \(failure.path): \(failure.reason)") }
        if !skipped.isEmpty {
            lines.append("  skipped:  \(skipped.count) not regular files:")
            for skip in skipped { lines.append("    \(skip.path): \(skip.reason)") }
        }
        let quarantined = try library.index.quarantinedFiles()
        if !quarantined.isEmpty {
            lines.append("  quarantined: \(quarantined.count) files the media workers crashed or hung on (left alone until they change):")
            for file in quarantined { lines.append("    \(file.path): \(file.reason)") }
        }
        if let daemon = DaemonState.current(library: library.path) {
            lines.append("  daemon:   running (pid \(daemon.pid)), watching \(daemon.watching.count) folders; "
                         + "\(daemon.queued) queued, \(daemon.inFlight.count) in flight, \(daemon.done) done, \(daemon.failed.count) failed")
            for path in daemon.inFlight { lines.append("    in flight: \(path)") }
            for (path, reason) in daemon.failed.sorted(by: { $0.key < $1.key }) { lines.append("    failed: \(path): \(reason)") }
        } else {
            lines.append("  daemon:   not running")
        }
        print(lines.joined(separator: "\n"))
    }
}
