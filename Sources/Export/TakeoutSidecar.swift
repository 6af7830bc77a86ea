import Foundation
import Media

/// What a sidecar needs from an item's metadata JSON. Decoding only these keys keeps export working whatever
/// else `MediaMetadata` comes to hold.
struct SidecarSource: Decodable, Sendable {
    var captureTime: CaptureTime?
    var location: GeoLocation?
}

/// A moment as seconds and nanoseconds since 1970-01-01 00:00 UTC.
struct Instant: Sendable, Equatable {
    var seconds: Int64
    var nanoseconds: Int32 = 0
}

extension CaptureTime {
    /// The capture moment: the local time minus its offset. With no known offset the local time is read as UTC,
    /// as Google Takeout does for times without a zone. Nil when `local` is not `YYYY-MM-DDTHH:MM:SS[.fff]`.
    var instant: Instant? {
        let chars = Array(local.utf8)
        guard chars.count >= 19, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"),
              chars[10] == UInt8(ascii: "T"), chars[13] == UInt8(ascii: ":"), chars[16] == UInt8(ascii: ":"),
              let year = Self.number(chars[0..<4]), let month = Self.number(chars[5..<7]), let day = Self.number(chars[8..<10]),
              let hour = Self.number(chars[11..<13]), let minute = Self.number(chars[14..<16]),
              let second = Self.number(chars[17..<19]),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var nanoseconds: Int32 = 0
        if chars.count > 19 {
            let digits = chars[20...]
            guard chars[19] == UInt8(ascii: "."), !digits.isEmpty, digits.count <= 9, let fraction = Self.number(digits) else { return nil }
            nanoseconds = Int32(fraction) * Int32(pow(10, Double(9 - digits.count)))
        }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds ?? 0)
        return Instant(seconds: seconds, nanoseconds: nanoseconds)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Int64(era * 146_097 + dayOfEra - 719_468)
    }
}

/// A Google Takeout metadata sidecar (`NAME.json`), the format other photo tools import.
struct TakeoutSidecar: Sendable {
    var title: String
    /// When the photo was taken; left out of the JSON when unknown.
    var photoTaken: Instant?
    /// When the item entered the library (Takeout: when it was uploaded).
    var creation: Instant
    var location: GeoLocation?

    /// The JSON, with Takeout's key names and number forms (`0.0` where Takeout writes it for an unknown place).
    func encoded() -> Data {
        var fields = ["  \"title\": \(Self.quoted(title))", "  \"description\": \"\""]
        fields.append("  \"creationTime\": \(Self.timeObject(creation))")
        if let photoTaken { fields.append("  \"photoTakenTime\": \(Self.timeObject(photoTaken))") }
        let geo = [("latitude", location?.latitude), ("longitude", location?.longitude), ("altitude", location?.altitude),
                   ("latitudeSpan", nil), ("longitudeSpan", nil)]
            .map { "    \"\($0.0)\": \(Self.number($0.1 ?? 0))" }
        fields.append("  \"geoData\": {\n" + geo.joined(separator: ",\n") + "\n  }")
        return Data(("{\n" + fields.joined(separator: ",\n") + "\n}\n").utf8)
    }

    private static func timeObject(_ instant: Instant) -> String {
        "{\n    \"timestamp\": \"\(instant.seconds)\",\n    \"formatted\": \(quoted(formatted(instant.seconds)))\n  }"
    }

    private static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    /// Always with a fraction part, as Takeout writes them (`0.0`, `51.5334`).
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0.0" }
        return value == value.rounded() && abs(value) < 1e15 ? String(format: "%.1f", value) : "\(value)"
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Takeout's human form in UTC: `Jan 5, 2020, 3:04:05 PM UTC`.
    static func formatted(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
        let hour12 = hour % 12 == 0 ? 12 : hour % 12
        return "\(months[month - 1]) \(day), \(year), \(hour12):" + String(format: "%02d:%02d", minute, second)
            + (hour < 12 ? " AM UTC" : " PM UTC")
    }

    /// The inverse of `CaptureTime.daysSinceEpoch` (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
