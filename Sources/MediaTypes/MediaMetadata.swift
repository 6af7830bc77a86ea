/// Where a metadata value came from (SPEC 3).
public enum ValueSource: String, Sendable, Codable, Equatable {
    case exif, quicktime, xmp, takeoutJSON = "takeout-json", filename, mtime, container
}

/// A value of `MediaMetadata`, to say where it came from.
public enum MetadataField: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable {
    case captureTime, location, make, model, lens, size, orientation, duration, videoCodec, audioCodec,
         frameRate, rotation, hdrTransfer, contentIdentifier, motionPhoto, caption
}

/// A capture time as the camera recorded it: the local wall-clock time, plus the UTC offset only when one is known.
public struct CaptureTime: Sendable, Codable, Hashable {
    /// ISO 8601 local date-time without offset, e.g. `2020-01-01T12:34:56` or `2020-01-01T12:34:56.123`.
    public var local: String
    /// Offset from UTC in seconds, when the file says it (never invented).
    public var offsetSeconds: Int?
    public var source: ValueSource

    public init(local: String, offsetSeconds: Int?, source: ValueSource) {
        self.local = local
        self.offsetSeconds = offsetSeconds
        self.source = source
    }
}

public struct GeoLocation: Sendable, Codable, Hashable {
    public var latitude: Double
    public var longitude: Double
    public var altitude: Double?
    public var source: ValueSource

    public init(latitude: Double, longitude: Double, altitude: Double?, source: ValueSource) {
        self.latitude = latitude
        self.longitude = longitude
        self.altitude = altitude
        self.source = source
    }
}

extension GeoLocation {
    /// 0,0 is how cameras without a fix write "no location"; out-of-range values are damage.
    public static func isMeaningful(latitude: Double, longitude: Double) -> Bool {
        latitude.isFinite && longitude.isFinite && abs(latitude) <= 90 && abs(longitude) <= 180
            && !(latitude == 0 && longitude == 0)
    }
}

/// An Android motion photo: a still with a video embedded in the same file.
public struct MotionPhotoInfo: Sendable, Codable, Equatable {
    public enum Flavour: String, Sendable, Codable { case googleXMP, samsungTrailer, heicMpvd }
    public var flavour: Flavour
    /// Byte offset and length of the embedded video inside the original.
    public var videoOffset: UInt64
    public var videoLength: UInt64

    public init(flavour: Flavour, videoOffset: UInt64, videoLength: UInt64) {
        self.flavour = flavour
        self.videoOffset = videoOffset
        self.videoLength = videoLength
    }
}

/// Everything Keepsake records about a photo or video (SPEC 3). Unknown values are nil.
public struct MediaMetadata: Sendable, Codable, Equatable {
    public var format: MediaFormat
    public var captureTime: CaptureTime?
    public var location: GeoLocation?
    public var make: String?
    public var model: String?
    public var lens: String?
    /// Display size: EXIF orientation or video rotation applied.
    public var width: Int?
    public var height: Int?
    /// EXIF orientation, 1...8. In HEIF/AVIF files the `irot` property turns the picture instead (libheif applies
    /// it when decoding), so the EXIF value there is informative only; `width`/`height` follow `irot`.
    public var orientation: Int?
    public var durationSeconds: Double?
    public var videoCodec: String?
    public var audioCodec: String?
    public var frameRate: Double?
    /// Clockwise rotation of a video in degrees (0, 90, 180, 270).
    public var rotation: Int?
    /// `pq` or `hlg` for HDR video.
    public var hdrTransfer: String?
    /// Apple Live Photo content identifier (still: MakerNote ContentIdentifier; video: QuickTime key).
    public var contentIdentifier: String?
    public var motionPhoto: MotionPhotoInfo?
    /// The description its owner wrote (a Google Takeout sidecar's `description`).
    public var caption: String?
    /// Where each value that is set came from.
    public var sources: [MetadataField: ValueSource] = [:]

    public init(format: MediaFormat) { self.format = format }
}
