import ArgumentParser
import Store

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every object is present; with --read-data, that it decrypts and matches its hash.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "Decrypt every object and check every original's BLAKE2b.")
    var readData = false

    @Flag(help: "Remove the orphans: objects in the store that no item names (left by an interrupted run).")
    var repair = false

    func run() throws {
        let library = try libraryOptions.open()
        let lock = repair ? try library.lockForWriting().lock : nil
        defer { withExtendedLifetime(lock) {} }
        let verifier = Verifier(library: library)
        let report = try verifier.run(readData: readData)
        print("verified \(report.items) items, \(report.objectsChecked) objects"
              + (readData ? ", \(formatBytes(report.bytesRead)) decrypted" : " (presence only; --read-data decrypts)"))
        for problem in report.problems { print("  PROBLEM \(problem)") }
        if !report.orphans.isEmpty {
            for orphan in report.orphans { print("  orphan \(orphan)") }
            if repair {
                try verifier.removeOrphans(report)
                print("  removed \(report.orphans.count) orphaned objects")
            } else {
                print("  \(report.orphans.count) objects in the store belong to no item (`verify --repair` removes them)")
            }
        }
        if report.isClean {
            print("no problems found")
        } else {
            print("\(report.problems.count) problems found")
            throw ExitCode(1)
        }
    }
}
