import ArgumentParser
import Foundation
import KeepsakeCrypto
import Sharing
import Store

/// A library's public key as `keepsake identity` prints it (base64url, 43 characters).
func parsePublicKey(_ text: String) throws -> [UInt8] {
    guard let key = Base64URL.decode(text.trimmingCharacters(in: .whitespaces)), key.count == 32 else {
        throw UsageError(message: ShareError.badPublicKey.description)
    }
    return key
}

extension ShareRole: ExpressibleByArgument {}

/// `share add|rm|ls`: sharing this library's albums with other libraries (docs/sharing.md).
enum PeopleSharing {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Share an album with another library (by its public key), as viewer or collaborator.",
            discussion: """
                They run `keepsake shared add` with this library's store (which they must be able to read; a collaborator \
                also writes to its shares/ prefix) and see the album after each sync. Compare the verification phrase \
                printed here with the one `keepsake identity` prints for them.
                """)

        @Argument(help: "The album to share.")
        var album: String

        @Option(name: .customLong("with"), help: ArgumentHelp("Their library's public key (`keepsake identity` prints it).", valueName: "PUBLIC-KEY"))
        var publicKey: String

        @Option(help: "viewer (sees, exports) or collaborator (also adds their own items).")
        var role: ShareRole = .viewer

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            let key = try parsePublicKey(publicKey)
            let library = try libraryOptions.open()
            try library.share(album: album, with: key, role: role)
            print("shared '\(album)' as \(role.rawValue) with \(Base64URL.encode(key))")
            print("their verification phrase: \(IdentityKeyPair.verificationPhrase(of: key))")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Stop sharing an album with a library: what is added from now on is sealed with a new key they never get.",
            discussion: "They keep what they could already decrypt (the items shared until now); they cannot decrypt anything added afterwards.")

        @Argument(help: "The shared album.")
        var album: String

        @Option(name: .customLong("with"), help: ArgumentHelp("Their library's public key.", valueName: "PUBLIC-KEY"))
        var publicKey: String

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            let key = try parsePublicKey(publicKey)
            guard try libraryOptions.open().unshare(album: album, with: key) else {
                throw UsageError(message: ShareError.notShared(album).description)
            }
            print("'\(album)' is no longer shared with \(Base64URL.encode(key)); a new key seals what is added from now on")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the albums this library shares with people.")

        @OptionGroup var libraryOptions: LibraryOptions

        @Flag(help: "One JSON object a line per album.")
        var json = false

        func run() throws {
            for listing in try libraryOptions.open().shareListings() {
                if json {
                    struct Member: Encodable { var publicKey: String, verificationPhrase: String, role: String, added: Date }
                    struct Output: Encodable { var album: String, keyGeneration: Int, members: [Member] }
                    printJSONLine(Output(album: listing.album, keyGeneration: listing.generation, members: listing.members.map {
                        Member(publicKey: Base64URL.encode($0.publicKey), verificationPhrase: IdentityKeyPair.verificationPhrase(of: $0.publicKey),
                               role: $0.role.rawValue, added: $0.added)
                    }))
                } else {
                    print("\(listing.album)  (key generation \(listing.generation))")
                    for member in listing.members {
                        print("  \(member.role.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(Base64URL.encode(member.publicKey))  "
                              + IdentityKeyPair.verificationPhrase(of: member.publicKey))
                    }
                }
            }
        }
    }
}

/// `shared add|ls|rm|contribute`: the albums other libraries share with this one.
struct SharedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shared",
        abstract: "Albums other libraries share with this one.",
        discussion: """
            Add the owner's store once; from then on its albums shared with this library are in ls, export and serve, \
            brought up to date by every sync (and the daemon). See docs/sharing.md.
            """,
        subcommands: [Add.self, List.self, Remove.self, Contribute.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Read the albums a store shares with this library.")

        @Argument(help: ArgumentHelp("The owner's store: s3://BUCKET/PREFIX, or a folder (their library folder or its store/).", valueName: "STORE-URL"))
        var store: String

        @Option(name: .customLong("owner"), help: ArgumentHelp("Refuse the store unless its owner has this public key.", valueName: "PUBLIC-KEY"))
        var owner: String?

        @Option(name: .customLong("shared-s3-endpoint"), help: ArgumentHelp("The S3-compatible server of that store (default: $AWS_ENDPOINT_URL).", valueName: "URL"))
        var endpoint: String?

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            let expected = try owner.map(parsePublicKey)
            let address = SharedStoreAddress(store, endpoint: endpoint ?? ProcessInfo.processInfo.environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 })
            let library = try libraryOptions.open()
            let (ownerKey, albums) = try library.addSharedStore(address)
            if let expected, expected != ownerKey {
                _ = try library.removeSharedStore(address)
                throw UsageError(message: "\(address.url) belongs to \(Base64URL.encode(ownerKey)), not to the --owner given: not added")
            }
            print("owner: \(Base64URL.encode(ownerKey))")
            print("owner's verification phrase: \(IdentityKeyPair.verificationPhrase(of: ownerKey)) (compare it with theirs)")
            for album in albums { print("  \(album.name)  (\(album.role.rawValue), \(album.items) \(album.items == 1 ? "item" : "items"))") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the albums shared with this library.")

        @OptionGroup var libraryOptions: LibraryOptions

        @Flag(help: "One JSON object a line per album.")
        var json = false

        func run() throws {
            for album in try libraryOptions.open().sharedAlbums() {
                if json {
                    struct Output: Encodable { var album: String, store: String, owner: String, ownerPhrase: String, role: String, items: Int, removed: Bool }
                    printJSONLine(Output(album: album.name, store: album.store, owner: Base64URL.encode(album.ownerPublicKey), ownerPhrase: album.ownerPhrase,
                                         role: album.role.rawValue, items: album.items, removed: album.removed))
                } else {
                    print("\(album.name)  \(album.role.rawValue), \(album.items) \(album.items == 1 ? "item" : "items")"
                          + (album.removed ? ", no longer shared (what was shared stays)" : "") + "  from \(album.store) (\(album.ownerPhrase))")
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Stop reading a store's shared albums, and forget them.")

        @Argument(help: ArgumentHelp("The store, as given to `shared add`.", valueName: "STORE-URL"))
        var store: String

        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            guard try libraryOptions.open().removeSharedStore(SharedStoreAddress(store)) else {
                throw UsageError(message: "\(store) is not a store this library reads shared albums from (`keepsake shared ls`)")
            }
        }
    }

    struct Contribute: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "contribute",
            abstract: "Add items of this library to an album shared with it as collaborator.",
            discussion: "Each item's encrypted objects are copied to the album's owner's store; the owner takes them into the album at their next sync.")

        @Argument(help: "The shared album.")
        var album: String

        @Option(name: .customLong("from-album"), help: "Every item of this album of this library (Uncategorized: those in none).")
        var fromAlbum: String?

        @Option(name: .customLong("item"), help: "An item of this library, by id (repeatable).")
        var items: [String] = []

        @OptionGroup var libraryOptions: LibraryOptions

        func validate() throws {
            if fromAlbum == nil && items.isEmpty { throw ValidationError("give --from-album ALBUM or --item ID") }
        }

        func run() throws {
            let library = try libraryOptions.open()
            var ids = items
            if let fromAlbum {
                ids += try library.liveItems(inAlbum: fromAlbum, includingShared: false).map(\.id)
            }
            let sent = try library.contribute(toShared: album, itemIds: ids)
            print("sent \(sent) \(sent == 1 ? "item" : "items") to '\(album)'; its owner takes them at their next sync")
        }
    }
}
