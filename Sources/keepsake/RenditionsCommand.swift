import ArgumentParser
import MediaWorker
import Pipeline
import Store

struct RenditionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renditions",
        abstract: "Make the large JPEG renditions that photos stored by older versions lack (HEIC, RAW, TIFF).",
        discussion: "Each original is decrypted from the store into memory only, and read by a media worker.")

    @Option(help: "Seconds a media worker may go without answering (plus one per MiB of the file) before it counts as hung and is killed.")
    var workerTimeout = 60

    @Option(help: "Seconds to wait while the daemon (or another keepsake) is writing to the library.")
    var lockTimeout = 600

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let engine = try Executables.mediaEngine()
        let library = try libraryOptions.open()
        let (lock, _) = try library.lockForWriting(waitingUpTo: .seconds(lockTimeout))
        defer { withExtendedLifetime(lock) {} }
        let mediaWork = OutOfProcessMediaWork(executable: engine, timeoutFloor: .seconds(workerTimeout), shouldStop: { false })
        defer { mediaWork.shutDown() }
        let report = try RenditionBackfill.run(library: library, mediaWork: mediaWork)
        print("renditions made: \(report.made)")
        for failure in report.failures { print("  failed \(failure.itemId): \(failure.reason)") }
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
