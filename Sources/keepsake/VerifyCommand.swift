import ArgumentParser
import Store

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every object is present; with --read-data, that it decrypts and matches its hash.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "Decrypt every object and check every original's BLAKE2b.")
    var readData = false

    @Flag(help: "Remove the orphans: data objects that no journal entry in the store names (left by an interrupted run).")
    var repair = false

    @Option(help: ArgumentHelp("An unreferenced object counts as an orphan only when older than this (another machine may "
                                + "be storing it): seconds, or a number with s, m, h or d.", valueName: "AGE"))
    var grace = "1d"

    func validate() throws {
        if Self.parseAge(grace) == nil { throw ValidationError("--grace must be a number of seconds, or a number with s, m, h or d (e.g. 1d)") }
    }

    /// `90`, `90s`, `15m`, `2h`, `1d`.
    static func parseAge(_ text: String) -> Duration? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let unit = text.last.flatMap { units[$0] }
        guard let number = Int64(unit == nil ? text : String(text.dropLast())), number >= 0 else { return nil }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: unit ?? 1)
        return overflow ? nil : .seconds(seconds)
    }

    func run() throws {
        let library = try libraryOptions.open()
        let lock = repair ? try library.lockForWriting().lock : nil
        defer { withExtendedLifetime(lock) {} }
        let verifier = Verifier(library: library)
        let report = try verifier.run(readData: readData, grace: Self.parseAge(grace)!)
        print("verified \(report.items) items, \(report.objectsChecked) objects"
              + (readData ? ", \(formatBytes(report.bytesRead)) decrypted" : " (presence only; --read-data decrypts)"))
        for problem in report.problems { print("  PROBLEM \(problem)") }
        if report.objectsWithoutDigest > 0 {
            print("  \(report.objectsWithoutDigest) objects were stored before objects had hashes: "
                  + (readData ? "checked by decryption only" : "checked by presence only"))
        }
        if !report.recentUnreferenced.isEmpty {
            print("  \(report.recentUnreferenced.count) objects belong to no item yet but are younger than --grace \(grace) "
                  + "(perhaps a run at work elsewhere): kept")
        }
        if !report.orphans.isEmpty {
            for orphan in report.orphans { print("  orphan \(orphan)") }
            if report.unreadableEntries > 0 {
                print("  not removing orphans: log entries or item records cannot be read, "
                      + "so what they reference is unknown")
            } else if repair {
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
