import Foundation
import MediaTypes
import Store
import Synchronization

/// One item as the timeline and the item page show it.
struct CatalogEntry: Sendable {
    var id: String
    var type: ItemType
    var metadata: MediaMetadata?
    /// When it was taken, as an instant (a capture time without offset is read as UTC); nil when unknown.
    var instant: Date?
    /// The day it was taken, as the camera's calendar had it (`2021-03-14`); nil when unknown.
    var day: String?
    var hasThumbnail: Bool
}

/// The library's live items, newest first (undated last), rebuilt from the index when it is older than `maxAge`, so
/// that an ingest running beside the server shows up without a restart.
final class Catalog: Sendable {
    private let library: Library
    private let maxAge: TimeInterval
    private let cached = Mutex<(built: Date, entries: [CatalogEntry], positions: [String: Int])?>(nil)

    init(library: Library, maxAge: TimeInterval = 10) {
        self.library = library
        self.maxAge = maxAge
    }

    /// Blocking (reads the index): call from `Blocking`.
    func entries() throws -> (entries: [CatalogEntry], positions: [String: Int]) {
        if let current = cached.withLock({ $0 }), Date().timeIntervalSince(current.built) < maxAge {
            return (current.entries, current.positions)
        }
        let entries = try Self.timeline(try library.liveItems())
        let positions = Dictionary(entries.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        cached.withLock { $0 = (Date(), entries, positions) }
        return (entries, positions)
    }

    /// The items of `records` in timeline order.
    static func timeline(_ records: [ItemRecord]) throws -> [CatalogEntry] {
        let entries = records.map { record -> CatalogEntry in
            let metadata = record.metadata
            let capture = metadata?.captureTime.flatMap(CaptureInstant.init)
            return CatalogEntry(id: record.id, type: record.type, metadata: metadata, instant: capture?.instant,
                                day: capture?.day, hasThumbnail: record.thumbnailObject != nil)
        }
        return entries.sorted { a, b in
            switch (a.instant, b.instant) {
            case let (x?, y?): x != y ? x > y : a.id < b.id
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): a.id < b.id
            }
        }
    }
}

/// A capture time read as an instant and a calendar day.
struct CaptureInstant {
    var instant: Date
    var day: String

    init?(_ time: CaptureTime) {
        // `2020-01-01T12:34:56` with optional fractional seconds.
        let parts = time.local.split(separator: "T")
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        let clock = parts[1].split(separator: ":")
        guard date.count == 3, clock.count >= 2, let hour = Int(clock[0]), let minute = Int(clock[1]) else { return nil }
        let seconds = clock.count > 2 ? Double(clock[2]) ?? 0 : 0
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour, components.minute) = (date[0], date[1], date[2], hour, minute)
        guard let base = Self.utc.date(from: components) else { return nil }
        instant = base.addingTimeInterval(seconds - Double(time.offsetSeconds ?? 0))
        day = String(parts[0])
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// Words for dates, in English as the rest of keepsake speaks.
enum DateWords {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// `Sunday 14 March 2021` for `2021-03-14`.
    static func day(_ day: String?) -> String {
        guard let day else { return "Date unknown" }
        let numbers = day.split(separator: "-").compactMap { Int($0) }
        guard numbers.count == 3, (1...12).contains(numbers[1]),
              let date = CaptureInstant.utc.date(from: DateComponents(year: numbers[0], month: numbers[1], day: numbers[2])) else {
            return day
        }
        let weekday = CaptureInstant.utc.component(.weekday, from: date)
        return "\(weekdays[weekday - 1]) \(numbers[2]) \(months[numbers[1] - 1]) \(numbers[0])"
    }

    /// `Sunday 14 March 2021, 12:34:56 UTC+01:00` (or "offset unknown").
    static func captureTime(_ time: CaptureTime) -> String {
        let parts = time.local.split(separator: "T")
        let clock = parts.count == 2 ? String(parts[1].prefix(8)) : ""
        let offset: String
        if let seconds = time.offsetSeconds {
            let sign = seconds < 0 ? "-" : "+", magnitude = abs(seconds)
            offset = String(format: "UTC%@%02d:%02d", sign, magnitude / 3600, magnitude % 3600 / 60)
        } else {
            offset = "offset unknown"
        }
        return "\(day(String(parts.first ?? ""))), \(clock) (\(offset))"
    }
}
