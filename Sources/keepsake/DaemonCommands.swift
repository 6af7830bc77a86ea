import ArgumentParser
import Daemon
import Foundation
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

    func validate() throws {
        guard pullInterval > 0 else { throw ValidationError("--pull-interval must be more than 0 seconds") }
    }

    func run() throws {
        _ = try Executables.mediaEngine()
        let library = try libraryOptions.open()
        work.limitUploads(of: library)
        let stop = StopSignal()
        let shouldStop = { @Sendable in stop.isSet }
        var configuration = Daemon.Configuration(jobs: work.jobCount, stream: work.stream)
        configuration.pullInterval = .milliseconds(Int(pullInterval * 1000))
        try Daemon(library: library, configuration: configuration,
                   mediaWork: try work.mediaWork(shouldStop: shouldStop), shouldStop: shouldStop).run()
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

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            let path = try resolvedFolder(folder)
            let library = try libraryOptions.open(create: true)
            try library.index.saveWatch(WatchRecord(path: path, mode: mode, exclude: exclude))
            print("watching \(path) (\(mode.rawValue))" + (exclude.isEmpty ? "" : ", excluding \(exclude.joined(separator: " "))"))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the watched folders.")

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            for watch in try libraryOptions.open().index.watches() {
                print("\(watch.path)  \(watch.mode.rawValue)" + watch.exclude.map { "  --exclude \($0)" }.joined())
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
