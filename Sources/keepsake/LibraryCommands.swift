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
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        for id in ids {
            guard try library.index.item(id: id) != nil else { throw UsageError(message: "no item \(id)") }
            try library.markDeleted(itemId: id)
            print("deleted \(id)")
        }
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
