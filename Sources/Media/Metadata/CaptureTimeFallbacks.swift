import FileSystem
import Foundation
import MediaTypes
#if canImport(Glibc)
import Glibc
#endif

/// Where a capture time comes from when the file itself has none (SPEC 3): an XMP or Google Takeout sidecar,
/// a date in the file name, then the file's modification time.
enum CaptureTimeFallbacks {
    /// What a sidecar says about its photo.
    struct Sidecar: Equatable {
        var captureTime: CaptureTime?
        var location: GeoLocation?
        var caption: String?
    }

    /// An XMP sidecar's capture time and location.
    static func xmpSidecar(_ data: Data?, now: Int) -> Sidecar? {
        guard let data else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        return Sidecar(captureTime: XMP.captureTime(text, now: now), location: XMP.location(text))
    }

    /// A Google Takeout JSON sidecar's capture time, location and description.
    static func takeoutSidecar(_ data: Data?, now: Int) -> Sidecar? {
        guard let data else { return nil }
        return parseTakeoutSidecar(data, now: now)
    }

    static func parseTakeoutSidecar(_ data: Data, now: Int) -> Sidecar? {
        TakeoutMetadata.parse(data, now: now).map { Sidecar(captureTime: $0.captureTime, location: $0.location, caption: $0.caption) }
    }

    /// A date in the file name: `IMG_20200101_123456`, `PXL_20200101_123456789`, `Screenshot_20200101-123456`,
    /// `signal-2020-01-01-12-34-56`, or date only (`IMG-20200101-WA0001`, midnight). No offset is known.
    static func fromFileName(_ fileName: String, now: Int) -> CaptureTime? {
        let chars = Array(fileName.utf8)
        for index in chars.indices where isDigit(chars[index]) && (index == 0 || !isDigit(chars[index - 1])) {
            if let time = dateTime(in: chars, at: index, now: now) { return time }
        }
        return nil
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Reads YYYY[-_]MM[-_]DD then optionally [-_. T]HH[-_.]MM[-_.]SS at `start`.
    private static func dateTime(in chars: [UInt8], at start: Int, now: Int) -> CaptureTime? {
        var at = start
        func field(_ length: Int, separators: Set<UInt8>) -> Int? {
            if at < chars.count, separators.contains(chars[at]) { at += 1 }
            guard at + length <= chars.count else { return nil }
            var value = 0
            for c in chars[at..<at + length] {
                guard isDigit(c) else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            at += length
            return value
        }
        let dateSeparators: Set<UInt8> = [UInt8(ascii: "-"), UInt8(ascii: "_")]
        guard let year = field(4, separators: []), (CaptureTimeParsing.earliestYear...2100).contains(year),
              let month = field(2, separators: dateSeparators), let day = field(2, separators: dateSeparators)
        else { return nil }
        // Straight on from the date only a time of day may follow ("20200101123456"), else it is a longer number.
        let joined = at < chars.count && isDigit(chars[at])
        let timeSeparators: Set<UInt8> = [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: " "), UInt8(ascii: "T")]
        let date = WallClock(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var clock = date
        var hasTime = false
        if let hour = field(2, separators: timeSeparators), let minute = field(2, separators: timeSeparators),
           let second = field(2, separators: timeSeparators) {
            (clock.hour, clock.minute, clock.second) = (hour, minute, second)
            hasTime = clock.isValid
        }
        if joined && (!hasTime || (at < chars.count && isDigit(chars[at]))) { return nil }
        // Digits after the date that are not a time of day (e.g. "-WA0001") leave the date alone.
        return CaptureTimeParsing.plausible(clock.isValid ? clock : date, nil, source: .filename, now: now)
    }

    /// The file's modification time, an instant: recorded in UTC.
    static func fromModificationTime(_ seconds: Int, now: Int) -> CaptureTime? {
        CaptureTimeParsing.utc(epochSeconds: seconds, source: .mtime, now: now)
    }
}
