import ArgumentParser
import Daemon
import Foundation
import Logging
import Store
#if canImport(Glibc)
import Glibc
#endif

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Watch the folders of `keepsake watch` and ingest what lands in them, until SIGTERM or SIGINT.",
        discussion: "A file deleted on disk moves to Uncategorized in the library; a changed file is stored as a new item.")

    @OptionGroup var libraryOptions: LibraryOptions

    @OptionGroup var work: WorkOptions

    @Option(help: "Seconds between pulls of what other machines wrote into the store.")
    var pullInterval: Double = 60

    @Option(help: ArgumentHelp("Keep this folder an up-to-date `keepsake export` of the library, after every batch and pull.",
                               valueName: "DIR"))
    var exportTo: String?

    private static let logger = Logger(label: "keepsake.daemon")

    func validate() throws {
        guard pullInterval > 0 else { throw ValidationError("--pull-interval must be more than 0 seconds") }
        if exportTo?.isEmpty == true { throw ValidationError("--export-to needs a folder") }
    }

    func run() throws {
        _ = try Executables.mediaEngine()
        if let file = libraryOptions.passphraseFile { try LibraryOptions.requirePrivate(passphraseFile: file) }
        let notifier = SystemdNotifier.fromEnvironment()
        let stop = StopSignal(onStop: { notifier?.stopping(status: "stopping: finishing the files in flight") })
        let library = try libraryOptions.open()
        work.limitUploads(of: library)
        let shouldStop = { @Sendable in stop.isSet }
        var configuration = Daemon.Configuration(jobs: work.jobCount, stream: work.stream)
        configuration.pullInterval = .milliseconds(Int(pullInterval * 1000))
        let mediaWork = try work.mediaWork(shouldStop: shouldStop)
        let stream = work.stream
        // What guests uploaded through this library's collect links (docs/public-links.md, "Collect links").
        configuration.afterPull = {
            do {
                let report = try UploadTaking.run(library: library, mediaWork: mediaWork, stream: stream, lockWait: .seconds(600),
                                                  shouldStop: shouldStop)
                if report.taken > 0 { Self.logger.info("took \(report.taken) uploads from collect links into their albums") }
                for problem in report.problems { Self.logger.warning("\(problem)") }
            } catch {
                Self.logger.info("cannot take the uploads of collect links now: \(error)")
            }
        }
        // Absolute: a service's working directory is /.
        configuration.exportTarget = exportTo.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
        try Daemon(library: library, configuration: configuration, mediaWork: mediaWork, notifier: notifier, shouldStop: shouldStop).run()
    }
}

extension WatchRecord.Mode: ExpressibleByArgument {}

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "The folders the daemon watches.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Watch a folder (the daemon picks it up within seconds).")

        @Argument(help: "The folder.")
        var folder: String

        @Option(help: "single: one album named after the folder; separate: an album per (leaf) folder.")
        var mode: WatchRecord.Mode = .single

        @Option(help: ArgumentHelp("Leave out what matches this gitignore pattern, rooted at the folder (repeatable; "
                                   + ".keepsakeignore files in the folder are read too).", valueName: "PATTERN"))
        var exclude: [String] = []

        @Flag(help: "Rescan the folder every --poll-interval instead of following it with inotify (done anyway on NFS, SMB, FUSE, 9p…).")
        var poll = false

        @Option(help: ArgumentHelp("Seconds between two rescans of a polled folder.", valueName: "SECONDS"))
        var pollInterval = WatchRecord.defaultPollInterval

        @OptionGroup var libraryOptions: LibraryOptions

        func validate() throws {
            if pollInterval < 1 { throw ValidationError("--poll-interval must be at least 1 second") }
        }

        func run() throws {
            let path = try resolvedFolder(folder)
            let library = try libraryOptions.open(create: true)
            let watch = WatchRecord(path: path, mode: mode, exclude: exclude, poll: poll, pollInterval: pollInterval)
            try library.index.saveWatch(watch)
            print("watching \(path) (\(mode.rawValue), \(WatchMethod(of: watch).description))"
                  + (exclude.isEmpty ? "" : ", excluding \(exclude.joined(separator: " "))"))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the watched folders.")

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            for watch in try libraryOptions.open().index.watches() {
                print("\(watch.path)  \(watch.mode.rawValue)  \(WatchMethod(of: watch).description)"
                      + watch.exclude.map { "  --exclude \($0)" }.joined())
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop watching a folder; nothing in the library is deleted.")

        @Argument(help: "The folder.")
        var folder: String

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            let path = (try? resolvedFolder(folder)) ?? (folder as NSString).standardizingPath
            guard try libraryOptions.open().index.removeWatch(path: path) else { throw UsageError(message: "\(path) is not watched") }
            print("no longer watching \(path); its files stay in the library")
        }
    }
}

/// The absolute path of `folder` with symlinks resolved, as watches are stored.
private func resolvedFolder(_ folder: String) throws -> String {
    guard let resolved = realpath(folder, nil) else { throw UsageError(message: "\(folder): \(String(cString: strerror(errno)))") }
    defer { free(resolved) }
    var info = stat()
    guard stat(resolved, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw UsageError(message: "\(folder) is not a folder") }
    return String(cString: resolved)
}
