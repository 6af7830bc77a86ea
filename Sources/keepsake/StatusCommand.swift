import ArgumentParser
import Foundation
import Daemon
import MediaWorker
import Store

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What the library holds, what is pending, what failed and why.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "One JSON object: counts, failures, and where this machine stands with the others.")
    var json = false

    func run() throws {
        let library = try libraryOptions.open()
        let counts = try library.index.counts()
        let sync = try library.syncStatus()
        if json { return try printJSON(library: library, counts: counts, sync: sync) }
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
        lines.append("  this device: \(sync.device) (writer \(sync.writer))")
        lines.append("  last sync:   " + (sync.lastSync.map { "\(Self.describe($0))" } ?? "never"))
        lines.append("  waiting:     \(sync.waitingEdits) edits made while the store was away, pushed at the next sync")
        if sync.otherDevices.isEmpty { lines.append("  other devices: none has written into this store") }
        for device in sync.otherDevices {
            lines.append("  other device: \(device.name ?? "writer " + device.writer), last change \(Self.describe(device.lastChange))")
        }
        lines.append("  media workers: " + Self.sandboxDescription)
        let daemon = DaemonState.current(library: library.path)
        for watch in try library.index.watches() {
            let rescanned = daemon?.rescans[watch.path].map { ", last rescan \(Self.describe($0))" } ?? ""
            lines.append("  watching: \(watch.path) (\(WatchMethod(of: watch).description)\(rescanned))")
        }
        if let daemon {
            lines.append("  daemon:   running (pid \(daemon.pid)), watching \(daemon.watching.count) folders; "
                         + "\(daemon.queued) queued, \(daemon.inFlight.count) in flight, \(daemon.done) done, \(daemon.failed.count) failed")
            if let reason = daemon.waitingForStore { lines.append("    waiting for the store: \(reason)") }
            for path in daemon.inFlight { lines.append("    in flight: \(path)") }
            for (path, reason) in daemon.failed.sorted(by: { $0.key < $1.key }) { lines.append("    failed: \(path): \(reason)") }
        } else {
            lines.append("  daemon:   not running")
        }
        print(lines.joined(separator: "\n"))
    }

    /// The sandbox the media workers run in, as this machine allows (the same for ingest and the daemon).
    static var sandboxDescription: String {
        switch WorkerSandbox.current {
        case .success(let sandbox): "sandboxed by \(sandbox.summary)"
        case .failure(let error): "cannot be sandboxed, so none can start: \(error)"
        }
    }

    static func describe(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = .current
        return formatter.string(from: date)
    }

    private func printJSON(library: Library, counts: LibraryIndex.Counts, sync: Library.SyncStatus) throws {
        struct Output: Encodable {
            var library: String
            var items: Int, images: Int, videos: Int, livePhotos: Int, motionPhotos: Int, albums: Int
            var originalsBytes: Int64, pendingObjects: Int
            var failed: [Failure], skipped: [Failure]
            var sync: Library.SyncStatus
            var daemonRunning: Bool
            var watches: [Watch]
            /// `bubblewrap` or `seccomp` (see `WorkerSandbox`), nil when none can be set up.
            var workerSandbox: String?
            var workerSandboxDetail: String
        }
        struct Failure: Encodable { var path: String, reason: String }
        /// `method`: `inotify` or `rescan`, with `pollInterval` and the `fileSystem` that called for it (none: `--poll`).
        struct Watch: Encodable {
            var path: String, mode: String, method: String
            var pollInterval: Int?, fileSystem: String?, lastRescan: Date?
        }
        let daemon = DaemonState.current(library: library.path)
        let watches = try library.index.watches().map { watch in
            switch WatchMethod(of: watch) {
            case .inotify: Watch(path: watch.path, mode: watch.mode.rawValue, method: "inotify")
            case .rescan(let seconds, let fileSystem):
                Watch(path: watch.path, mode: watch.mode.rawValue, method: "rescan", pollInterval: seconds, fileSystem: fileSystem,
                      lastRescan: daemon?.rescans[watch.path])
            }
        }
        let recorded = try library.index.failedFiles()
        printJSONLine(Output(library: library.path, items: counts.items, images: counts.images, videos: counts.videos,
                             livePhotos: counts.livePhotos, motionPhotos: counts.motionPhotos, albums: counts.albums,
                             originalsBytes: counts.originalsBytes, pendingObjects: counts.uncommittedObjects,
                             failed: recorded.filter { !$0.isSkip }.map { Failure(path: $0.path.description, reason: $0.reason) },
                             skipped: recorded.filter(\.isSkip).map { Failure(path: $0.path.description, reason: $0.reason) },
                             sync: sync, daemonRunning: daemon != nil, watches: watches,
                             workerSandbox: try? WorkerSandbox.current.get().level.rawValue, workerSandboxDetail: Self.sandboxDescription))
    }
}
