import Foundation

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
}
