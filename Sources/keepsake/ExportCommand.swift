import ArgumentParser
import Export
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Decrypt the library into plain files: one folder per album, with Google Takeout metadata.",
        discussion: """
            Originals are written bit-exact under their own names, each with ALBUM/metadata/NAME.json; a name the
            target's file system cannot hold is changed, and the summary lists each change. A rerun
            exports only what is new and moves files gone from the library or their album into ALBUM/Trash;
            an interrupted export resumes where it stopped.
            """)

    @Option(help: "The folder to export into (created when missing).")
    var to: String

    @Option(help: "Export only this album.")
    var album: String?

    @Option(help: "Files written at once.")
    var jobs = 4

    @Flag(help: "Print one JSON object a line per file, then a summary object.")
    var json = false

    @OptionGroup var libraryOptions: LibraryOptions

    func validate() throws {
        if to.isEmpty { throw ValidationError("--to needs a folder") }
        if let album, album.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--album needs a name") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let library = try libraryOptions.open()
        let progress = ProgressView(enabled: !json && isatty(STDERR_FILENO) != 0, jsonLines: json)
        let summary: ExportSummary
        do {
            summary = try Exporter(library: library, options: ExportOptions(target: to, album: album, jobs: jobs), observer: progress).run()
        } catch let error as ExportError {
            progress.finish()
            if error.isSetupProblem { throw UsageError(message: error.description) }
            printError("keepsake: export stopped: \(error)")
            throw ExitCode(1)
        }
        progress.finish()
        if json { printJSONLine(ExportSummaryJSON(summary)) } else { printSummary(summary) }
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    private func printSummary(_ s: ExportSummary) {
        let mbPerSecond = s.seconds > 0 ? Double(s.bytesWritten) / 1e6 / s.seconds : 0
        var lines = ["Keepsake export into \(to)",
                     String(format: "  %d files in %.1f s (%@, %.1f MB/s)", s.count(.exported), s.seconds,
                            formatBytes(s.bytesWritten), mbPerSecond),
                     "  already exported: \(s.alreadyExported)"]
        if s.count(.adopted) > 0 || s.partialsRemoved > 0 {
            lines.append("  recovered:   \(s.count(.adopted)) files completed by an interrupted run, "
                         + "\(s.partialsRemoved) partial files removed")
        }
        if s.count(.trashed) > 0 {
            lines.append("  to Trash:    \(s.count(.trashed)) files no longer in the library or their album")
        }
        if !s.renamed.isEmpty {
            lines.append("  renamed:     \(s.renamed.count) names changed for \(s.fileSystem) or for a clash:")
            lines += s.renamed.map { "    \($0)" }
        }
        lines += failureLines(s.failures.map { ($0.path.isEmpty ? "item " + $0.itemId : $0.path, $0.reason) })
        print(lines.joined(separator: "\n"))
    }
}

extension ProgressView: ExportObserver {
    func planned(files: Int, bytes: Int64) { setTotal(files: files, bytes: bytes) }
    func started(exporting path: String) { started(file: path) }
    func wrote(bytes: Int64) { advanced(bytes: bytes) }
    func finished(_ outcome: ExportOutcome) { finished(file: outcome) }
    func reported(_ outcome: ExportOutcome) { report(outcome) }
}

/// The `--json` summary object of `export`.
struct ExportSummaryJSON: Encodable {
    var summary = true
    var exported: Int, adopted: Int, alreadyExported: Int, trashed: Int, failed: Int, partialsRemoved: Int
    var bytesWritten: Int64, seconds: Double
    var fileSystem: String
    var renamed: [ExportRename]

    init(_ s: ExportSummary) {
        exported = s.count(.exported)
        adopted = s.count(.adopted)
        alreadyExported = s.alreadyExported
        trashed = s.count(.trashed)
        failed = s.count(.failed)
        partialsRemoved = s.partialsRemoved
        bytesWritten = s.bytesWritten
        seconds = s.seconds
        fileSystem = s.fileSystem
        renamed = s.renamed
    }
}
