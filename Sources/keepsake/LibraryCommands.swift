import ArgumentParser
import Store

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete items from the library (their originals are not uploaded again by later ingests).",
        discussion: "`ingest --reupload-deleted` takes such files back.")

    @Argument(help: "Item ids (from `keepsake ls`).")
    var ids: [String]

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let library = try libraryOptions.open()
        let (lock, _) = try library.lockForWriting(offlineEdits: true)
        defer { withExtendedLifetime(lock) {} }
        for id in ids {
            guard try library.index.item(id: id) != nil else { throw UsageError(message: "no item \(id)") }
            try library.markDeleted(itemId: id)
            print("deleted \(id)")
        }
        finishEdits(library)
    }
}

struct PasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Change the library's passphrase (re-wraps the master key; nothing else is re-encrypted).",
        discussion: "The new passphrase comes from $KEEPSAKE_NEW_PASSPHRASE, else --new-passphrase-file, else a prompt.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Option(help: "Read the new passphrase from this file's first line.")
    var newPassphraseFile: String?

    func run() throws {
        let library = try libraryOptions.open()
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        let newPassphrase = try LibraryOptions.readPassphrase(environment: "KEEPSAKE_NEW_PASSPHRASE", file: newPassphraseFile,
                                                               prompt: "New passphrase: ", confirm: true)
        try library.changePassphrase(to: newPassphrase)
        print("passphrase changed")
    }
}

/// Says so when edits wait for the store (it could not be reached): they are pushed by the next `sync`, or any
/// command that reaches the store.
/// After a command changed the library: says what waits for the store, or else brings the albums it shares with
/// people up to date (a problem there is told, not fatal: the next sync publishes again).
func finishEdits(_ library: Library) {
    if let waiting = try? library.syncStatus().waitingEdits, waiting > 0 {
        printError("keepsake: the store cannot be reached: \(waiting) edits are kept in this library folder and pushed at the next `keepsake sync`")
        return
    }
    do { try library.publishShares() } catch {
        printError("keepsake: the albums shared with people are not up to date (\(error)); the next `keepsake sync` publishes them")
    }
}

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Bring this library folder up to date with the store, and push edits made while it was away.",
        discussion: "Every command that reads the library syncs first; this one says what changed. --full reads every log entry and item record again.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "Read every writer's log from its start, and every item record (slower; finds what a normal sync cannot).")
    var full = false

    @Flag(help: "One JSON object: applied, pushed, problems.")
    var json = false

    @OptionGroup var work: WorkOptions

    @Option(help: "Seconds to wait while the daemon (or another keepsake) is writing to the library, before taking uploads.")
    var lockTimeout = 600

    func run() throws {
        let library = try libraryOptions.open()
        let before = try library.index.counts()
        let report = try library.sync(full: full)
        // Then what guests uploaded through this library's collect links (docs/public-links.md, "Collect links").
        work.limitUploads(of: library)
        let mediaWork = try work.mediaWork(shouldStop: { false })
        defer { mediaWork.shutDown() }
        let uploads = try UploadTaking.run(library: library, mediaWork: mediaWork, stream: work.stream, lockWait: .seconds(lockTimeout))
        // Then albums shared with people, both ways (docs/sharing.md): last, so that what was just taken is published.
        let shares = try library.syncShares()
        let after = try library.index.counts()
        let problems = report.problems.map(\.description) + uploads.problems + shares.problems
        if json {
            struct Output: Encodable {
                var applied: Int, pushed: Int, items: Int, uploadsTaken: Int, problems: [String], superseded: [String]
                var sharedWithMe: Int, contributionsTaken: Int, sharesPublished: Int
            }
            printJSONLine(Output(applied: report.applied, pushed: report.pushed, items: after.items, uploadsTaken: uploads.taken,
                                 problems: problems, superseded: report.superseded.map(\.description), sharedWithMe: shares.sharedWithMe,
                                 contributionsTaken: shares.taken, sharesPublished: shares.published))
        } else {
            print("pulled \(report.applied) changes from the store; pushed \(report.pushed) edits made while it was away")
            if uploads.taken > 0 { print("took \(uploads.taken) uploads from collect links into their albums") }
            print("items: \(before.items) → \(after.items), albums: \(before.albums) → \(after.albums)")
            if shares.taken > 0 { print("took \(shares.taken) items collaborators added to shared albums") }
            if shares.published > 0 { print("published \(shares.published) shared albums anew") }
            if shares.sharedWithMe > 0 { print("albums shared with this library: \(shares.sharedWithMe)") }
            for notice in shares.notices { print("  \(notice)") }
            // Edits made at the same time elsewhere, of which one had to lose (docs/store-format.md, "Conflicts").
            for edit in report.superseded { print("  lost edit: \(edit)") }
            for problem in problems { print("  problem: \(problem)") }
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
