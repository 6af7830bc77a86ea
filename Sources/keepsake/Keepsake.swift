import ArgumentParser

struct Keepsake: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keepsake",
        abstract: "End-to-end encrypted backup of photos and videos.",
        discussion: """
            The library is --library PATH, else $KEEPSAKE_LIBRARY, else $XDG_DATA_HOME/keepsake.
            The passphrase comes from $KEEPSAKE_PASSPHRASE, else --passphrase-file FILE, else a prompt on a terminal.
            The objects live in the library folder, or in S3 with --store s3://BUCKET/PREFIX (else $KEEPSAKE_STORE).
            Exit status: 0 all done; 1 some files failed; 2 usage or configuration error; 3 library or store unusable.
            """,
        subcommands: [IngestCommand.self, ListCommand.self, StatusCommand.self, VerifyCommand.self,
                      ThumbCommand.self, StreamCommand.self, ExportCommand.self, RemoveCommand.self, AlbumCommand.self,
                      SyncCommand.self, PasswordCommand.self, WatchCommand.self, DaemonCommand.self, ServiceCommand.self, FreeUpCommand.self,
                      RenditionsCommand.self, ServeCommand.self, ShareCommand.self, SharedCommand.self, IdentityCommand.self])
}
