import Foundation
import Media
import TestSupport

/// One file's entry in the corpus's expected.json (exiftool's and ffprobe's view of it).
struct ExpectedFile {
    var file: String
    var mime: String?
    var kind: String
    var dateTimeOriginal: String?
    var offsetTime: String?
    var gps: (Double, Double)?
    /// exiftool's make; the Sony MTS has a number there (its maker code), which is kept as text.
    var make: String?
    var model: String?
    var orientation: Int?
    var displaySize: (Int, Int)?
    var durationSeconds: Double?
    /// ffprobe's display-matrix rotation, counter-clockwise, normalised to 0..<360.
    var counterClockwiseRotation: Int?
    var contentIdentifier: String?
    var videoCodec: String?
    var audioCodec: String?

    static func load() throws -> [ExpectedFile] {
        guard let corpus = TestEnvironment.corpus else { return [] }
        let data = try Data(contentsOf: corpus.appendingPathComponent("expected.json"))
        let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return entries.map { entry in
            var expected = ExpectedFile(file: entry["file"] as? String ?? "", kind: entry["kind"] as? String ?? "")
            expected.mime = entry["mime"] as? String
            expected.dateTimeOriginal = entry["datetime_original"] as? String
            expected.offsetTime = entry["offset_time"] as? String
            if let pair = entry["gps"] as? [Any], pair.count == 2,
               let latitude = (pair[0] as? NSNumber)?.doubleValue, let longitude = (pair[1] as? NSNumber)?.doubleValue,
               !(latitude == 0 && longitude == 0) {
                expected.gps = (latitude, longitude)
            }
            expected.make = (entry["make"] as? String) ?? (entry["make"] as? NSNumber)?.stringValue
            expected.model = entry["model"] as? String
            expected.orientation = (entry["orientation"] as? NSNumber)?.intValue
            if let size = entry["display_size"] as? [NSNumber], size.count == 2 {
                expected.displaySize = (size[0].intValue, size[1].intValue)
            }
            expected.durationSeconds = (entry["duration_s"] as? NSNumber)?.doubleValue
            expected.counterClockwiseRotation = (entry["rotation"] as? NSNumber)?.intValue
            expected.contentIdentifier = entry["content_identifier"] as? String
            expected.videoCodec = entry["video_codec"] as? String
            expected.audioCodec = entry["audio_codec"] as? String
            return expected
        }
    }

    /// exiftool's "YYYY:MM:DD HH:MM:SS[.fff][±HH:MM|Z][ DST]" as ISO local time and offset seconds.
    var captureTime: (local: String, offsetSeconds: Int?)? {
        guard let text = dateTimeOriginal, text.count >= 19, text.first?.isNumber == true else { return nil }
        let chars = Array(text)
        let date = String(chars[0..<10]).replacingOccurrences(of: ":", with: "-")
        var local = date + "T" + String(chars[11..<19])
        var rest = String(chars[19...]).replacingOccurrences(of: " DST", with: "")
        if rest.hasPrefix(".") {
            let fraction = rest.dropFirst().prefix { $0.isNumber }
            local += "." + fraction
            rest = String(rest.dropFirst(1 + fraction.count))
        }
        let offsetText = rest.isEmpty ? offsetTime : rest
        return (local, offsetText.flatMap(Self.offsetSeconds))
    }

    static func offsetSeconds(_ text: String) -> Int? {
        if text == "Z" { return 0 }
        guard let sign = text.first, sign == "+" || sign == "-" else { return nil }
        let parts = text.dropFirst().split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        return (sign == "-" ? -1 : 1) * (parts[0] * 3600 + parts[1] * 60)
    }
}
