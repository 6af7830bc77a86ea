import ArgumentParser
import Foundation
import MediaWorker
import Pipeline
import Store

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Store every photo and video under the given folders in the library (created on first use).",
        discussion: """
            A ZIP archive given here (a Google Takeout export, in one or several parts) is read member by member, without \
            unpacking it: its JSON sidecars give capture time, place and description, and with --album-per-folder its \
            album folders become albums (the 'Photos from YYYY' folders go to no album).
            """)

    @Argument(help: "Folders, files or ZIP archives to ingest.")
    var paths: [String]

    @OptionGroup var libraryOptions: LibraryOptions

    @Option(help: "Put every file into this album.")
    var album: String?

    @Flag(help: "Put each file into an album named after its folder.")
    var albumPerFolder = false

    @OptionGroup var work: WorkOptions

    @Flag(help: "Print one JSON object a line per file, then a summary object.")
    var json = false

    @Flag(help: "Store again files that were deleted from the library.")
    var reuploadDeleted = false

    @Flag(help: "Hash every file, even those unchanged (same path, size, mtime, inode) since the last run.")
    var rehash = false

    @Option(help: ArgumentHelp("Leave out what matches this gitignore pattern, rooted at each folder given (repeatable; "
                               + ".keepsakeignore files in the folders are read too).", valueName: "PATTERN"))
    var exclude: [String] = []

    @Option(help: "Seconds to wait while the daemon (or another keepsake) is writing to the library.")
    var lockTimeout = 600

    func validate() throws {
        if album != nil && albumPerFolder { throw ValidationError("--album and --album-per-folder exclude each other") }
        if let album, album.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--album needs a name") }
        if lockTimeout < 0 { throw ValidationError("--lock-timeout must not be negative") }
    }

    func run() throws {
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw UsageError(message: "\(path): no such file or folder")
        }
        _ = try Executables.mediaEngine()
        WorkerSandbox.findInBackground()
        let library = try libraryOptions.open(create: true)
        work.limitUploads(of: library)
        let albumMode: IngestOptions.AlbumMode = if let album { .named(album) } else if albumPerFolder { .perFolder } else { .none }
        // The zygote is started when the first file needs it, after the unlock: the workers never overlap its 256 MiB.
        let mediaWork = try work.mediaWork(shouldStop: { false })
        defer { mediaWork.shutDown() }
        let options = IngestOptions(albumMode: albumMode, jobs: work.jobCount,
                                    reuploadDeleted: reuploadDeleted, rehash: rehash, stream: work.stream,
                                    mediaWork: mediaWork, lockWait: .seconds(lockTimeout))
        let archivePaths = paths.filter(ArchiveIngest.isArchive)
        let (files, skips) = Ingest.discover(paths.filter { !archivePaths.contains($0) }, exclude: exclude)
        let archives = ArchiveIngest.plan(archivePaths, exclude: exclude)
        let progress = ProgressView(enabled: !json && isatty(STDERR_FILENO) != 0, jsonLines: json)
        progress.setTotal(files: files.count + skips.unreadable.count + archives.fileCount + archives.unreadable.count,
                          bytes: files.reduce(0) { $0 + $1.size } + archives.byteCount)
        var summary = IngestSummary()
        do {
            if !files.isEmpty || archivePaths.isEmpty || !skips.unreadable.isEmpty {
                summary = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: progress)
            }
            if !archivePaths.isEmpty {
                summary.merge(try ArchiveIngest.run(archives, spoolFolder: library.path, library: library, options: options, observer: progress))
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        finishEdits(library)
        if json { printJSONLine(SummaryJSON(summary)) } else { printSummary(summary, library: library.path) }
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    private func printSummary(_ s: IngestSummary, library: String) {
        let mbPerSecond = s.seconds > 0 ? Double(s.bytesRead) / 1e6 / s.seconds : 0
        let filesPerSecond = s.seconds > 0 ? Double(s.outcomes.count) / s.seconds : 0
        var lines = ["Keepsake ingest into \(library)",
                     String(format: "  %d files in %.1f s (%.1f files/s, %.1f MB/s)", s.outcomes.count, s.seconds, filesPerSecond, mbPerSecond),
                     "  stored:      \(s.stored(.image)) images, \(s.stored(.video)) videos, \(s.stored(.livePhoto)) Live Photos, "
                        + "\(s.stored(.motionPhoto)) motion photos (\(formatBytes(s.bytesStored)))",
                     "  duplicates:  \(s.count(.duplicate)) skipped, \(s.count(.addedToAlbum)) added to another album"
                        + (s.count(.previouslyDeleted) > 0 ? ", \(s.count(.previouslyDeleted)) deleted earlier and not re-uploaded" : "")]
        var skipped: [String] = []
        if s.skipped.sidecars > 0 { skipped.append("\(s.skipped.sidecars) sidecars read as metadata") }
        if s.skipped.hidden > 0 { skipped.append("\(s.skipped.hidden) hidden") }
        if s.skipped.systemFiles > 0 { skipped.append("\(s.skipped.systemFiles) system files") }
        if !skipped.isEmpty { lines.append("  not walked:  " + skipped.joined(separator: ", ")) }
        if s.skipped.excluded > 0 {
            lines.append("  excluded:    \(s.skipped.excludedFiles) files, \(s.skipped.excludedFolders) folders (not walked), "
                         + "by --exclude and .keepsakeignore")
        }
        if !s.skipped.notRegular.isEmpty {
            lines.append("  skipped:     \(s.skipped.notRegular.count) not regular files")
            lines += s.skipped.notRegular.map { "    \($0.path): \($0.reason)" }
        }
        if s.orphansRemoved > 0 { lines.append("  recovered:   removed \(s.orphansRemoved) objects left by an interrupted run") }
        let problems = s.storedWithProblems
        if !problems.isEmpty {
            lines.append("  stored, but not all derived media produced (\(problems.count) files):")
            let byReason = Dictionary(grouping: problems.flatMap { outcome in outcome.notProduced.map { ($0.reason, outcome.path) } }, by: \.0)
            for (reason, entries) in byReason.sorted(by: { $0.value.count > $1.value.count }) {
                let names = entries.map { $0.1.lastComponent.description }
                let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", and \(names.count - 3) more" : "")
                lines.append("    \(entries.count) × \(reason): \(shown)")
            }
        }
        lines += failureLines(s.failures.map { ($0.path.description, $0.reason) })
        print(lines.joined(separator: "\n"))
    }
}

extension ProgressView: IngestObserver {
    func started(_ file: DiscoveredFile) { started(file: file.path.description) }
    func read(bytes: Int64) { advanced(bytes: bytes) }
    func finished(_ outcome: FileOutcome) { finished(file: outcome) }
}

/// The `--json` summary object.
struct SummaryJSON: Encodable {
    var summary = true
    var files: Int, seconds: Double, bytesRead: Int64, bytesStored: Int64
    var images: Int, videos: Int, livePhotos: Int, motionPhotos: Int
    var duplicates: Int, addedToAlbum: Int, previouslyDeleted: Int, rejected: Int, failed: Int, storedWithProblems: Int
    /// Files and folders left out by `--exclude` and `.keepsakeignore` (the files of an excluded folder are not counted:
    /// it is not walked).
    var excluded: Int, excludedFolders: Int
    /// What the walk skipped as not a regular file (FIFOs, sockets, devices, symlinks back up), path escaped.
    var skipped: [Skip]
    struct Skip: Encodable { var path: String, reason: String }

    init(_ s: IngestSummary) {
        files = s.outcomes.count
        seconds = s.seconds
        bytesRead = s.bytesRead
        bytesStored = s.bytesStored
        images = s.stored(.image)
        videos = s.stored(.video)
        livePhotos = s.stored(.livePhoto)
        motionPhotos = s.stored(.motionPhoto)
        duplicates = s.count(.duplicate)
        addedToAlbum = s.count(.addedToAlbum)
        previouslyDeleted = s.count(.previouslyDeleted)
        rejected = s.count(.rejected)
        failed = s.count(.failed)
        storedWithProblems = s.storedWithProblems.count
        excluded = s.skipped.excludedFiles
        excludedFolders = s.skipped.excludedFolders
        skipped = s.skipped.notRegular.map { Skip(path: $0.path.description, reason: $0.reason) }
    }
}
