import Foundation

/// A calendar date and time of day as written in a file, before it is trusted.
package struct WallClock: Equatable {
    package var year, month, day, hour, minute, second: Int
    /// Fractional-second digits as written ("107" for .107), if any.
    package var fraction: String?

    /// ISO 8601 without offset: `2020-01-01T12:34:56` or `2020-01-01T12:34:56.107`.
    package var iso8601: String {
        let base = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second)
        return fraction.map { base + "." + $0 } ?? base
    }

    package var isValid: Bool {
        (1...12).contains(month) && (1...Self.daysIn(month: month, year: year)).contains(day)
            && (0...23).contains(hour) && (0...59).contains(minute) && (0...60).contains(second)
    }

    /// Seconds since 1970 when read as UTC.
    package var epochSeconds: Int {
        CivilCalendar.days(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60 + second
    }

    package init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: String? = nil) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
        self.fraction = fraction
    }

    package init(epochSeconds: Int) {
        let days = epochSeconds.floorDivided(by: 86_400), rest = epochSeconds - days * 86_400
        let (y, m, d) = CivilCalendar.date(days: days)
        self.init(year: y, month: m, day: d, hour: rest / 3_600, minute: rest % 3_600 / 60, second: rest % 60)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Turns the date strings of EXIF, QuickTime, file names and sidecars into capture times, rejecting
/// implausible ones (before 1990, or in the future).
package enum CaptureTimeParsing {
    package static let earliestYear = 1990

    /// EXIF: DateTimeOriginal "YYYY:MM:DD HH:MM:SS", SubSecTimeOriginal digits, OffsetTimeOriginal "+HH:MM".
    package static func exif(_ dateTime: String, subSeconds: String?, offset: String?, now: Int) -> CaptureTime? {
        guard var clock = wallClock(dateTime) else { return nil }
        if clock.fraction == nil, let digits = subSeconds?.filter(\.isNumber), !digits.isEmpty { clock.fraction = digits }
        let offsetSeconds = offset.flatMap(parseOffset)
        return plausible(clock, offsetSeconds, source: .exif, now: now)
    }

    /// ISO 8601-like strings of video containers: "2019-07-24T11:25:40+0300", "2016-05-31T17:01:35.000000Z",
    /// "2012-09-10 20:52:00". The offset is recorded only when the string states one ("Z" is UTC).
    package static func container(_ text: String, source: ValueSource, now: Int) -> CaptureTime? {
        guard let clock = wallClock(text) else { return nil }
        let rest = text.dropFirst(19).drop { $0 == "." || $0.isNumber }
        let offsetSeconds = rest.isEmpty ? nil : parseOffset(String(rest))
        var trimmed = clock
        // Containers pad with zeros (".000000"): keep fractions only when they say something.
        if let fraction = trimmed.fraction, fraction.allSatisfy({ $0 == "0" }) { trimmed.fraction = nil }
        return plausible(trimmed, offsetSeconds, source: source, now: now)
    }

    /// An instant (seconds since 1970), recorded in UTC.
    package static func utc(epochSeconds: Int, source: ValueSource, now: Int) -> CaptureTime? {
        plausible(WallClock(epochSeconds: epochSeconds), 0, source: source, now: now)
    }

    package static func plausible(_ clock: WallClock, _ offsetSeconds: Int?, source: ValueSource, now: Int) -> CaptureTime? {
        guard clock.isValid, clock.year >= earliestYear else { return nil }
        // Without an offset the local time may be up to 14 h ahead of UTC.
        let latest = now + (offsetSeconds == nil ? 14 * 3_600 : 0) + 60
        guard clock.epochSeconds - (offsetSeconds ?? 0) <= latest else { return nil }
        return CaptureTime(local: clock.iso8601, offsetSeconds: offsetSeconds, source: source)
    }

    /// "YYYY?MM?DD?HH?MM?SS[.fff]" with any single separators.
    package static func wallClock(_ text: String) -> WallClock? {
        let chars = Array(text.utf8)
        guard chars.count >= 19 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for index in start..<start + length {
                let c = chars[index]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var fraction: String?
        if chars.count > 20, chars[19] == UInt8(ascii: ".") {
            let digits = chars[20...].prefix { $0 >= 0x30 && $0 <= 0x39 }
            if !digits.isEmpty { fraction = String(decoding: digits, as: UTF8.self) }
        }
        return WallClock(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: fraction)
    }

    /// "Z", "+HH:MM", "-HHMM", "+HH" → seconds east of UTC; nil when not an offset.
    package static func parseOffset(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "Z" { return 0 }
        guard let sign = trimmed.first, sign == "+" || sign == "-" else { return nil }
        let digits = trimmed.dropFirst().filter { $0 != ":" }
        guard digits.count == 2 || digits.count == 4, digits.allSatisfy(\.isASCII), let value = Int(digits) else { return nil }
        let hours = digits.count == 2 ? value : value / 100, minutes = digits.count == 2 ? 0 : value % 100
        guard hours <= 14, minutes < 60 else { return nil }
        return (sign == "-" ? -1 : 1) * (hours * 3_600 + minutes * 60)
    }
}
