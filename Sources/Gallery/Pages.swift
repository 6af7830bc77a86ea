import Foundation
import Hummingbird
import MediaTypes
import NIOCore
import Store

/// The server-rendered pages. Every value from the library is escaped; scripts come only from /assets.
enum Pages {
    /// Items rendered into the page; the rest arrive by /api/timeline as the page is scrolled.
    static let pageSize = 120

    static func html(_ body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func layout(title: String, main: String, current: String = "") -> Response {
        func link(_ href: String, _ label: String) -> String {
            "<a href=\"\(href)\"\(current == href ? " class=\"current\"" : "")>\(label)</a>"
        }
        return html("""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Keepsake</title><link rel="stylesheet" href="/assets/gallery.css"></head>
            <body><header class="bar"><span class="brand">Keepsake</span><nav>\(link("/", "Timeline"))\(link("/albums", "Albums"))</nav>
            <form method="post" action="/logout"><button type="submit">Log out</button></form></header>
            \(main)
            <script src="/assets/gallery.js"></script></body></html>
            """)
    }

    static func login(message: String?, status: HTTPResponse.Status) -> Response {
        let note = message.map { (message: String) -> String in "<p class=\"note\">\(escape(message))</p>" } ?? ""
        return html("""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Log in · Keepsake</title><style>\(Assets.css)</style></head>
            <body class="login"><form method="post" action="/login" class="login-box">
            <h1>Keepsake</h1>\(note)
            <label for="passphrase">Library passphrase</label>
            <input id="passphrase" name="passphrase" type="password" autocomplete="current-password" autofocus required>
            <button type="submit">Unlock</button>
            <p class="hint">Or open the one-time link that <code>keepsake serve</code> printed.</p>
            </form></body></html>
            """, status: status,
            headers: [.contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"])
    }

    static func tooManyAttempts(retryAfter: Int) -> Response {
        var response = login(message: "Too many login attempts: wait \(retryAfter) seconds.", status: .tooManyRequests)
        response.headers[.retryAfter] = String(retryAfter)
        return response
    }

    /// The first page of a timeline (all items, or an album's), grouped by day; `source` is where the script fetches
    /// the next pages.
    static func timeline(title: String, heading: String?, entries: ArraySlice<CatalogEntry>, total: Int, source: String,
                         itemQuery: String, current: String) -> Response {
        let head = heading.map { (heading: String) -> String in "<h1 class=\"page-title\">\(escape(heading)) <span class=\"count\">\(total) items</span></h1>" } ?? ""
        let empty = total == 0 ? "<p class=\"empty\">Nothing here yet: ingest some photos with <code>keepsake ingest</code>.</p>" : ""
        return layout(title: title, main: """
            <main class="timeline" id="timeline" data-source="\(escape(source))" data-next="\(entries.count < total ? entries.endIndex : -1)" data-item-query="\(escape(itemQuery))">
            \(head)\(empty)\(daySections(entries, itemQuery: itemQuery))
            <div id="more" aria-hidden="true"></div></main>
            """, current: current)
    }

    static func daySections(_ entries: ArraySlice<CatalogEntry>, itemQuery: String) -> String {
        var html = "", day: String?? = .none
        for entry in entries {
            if day != .some(entry.day) {
                if day != nil { html += "</div></section>" }
                html += "<section class=\"day\" data-day=\"\(escape(entry.day ?? ""))\"><h2>\(escape(DateWords.day(entry.day)))</h2><div class=\"grid\">"
                day = .some(entry.day)
            }
            html += tile(entry, itemQuery: itemQuery)
        }
        if day != nil { html += "</div></section>" }
        return html
    }

    static func tile(_ entry: CatalogEntry, itemQuery: String) -> String {
        let badge = switch entry.type {
        case .video: "<span class=\"badge\">▶</span>"
        case .livePhoto: "<span class=\"badge\">LIVE</span>"
        case .motionPhoto: "<span class=\"badge\">MOTION</span>"
        case .image: ""
        }
        let picture = entry.hasThumbnail
            ? "<img loading=\"lazy\" decoding=\"async\" src=\"/media/\(entry.id)/thumbnail\" alt=\"\">"
            : "<span class=\"no-thumb\">no preview</span>"
        return "<a class=\"tile\" href=\"/items/\(entry.id)\(itemQuery)\">\(picture)\(badge)</a>"
    }

    /// The JSON the script appends to a timeline: items with their day, and where the next page starts (-1: none).
    struct TimelinePage: Encodable {
        struct Item: Encodable {
            var id: String
            var type: String
            var day: String
            var dayLabel: String
            var thumbnail: Bool
        }
        var items: [Item]
        var next: Int
    }

    static func timelinePage(_ entries: ArraySlice<CatalogEntry>, total: Int) -> TimelinePage {
        TimelinePage(items: entries.map {
            .init(id: $0.id, type: $0.type.rawValue, day: $0.day ?? "", dayLabel: DateWords.day($0.day), thumbnail: $0.hasThumbnail)
        }, next: entries.endIndex < total ? entries.endIndex : -1)
    }

    struct AlbumCard {
        var name: String
        var count: Int
        var cover: CatalogEntry?
    }

    static func albums(_ cards: [AlbumCard]) -> Response {
        let items = cards.map { card -> String in
            let cover = card.cover.flatMap { (entry: CatalogEntry) -> String? in entry.hasThumbnail ? "<img loading=\"lazy\" src=\"/media/\(entry.id)/thumbnail\" alt=\"\">" : nil }
                ?? "<span class=\"no-thumb\">empty</span>"
            return """
                <a class="album" href="/album?name=\(queryEscape(card.name))"><div class="cover">\(cover)</div>
                <div class="album-name">\(escape(card.name))</div><div class="count">\(card.count) item\(card.count == 1 ? "" : "s")</div></a>
                """
        }.joined()
        let empty = cards.isEmpty ? "<p class=\"empty\">No albums yet.</p>" : ""
        return layout(title: "Albums", main: "<main class=\"albums\"><h1 class=\"page-title\">Albums</h1>\(empty)<div class=\"album-grid\">\(items)</div></main>",
                      current: "/albums")
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func queryEscape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
