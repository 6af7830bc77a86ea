import ArgumentParser
import Store

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every object is present; with --read-data, that it decrypts and matches its hash.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "Decrypt every object and check every original's BLAKE2b.")
    var readData = false

    func run() throws {
        let library = try libraryOptions.open()
        let report = try Verifier(library: library).run(readData: readData)
        print("verified \(report.items) items, \(report.objectsChecked) objects"
              + (readData ? ", \(formatBytes(report.bytesRead)) decrypted" : " (presence only; --read-data decrypts)"))
        for problem in report.problems { print("  PROBLEM \(problem)") }
        if !report.orphans.isEmpty {
            print("  \(report.orphans.count) objects in the store belong to no item (left by an interrupted run; the next ingest removes them)")
        }
        if report.isClean {
            print("no problems found")
        } else {
            print("\(report.problems.count) problems found")
            throw ExitCode(1)
        }
    }
}
