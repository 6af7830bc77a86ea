import Foundation
import MediaTypes

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
        let days = Int64(CivilCalendar.days(year: year, month: month, day: day))
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
        let (year, month, day) = CivilCalendar.date(days: Int(days))
        let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
        let hour12 = hour % 12 == 0 ? 12 : hour % 12
        return "\(months[month - 1]) \(day), \(year), \(hour12):" + String(format: "%02d:%02d", minute, second)
            + (hour < 12 ? " AM UTC" : " PM UTC")
    }
}
