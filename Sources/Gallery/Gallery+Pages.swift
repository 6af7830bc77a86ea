import Foundation
import Hummingbird
import MediaTypes
import NIOCore
import Store

/// The page routes: timeline, albums, an album, an item.
extension Gallery {
    /// Formats a browser shows in an `img`.
    static let browserImageTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"]
    /// Formats a browser plays in a `video` (an original video without a stream).
    static let browserVideoTypes: Set<String> = ["video/mp4", "video/webm", "video/x-m4v"]

    /// The timeline entries of `album` (nil: every item), in timeline order.
    func entries(album: String?) async throws -> [CatalogEntry] {
        let catalog = self.catalog, library = self.library
        return try await blocking {
            let (all, positions) = try catalog.entries()
            guard let album else { return all }
            return try library.liveItems(inAlbum: album).compactMap { positions[$0.id] }.sorted().map { all[$0] }
        }
    }

    func timelinePage(_ request: Request) async throws -> Response {
        let entries = try await entries(album: nil)
        return Pages.timeline(title: "Timeline", heading: nil, entries: entries.prefix(Pages.pageSize), total: entries.count,
                              source: "/api/timeline", itemQuery: "", current: "/")
    }

    func timelineJSON(_ request: Request) async throws -> Response {
        let album = request.uri.queryParameters["album"].flatMap { String($0).removingPercentEncoding }
        let entries = try await entries(album: album)
        let offset = min(max(0, request.uri.queryParameters["offset"].flatMap { Int($0) } ?? 0), entries.count)
        let page = entries[offset..<min(entries.count, offset + Pages.pageSize)]
        let json = try JSONEncoder().encode(Pages.timelinePage(page, total: entries.count))
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    func albumsPage() async throws -> Response {
        let library = self.library, catalog = self.catalog
        let cards = try await blocking { () throws -> [Pages.AlbumCard] in
            let (all, positions) = try catalog.entries()
            return try library.albumSummaries().map { summary in
                let cover = try library.liveItems(inAlbum: summary.name).compactMap { positions[$0.id] }
                    .filter { all[$0].hasThumbnail }.min().map { all[$0] }
                return Pages.AlbumCard(name: summary.name, count: summary.items, cover: cover)
            }
        }
        return Pages.albums(cards)
    }

    func albumPage(_ request: Request) async throws -> Response {
        guard let name = request.uri.queryParameters["name"].flatMap({ String($0).removingPercentEncoding }), !name.isEmpty else {
            throw HTTPError(.notFound)
        }
        let library = self.library
        guard try await blocking({ try library.albumSummaries() }).contains(where: { $0.name == name }) else { throw HTTPError(.notFound) }
        let entries = try await entries(album: name)
        let query = "?album=" + Pages.queryEscape(name)
        return Pages.timeline(title: name, heading: name, entries: entries.prefix(Pages.pageSize), total: entries.count,
                              source: "/api/timeline" + query, itemQuery: query, current: "")
    }

    func itemPage(_ request: Request, id: String?) async throws -> Response {
        let item = try await liveItem(id)
        let album = request.uri.queryParameters["album"].flatMap { String($0).removingPercentEncoding }
        let entries = try await entries(album: album)
        guard let position = entries.firstIndex(where: { $0.id == item.id }) else { throw HTTPError(.notFound) }
        let library = self.library
        let (originals, albums) = try await blocking { (try library.originals(of: item.id), try library.albumNames(of: item.id)) }
        let query = album.map { (album: String) -> String in "?album=" + Pages.queryEscape(album) } ?? ""
        let newer = position > 0 ? entries[position - 1].id : nil
        let older = position + 1 < entries.count ? entries[position + 1].id : nil
        return ItemPage(item: item, entry: entries[position], originals: originals, albums: albums,
                        newer: newer, older: older, query: query).response
    }
}

/// One item, large, with what is known of it.
struct ItemPage {
    var item: ItemRecord
    var entry: CatalogEntry
    var originals: [OriginalRecord]
    var albums: [String]
    var newer: String?
    var older: String?
    var query: String

    private var base: String { "/media/\(item.id)" }

    /// The still to show: the rendition when there is one, else the original when the browser shows its format,
    /// else the thumbnail.
    var imageURL: String? {
        if item.renditionObject != nil { return base + "/rendition" }
        if let still = originals.first(where: { $0.role == "main" || $0.role == "still" }), item.type != .video,
           Gallery.browserImageTypes.contains(still.mimeType) {
            return base + "/original/" + still.role
        }
        return item.thumbnailObject != nil ? base + "/thumbnail" : nil
    }

    /// The moving picture: the HLS stream when there is one, else the video original when the browser plays it.
    var videoURL: String? {
        if item.playlistObject != nil && item.streamObject != nil { return base + "/playlist.m3u8" }
        if let video = originals.first(where: { $0.role == "video" || ($0.role == "main" && item.type == .video) }),
           Gallery.browserVideoTypes.contains(video.mimeType) {
            return base + "/original/" + video.role
        }
        return nil
    }

    var response: Response {
        let image = imageURL
        let figure: String
        switch item.type {
        case .video:
            if let video = videoURL {
                let poster = item.thumbnailObject != nil ? " poster=\"\(base)/thumbnail\"" : ""
                figure = "<video id=\"player\" controls playsinline preload=\"metadata\"\(poster) src=\"\(video)\"></video>"
            } else {
                figure = still(image) + "<p class=\"note\">This video has no stream a browser can play: download it.</p>"
            }
        case .livePhoto, .motionPhoto:
            if let video = videoURL {
                figure = """
                    <div class="motion" id="motion" title="Click to play">\(still(image))
                    <video id="player" playsinline preload="none" src="\(video)" hidden></video>
                    <span class="badge play">\(item.type == .livePhoto ? "LIVE" : "MOTION") ▶</span></div>
                    """
            } else {
                figure = still(image)
            }
        case .image:
            figure = still(image)
        }
        let metadata = entry.metadata
        var facts: [(String, String)] = []
        facts.append(("Taken", metadata?.captureTime.map { (time: CaptureTime) -> String in Pages.escape(DateWords.captureTime(time)) } ?? "unknown"))
        // Models often repeat the make ("Canon" "Canon EOS 5D Mark IV").
        let make = metadata?.make, model = metadata?.model
        let camera = (model.flatMap { model in make.map { model.lowercased().hasPrefix($0.lowercased()) } } ?? false)
            ? model ?? "" : [make, model].compactMap { $0 }.joined(separator: " ")
        if !camera.isEmpty { facts.append(("Camera", Pages.escape(camera))) }
        if let lens = metadata?.lens { facts.append(("Lens", Pages.escape(lens))) }
        if let width = metadata?.width, let height = metadata?.height { facts.append(("Size", "\(width) × \(height) px")) }
        if let duration = metadata?.durationSeconds { facts.append(("Duration", String(format: "%.1f s", duration))) }
        if let place = metadata?.location {
            let lat = String(format: "%.6f", place.latitude), lon = String(format: "%.6f", place.longitude)
            facts.append(("Place", "\(lat), \(lon) · <a href=\"https://www.openstreetmap.org/?mlat=\(lat)&amp;mlon=\(lon)#map=16/\(lat)/\(lon)\" rel=\"noreferrer noopener\" target=\"_blank\">OpenStreetMap</a>"))
        }
        if !albums.isEmpty {
            facts.append(("Albums", albums.map { album -> String in "<a href=\"/album?name=\(Pages.queryEscape(album))\">\(Pages.escape(album))</a>" }.joined(separator: ", ")))
        }
        let downloads = originals.map { original -> String in
            let name = original.name.string ?? "original"
            return "<li><a class=\"download\" href=\"\(base)/original/\(original.role)?download=1\">\(Pages.escape(name))</a> <span class=\"count\">\(ByteCount.text(original.size))</span></li>"
        }.joined()
        let rows = facts.map { fact -> String in "<dt>\(fact.0)</dt><dd>\(fact.1)</dd>" }.joined()
        let newerLink = newer.map { (id: String) -> String in "<a id=\"newer\" class=\"step\" href=\"/items/\(id)\(query)\" title=\"Newer (←)\">‹</a>" } ?? ""
        let olderLink = older.map { (id: String) -> String in "<a id=\"older\" class=\"step\" href=\"/items/\(id)\(query)\" title=\"Older (→)\">›</a>" } ?? ""
        let title = originals.first?.name.string ?? "Item"
        return Pages.layout(title: title, main: """
            <main class="item" data-item="\(item.id)"><div class="stage">\(newerLink)<figure>\(figure)</figure>\(olderLink)</div>
            <aside class="facts"><h1>\(Pages.escape(title))</h1><dl>\(rows)</dl><h2>Download</h2><ul class="downloads">\(downloads)</ul></aside></main>
            """)
    }

    private func still(_ url: String?) -> String {
        url.map { (url: String) -> String in "<img id=\"photo\" src=\"\(url)\" alt=\"\">" } ?? "<div class=\"no-thumb large\">No preview of this item</div>"
    }
}

enum ByteCount {
    static func text(_ bytes: Int64) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
    }
}
