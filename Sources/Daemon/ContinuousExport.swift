import Export
import Foundation
import Logging
import Store

/// `keepsake daemon --export-to DIR`: the export folder kept up to date as items arrive, by an incremental `export`
/// after every batch and every pull that brought changes (new files written, files gone from an album moved to its
/// Trash, as `keepsake export` does).
struct ContinuousExport {
    let target: String
    private let library: Library
    private var due = true
    private var retryAt: ContinuousClock.Instant?
    private static let logger = Logger(label: "keepsake.daemon.export")
    private static let retryDelay: Duration = .seconds(60)

    init(target: String, library: Library) {
        self.target = target
        self.library = library
    }

    /// The library changed: the next `runIfDue` exports.
    mutating func libraryChanged() { due = true }

    /// Exports what changed since the last run, unless nothing did; a run that could not finish (the folder unusable,
    /// the store away) is tried again a minute later. Returns the summary of a run that finished.
    @discardableResult
    mutating func runIfDue() -> ExportSummary? {
        guard due, retryAt.map({ ContinuousClock.now >= $0 }) ?? true else { return nil }
        do {
            let summary = try Exporter(library: library, options: ExportOptions(target: target, jobs: 2), observer: ExportLogger()).run()
            due = false
            retryAt = nil
            let trashed = summary.count(.trashed)
            if summary.count(.exported) > 0 || trashed > 0 {
                Self.logger.notice("exported \(summary.count(.exported)) files into \(target)\(trashed > 0 ? ", \(trashed) moved to Trash" : "")")
            }
            for failure in summary.failures {
                Self.logger.warning("export of \(failure.path.isEmpty ? "item " + failure.itemId : failure.path) failed: \(failure.reason ?? "unknown")")
            }
            if !summary.failures.isEmpty { retryAt = .now + Self.retryDelay; due = true }
            return summary
        } catch {
            Self.logger.error("cannot export into \(target): \(error); trying again in a minute")
            retryAt = .now + Self.retryDelay
            return nil
        }
    }
}

/// The export's progress is not shown by the daemon: its summary is logged.
private struct ExportLogger: ExportObserver {
    func planned(files: Int, bytes: Int64) {}
    func started(exporting path: String) {}
    func wrote(bytes: Int64) {}
    func finished(_ outcome: ExportOutcome) {}
    func reported(_ outcome: ExportOutcome) {}
}
