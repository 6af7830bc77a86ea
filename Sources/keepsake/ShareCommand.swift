import ArgumentParser
import Foundation
import MediaWorker
import Pipeline
import Sharing
import Store

struct ShareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share albums: public links anyone can open, end to end encrypted.",
        subcommands: [LinkCommand.self])
}

struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Make, list and revoke an album's public links.",
        discussion: """
            A link's key is in the part after '#', which browsers never send: the server (keepsake serve, or keepsake serve \
            --links-only without the passphrase) serves only ciphertext. Without --allow-download a link holds no key that \
            opens an original. See docs/public-links.md.
            """,
        subcommands: [Create.self, Update.self, List.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Make a public link to an album and print it.")

        @Argument(help: "The album to share.")
        var album: String

        @Option(name: .customLong("password-file"), help: ArgumentHelp("The link's password is this file's first line: the link opens only with it.", valueName: "FILE"))
        var passwordFile: String?

        @Option(help: ArgumentHelp("When the link stops working: a duration (30m, 12h, 7d, 2w) or a date (2027-01-31, 2027-01-31T18:00:00Z).", valueName: "WHEN"))
        var expires: String?

        @Flag(name: .customLong("allow-download"), help: "Let the link's holders download the originals (otherwise its keys cannot open them).")
        var allowDownload = false

        @Flag(name: .customLong("no-location"), help: "Leave out where each photo was taken.")
        var noLocation = false

        @Option(help: "The title the page shows (default: the album's name).")
        var title: String?

        @OptionGroup var publishing: LinkPublishing

        func run() throws {
            let expiry = try expires.map { try ExpiryParser.date(from: $0) }
            let password = try passwordFile.map(Self.readPassword)
            let options = LinkPublisher.Options(title: title, password: password, expires: expiry, allowDownload: allowDownload,
                                                showLocation: !noLocation)
            let created = try publishing.publish { publisher, base, largePicture in
                try publisher.create(album: album, options: options, baseURL: base, largePicture: largePicture)
            }
            printError("keepsake: link \(created.token) to \(album) (\(created.items) \(created.items == 1 ? "item" : "items"))"
                       + (expiry.map { ", until \(ISO8601DateFormatter().string(from: $0))" } ?? ""))
        }

        static func readPassword(_ file: String) throws -> String {
            guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw UsageError(message: "cannot read the password file \(file)")
            }
            let line = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.isEmpty else { throw UsageError(message: "the password file \(file) is empty") }
            return line
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Bring a link up to date with its album: items added since are shown, items taken out no longer are.",
            discussion: "The link, its key and its password stay the same; a page open at the moment needs a reload.")
        @Argument(help: "The link's id (share link ls).")
        var id: String
        @OptionGroup var publishing: LinkPublishing

        func run() throws {
            let updated = try publishing.publish { publisher, base, largePicture in
                try publisher.update(token: id, baseURL: base, largePicture: largePicture)
            }
            printError("keepsake: link \(updated.token) shows \(updated.items) \(updated.items == 1 ? "item" : "items") now")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "This library's links: album, created, expires, options, opened how often.")
        @Flag(help: "One JSON object a line per link.")
        var json = false
        @Option(name: .customLong("base-url"), help: ArgumentHelp("Where the links' server is reached (default: $KEEPSAKE_PUBLIC_URL, else http://127.0.0.1:8080).", valueName: "URL"))
        var baseURL: String?
        @OptionGroup var libraryOptions: LibraryOptions

        struct Line: Encodable {
            var id, album, title, state, created: String
            var expires: String?
            var password, allowDownload, showLocation: Bool
            var opens: Int
            var url: String?
        }

        func run() throws {
            let base = publicBaseURL(baseURL)
            let formatter = ISO8601DateFormatter()
            for link in try LinkPublisher(library: libraryOptions.open()).list() {
                let line = Line(id: link.token, album: link.owner.album, title: link.owner.title, state: link.state,
                                created: formatter.string(from: link.record.created), expires: link.record.expires.map(formatter.string),
                                password: link.owner.hasPassword, allowDownload: link.owner.allowDownload,
                                showLocation: link.owner.showLocation, opens: link.opens,
                                url: link.state == "live" ? link.url(base: base) : nil)
                if json { printJSONLine(line); continue }
                let options = [line.password ? "password" : nil, line.allowDownload ? "download" : nil,
                               line.showLocation ? nil : "no location"].compactMap { $0 }
                print("\(line.id)  \(line.album)  \(line.state)  created \(line.created)  expires \(line.expires ?? "never")"
                      + "  \(options.isEmpty ? "view only" : options.joined(separator: ", "))  opened \(line.opens)×")
                if let url = line.url { print("    \(url)") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke a link: its server answers 410 Gone from then on, and what it showed is deleted from the store.")
        @Argument(help: "The link's id (share link ls).")
        var id: String
        @OptionGroup var libraryOptions: LibraryOptions

        func run() throws {
            try LinkPublisher(library: libraryOptions.open()).revoke(token: id)
            print("revoked link \(id)")
        }
    }
}

/// What making or updating a link needs: the library, media workers for the large pictures, where the link is served.
struct LinkPublishing: ParsableArguments {
    @Option(name: .customLong("base-url"), help: ArgumentHelp("Where the link's server is reached (default: $KEEPSAKE_PUBLIC_URL, else http://127.0.0.1:8080).", valueName: "URL"))
    var baseURL: String?

    @Option(help: "Seconds a media worker may go without answering (plus one per MiB of the file) before it counts as hung and is killed.")
    var workerTimeout = 60

    @OptionGroup var libraryOptions: LibraryOptions

    /// Runs `body` with a publisher over the open library and a maker of large pictures, then prints the link and,
    /// on stderr, the items shown with less than they have.
    func publish(_ body: (LinkPublisher, String, LinkPublisher.LargePictureMaker) throws -> LinkPublisher.Created) throws -> LinkPublisher.Created {
        let engine = try Executables.mediaEngine()
        let library = try libraryOptions.open()
        let mediaWork = OutOfProcessMediaWork(executable: engine, timeoutFloor: .seconds(workerTimeout), shouldStop: { false })
        defer { mediaWork.shutDown() }
        let result = try body(LinkPublisher(library: library), publicBaseURL(baseURL)) { item, original in
            try RenditionBackfill.largePicture(of: original, of: item, library: library, mediaWork: mediaWork)
        }
        for shortfall in result.shortfalls { printError("keepsake: item \(shortfall.itemId): \(shortfall.reason)") }
        print(result.url)
        return result
    }
}

/// `--base-url`, else `$KEEPSAKE_PUBLIC_URL`, else the address `keepsake serve` listens on by default.
func publicBaseURL(_ option: String?) -> String {
    option ?? ProcessInfo.processInfo.environment["KEEPSAKE_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
}

/// `--expires`: a duration from now (`30m`, `12h`, `7d`, `2w`) or a date (`2027-01-31`, midnight UTC, or ISO 8601).
enum ExpiryParser {
    static func date(from text: String, now: Date = Date()) throws -> Date {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400]
        if let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count > 0 {
            return now.addingTimeInterval(count * unit)
        }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: text) { return date }
        throw LinkError.badExpiry(text)
    }
}
