import ArgumentParser
import Store

struct AlbumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "album",
        abstract: "List, create, rename and delete albums; add items to them and take items out.",
        discussion: """
            Deleting an album or taking an item out never deletes an item: one in no album is in Uncategorized \
            (`keepsake ls --album Uncategorized`). Edits made on two machines at once converge (see the README).
            """,
        subcommands: [List.self, Create.self, Rename.self, Add.self, Remove.self, Delete.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "Each album with its item count, then Uncategorized.")
        @OptionGroup var libraryOptions: LibraryOptions
        @Flag(help: "One JSON object a line per album: name, items.")
        var json = false

        func run() throws {
            for album in try libraryOptions.open().albumSummaries() {
                if json { printJSONLine(album) } else { print("\(album.name)  (\(album.items) \(album.items == 1 ? "item" : "items"))") }
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Make an empty album.")
        @Argument var name: String
        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            try editing(libraryOptions) { try $0.createAlbum(named: name) }
            print("created album \(name)")
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename an album.")
        @Argument var old: String
        @Argument var new: String
        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            try editing(libraryOptions) { try $0.renameAlbum(old, to: new) }
            print("renamed album \(old) to \(new)")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Put items (ids from `keepsake ls`) in an album.")
        @Argument var name: String
        @Argument(help: "Item ids.") var ids: [String]
        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            try editing(libraryOptions) { library in
                for id in ids { print(try library.addToAlbum(name, itemId: id) ? "added \(id) to \(name)" : "\(id) is in \(name) already") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove",
                                                        abstract: "Take items out of an album (one in no album is in Uncategorized).")
        @Argument var name: String
        @Argument(help: "Item ids.") var ids: [String]
        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            try editing(libraryOptions) { library in
                for id in ids { print(try library.removeFromAlbum(name, itemId: id) ? "removed \(id) from \(name)" : "\(id) was not in \(name)") }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete",
                                                        abstract: "Delete an album; its items stay (those in no other album are in Uncategorized).")
        @Argument var name: String
        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            var count = 0
            try editing(libraryOptions) { count = try $0.deleteAlbum(name) }
            print("deleted album \(name); its \(count) \(count == 1 ? "item stays" : "items stay") in the library")
        }
    }
}

/// Opens the library and holds its writer lock (which first brings the index up to date with the store) for `edit`.
/// With the store away, the edit is made here and queued (`sync` pushes it).
private func editing(_ options: LibraryOptions, _ edit: (Library) throws -> Void) throws {
    let library = try options.open()
    let (lock, _) = try library.lockForWriting(offlineEdits: true)
    defer { withExtendedLifetime(lock) {} }
    try edit(library)
    finishEdits(library)
}
