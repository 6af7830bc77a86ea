import ArgumentParser
import Foundation
import MediaWorker
import Pipeline
import Sharing
import Store

struct ShareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share albums: with other libraries (add, rm, ls) and by public links anyone can open, end to end encrypted.",
        subcommands: [PeopleSharing.Add.self, PeopleSharing.Remove.self, PeopleSharing.List.self, LinkCommand.self])
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

        @Flag(name: .customLong("allow-upload"), help: "Make a collect link: guests upload photos and videos into the album (encrypted in their browser) and see none of it; `keepsake sync` takes the uploads in.")
        var allowUpload = false

        @Option(name: .customLong("max-uploads"), help: "A collect link takes at most this many uploads.")
        var maxUploads = 500

        @Option(name: .customLong("max-upload-size"), help: ArgumentHelp("A collect link takes files up to this size (bytes, or with K, M, G, T).", valueName: "SIZE"))
        var maxUploadSize = "4G"

        @OptionGroup var publishing: LinkPublishing

        func validate() throws {
            if allowUpload && (allowDownload || passwordFile != nil) {
                throw ValidationError("--allow-upload makes a collect link, which shows nothing to download and has no password")
            }
            if maxUploads < 1 { throw ValidationError("--max-uploads must be at least 1") }
            if ByteSize.parse(maxUploadSize) == nil { throw ValidationError("--max-upload-size: give bytes, or a number with K, M, G or T (2G)") }
        }

        func run() throws {
            let expiry = try expires.map { try ExpiryParser.date(from: $0) }
            let password = try passwordFile.map(Self.readPassword)
            let upload = allowUpload ? LinkUploadLimits(maxUploads: maxUploads, maxUploadSize: ByteSize.parse(maxUploadSize)!) : nil
            let options = LinkPublisher.Options(title: title, password: password, expires: expiry, allowDownload: allowDownload,
                                                showLocation: !noLocation, upload: upload)
            let created = try publishing.publish { publisher, base, largePicture in
                try publisher.create(album: album, options: options, baseURL: base, largePicture: largePicture)
            }
            let what = allowUpload ? "collect link \(created.token) into \(album)"
                : "link \(created.token) to \(album) (\(created.items) \(created.items == 1 ? "item" : "items"))"
            printError("keepsake: \(what)"
                       + (expiry.map { ", until \(ISO8601DateFormatter().string(from: $0))" } ?? ""))
        }

        static func readPassword(_ file: String) throws -> String { try firstLine(of: file, holding: "password") }
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
            /// A collect link: uploads complete and waiting for a sync, and uploads rejected (did not authenticate).
            var collect: Bool = false
            var uploadsWaiting: Int?
            var uploadsRejected: Int?
        }

        func run() throws {
            let base = publicBaseURL(baseURL)
            let formatter = ISO8601DateFormatter()
            let library = try libraryOptions.open()
            let collector = UploadCollector(library: library)
            for link in try LinkPublisher(library: library).list() {
                var line = Line(id: link.token, album: link.owner.album, title: link.owner.title, state: link.state,
                                created: formatter.string(from: link.record.created), expires: link.record.expires.map(formatter.string),
                                password: link.owner.hasPassword, allowDownload: link.owner.allowDownload,
                                showLocation: link.owner.showLocation, opens: link.opens,
                                url: link.state == "live" ? link.url(base: base) : nil)
                if link.record.upload != nil {
                    let counts = try collector.counts(token: link.token)
                    (line.collect, line.uploadsWaiting, line.uploadsRejected) = (true, counts.waiting, counts.rejected)
                }
                if json { printJSONLine(line); continue }
                let options = line.collect
                    ? ["collect: \(line.uploadsWaiting ?? 0) uploads waiting for sync" + (line.uploadsRejected.map { $0 > 0 ? ", \($0) rejected" : "" } ?? "")]
                    : [line.password ? "password" : nil, line.allowDownload ? "download" : nil,
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

/// `--max-upload-size`: bytes, or a number with K, M, G or T (binary multiples).
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        let upper = text.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        if let unit = upper.last.flatMap({ units[$0] }), let count = Double(upper.dropLast()), count > 0 { return Int64(count * Double(unit)) }
        return Int64(upper).flatMap { $0 > 0 ? $0 : nil }
    }
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
