import Foundation

/// What a Google Takeout JSON sidecar says of a photo or video: when it was taken, where, and the description its
/// owner wrote. Read from a sidecar beside a file (the metadata reader) or inside a Takeout archive (the pipeline).
public struct TakeoutMetadata: Sendable, Hashable {
    public var captureTime: CaptureTime?
    public var location: GeoLocation?
    public var caption: String?

    public init(captureTime: CaptureTime? = nil, location: GeoLocation? = nil, caption: String? = nil) {
        (self.captureTime, self.location, self.caption) = (captureTime, location, caption)
    }

    /// The sidecar's fields; nil when `data` is not a JSON object. `now` bounds plausible times (seconds since 1970).
    public static func parse(_ data: Data, now: Int) -> TakeoutMetadata? {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var sidecar = TakeoutMetadata()
        if let taken = json["photoTakenTime"] as? [String: Any], let timestamp = taken["timestamp"] {
            let seconds = (timestamp as? String).flatMap(Int.init) ?? (timestamp as? NSNumber)?.intValue
            sidecar.captureTime = seconds.flatMap { CaptureTimeParsing.utc(epochSeconds: $0, source: .takeoutJSON, now: now) }
        }
        for key in ["geoDataExif", "geoData"] {
            guard let geo = json[key] as? [String: Any],
                  let latitude = (geo["latitude"] as? NSNumber)?.doubleValue,
                  let longitude = (geo["longitude"] as? NSNumber)?.doubleValue,
                  GeoLocation.isMeaningful(latitude: latitude, longitude: longitude) else { continue }
            let altitude = (geo["altitude"] as? NSNumber)?.doubleValue
            sidecar.location = GeoLocation(latitude: latitude, longitude: longitude, altitude: altitude, source: .takeoutJSON)
            break
        }
        if let text = (json["description"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            sidecar.caption = text
        }
        return sidecar
    }

    /// The names Google gives a file's sidecar: `NAME.EXT.json`, `NAME.json`, `NAME.EXT.supplemental-metadata.json`,
    /// the same cut to Google's 46 characters before `.json`, `NAME.EXT(1).json` for `NAME(1).EXT`, and for an edited
    /// copy (`NAME-edited.EXT`, which has none of its own) those of the original.
    public static func sidecarNames(for fileName: String) -> [String] {
        let stem = (fileName as NSString).deletingPathExtension
        let ext = (fileName as NSString).pathExtension
        var names = [fileName + ".json", stem + ".json", fileName + ".supplemental-metadata.json"]
        names.append(String((fileName + ".supplemental-metadata").prefix(46)) + ".json")
        names.append(String(fileName.prefix(46)) + ".json")
        if let open = stem.lastIndex(of: "("), stem.hasSuffix(")") {
            let counter = stem[open...], base = stem[..<open]
            names.append("\(base).\(ext)\(counter).json")
            names.append("\(base).\(ext).supplemental-metadata\(counter).json")
        }
        if stem.hasSuffix("-edited") {
            let original = String(stem.dropLast("-edited".count)) + (ext.isEmpty ? "" : "." + ext)
            names += sidecarNames(for: original)
        }
        var seen = Set<String>()
        return names.filter { $0 != fileName && seen.insert($0).inserted }
    }

    /// Gives `metadata` what the sidecar knows and the file does not: a capture time where the file has none, or only
    /// one guessed from its name or modification time; a place where it has none; the description.
    public func fill(_ metadata: inout MediaMetadata) {
        if let captureTime, metadata.captureTime == nil || [.filename, .mtime].contains(metadata.captureTime?.source) {
            metadata.captureTime = captureTime
            metadata.sources[.captureTime] = .takeoutJSON
        }
        if let location, metadata.location == nil {
            metadata.location = location
            metadata.sources[.location] = .takeoutJSON
        }
        if let caption, metadata.caption == nil {
            metadata.caption = caption
            metadata.sources[.caption] = .takeoutJSON
        }
    }
}
