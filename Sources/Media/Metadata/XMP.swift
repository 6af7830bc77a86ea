import Foundation
import MediaTypes

/// The few XMP properties the metadata stage reads, found by name in the packet's text (no XML parser:
/// the packets are small and the properties flat).
enum XMP {
    /// Capture-time properties, most specific first.
    private static let dateProperties = ["exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate"]

    /// A property written as an attribute (`name="value"`) or an element (`<name>value</name>`).
    static func value(_ xmp: String, _ name: String) -> String? {
        if let range = xmp.range(of: name + "=\"") {
            let rest = xmp[range.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
        if let range = xmp.range(of: "<" + name + ">") {
            let rest = xmp[range.upperBound...]
            return rest.firstIndex(of: "<").map { String(rest[..<$0]).trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        return nil
    }

    /// The capture time an XMP packet states (ISO 8601, offset when given), e.g. iPhone screenshots' DateCreated.
    static func captureTime(_ xmp: String, now: Int) -> CaptureTime? {
        for property in dateProperties {
            if let text = value(xmp, property), let time = CaptureTimeParsing.container(text, source: .xmp, now: now) {
                return time
            }
        }
        return nil
    }

    /// exif:GPSLatitude / exif:GPSLongitude, written "DDD,MM.mmk" or "DDD,MM,SSk" (k: N, S, E or W).
    static func location(_ xmp: String) -> GeoLocation? {
        guard let latitude = value(xmp, "exif:GPSLatitude").flatMap(coordinate),
              let longitude = value(xmp, "exif:GPSLongitude").flatMap(coordinate),
              GeoLocation.isMeaningful(latitude: latitude, longitude: longitude) else { return nil }
        var altitude = value(xmp, "exif:GPSAltitude").flatMap(rational)
        if value(xmp, "exif:GPSAltitudeRef") == "1", let above = altitude { altitude = -above }
        return GeoLocation(latitude: latitude, longitude: longitude, altitude: altitude, source: .xmp)
    }

    private static func coordinate(_ text: String) -> Double? {
        guard let reference = text.last?.uppercased(), ["N", "S", "E", "W"].contains(reference) else { return nil }
        let parts = text.dropLast().split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.count <= 3, !parts.contains(nil) else { return nil }
        let value = zip(parts.map { $0! }, [1.0, 60.0, 3600.0]).reduce(0) { $0 + $1.0 / $1.1 }
        return reference == "S" || reference == "W" ? -value : value
    }

    /// "1234/10" or "123.4".
    private static func rational(_ text: String) -> Double? {
        let parts = text.split(separator: "/").compactMap { Double($0) }
        if parts.count == 2 { return parts[1] == 0 ? nil : parts[0] / parts[1] }
        return parts.count == 1 ? parts[0] : nil
    }
}
