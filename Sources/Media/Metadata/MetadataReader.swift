import FileSystem
import Foundation
import MediaTypes

public enum MetadataReader {
    /// Reads SPEC 3's metadata of the file at `path`, including the capture-time fallbacks (sidecar, file name, mtime).
    ///
    /// Reads only headers, segments and boxes, each bounded; throws when the file's structure cannot be read at all.
    /// `surroundings` are the file's name and sidecars, when `path` is another name for it (`/proc/self/fd/N`) or
    /// the caller cannot look beside it; without, they are read beside `path`.
    public static func read(fileAt path: String, format: MediaFormat, surroundings: FileSurroundings? = nil) throws(MediaError) -> MediaMetadata {
        let file = try MediaFile(path: path, stage: .metadata)
        guard file.size > 0 else { throw MediaError(.metadata, .nothingToProcess("the file is empty")) }
        let now = Int(Date().timeIntervalSince1970)
        var metadata = MediaMetadata(format: format)
        switch format.kind {
        case .image: try readImage(file, into: &metadata, now: now)
        case .video: try readVideo(file, into: &metadata, now: now)
        }
        applyFallbacks(to: &metadata, file: file, surroundings: surroundings ?? FileSurroundings(beside: BytePath(path)), now: now)
        return metadata
    }

    // MARK: Stills

    private static func readImage(_ file: MediaFile, into metadata: inout MediaMetadata, now: Int) throws(MediaError) {
        let format = metadata.format
        var exif: ExifFields?
        var xmp: String?
        switch format {
        case .heic, .heif, .avif:
            let heif = try HEIFReader.read(file)
            exif = heif.exif.flatMap { ExifBlock.parse($0) }
            xmp = heif.xmp
            metadata.setSize(heif.width, heif.height, quarterTurned: heif.rotation % 180 == 90, from: .container)
            if let video = heif.embeddedVideo {
                metadata.set(\.motionPhoto, MotionPhotoInfo(flavour: .heicMpvd, videoOffset: video.offset, videoLength: video.length),
                             .motionPhoto, from: .container)
            } else if let motion = MotionPhotoDetector.detect(in: file, xmp: heif.xmp) {
                metadata.set(\.motionPhoto, motion, .motionPhoto, from: motion.flavour == .googleXMP ? .xmp : .container)
            }
        case .cr3:
            exif = try CR3Reader.read(file)
            metadata.setSize(exif?.imageWidth, exif?.imageHeight, quarterTurned: exif?.turnsQuarter == true, from: .exif)
        default:
            let container = ImageContainers.read(file, format: format)
            exif = container.exif.flatMap { ExifBlock.parse($0) }
            xmp = container.xmp
            guard container.width != nil || exif != nil else {
                throw MediaError(.metadata, .corrupt("no readable image header or EXIF block in the \(format.mimeType) file"))
            }
            var width = container.width, height = container.height
            if format == .tiff, width == nil { (width, height) = (exif?.imageWidth, exif?.imageHeight) }
            metadata.setSize(width, height, quarterTurned: exif?.turnsQuarter == true, from: .container)
            if format == .jpeg, let motion = MotionPhotoDetector.detect(in: file, xmp: container.xmp) {
                metadata.set(\.motionPhoto, motion, .motionPhoto, from: motion.flavour == .googleXMP ? .xmp : .container)
            }
        }
        if let exif { apply(exif, to: &metadata, now: now) }
        if metadata.captureTime == nil, let xmp {
            metadata.set(\.captureTime, XMP.captureTime(xmp, now: now), .captureTime, from: .xmp)
        }
    }

    private static func apply(_ exif: ExifFields, to metadata: inout MediaMetadata, now: Int) {
        metadata.set(\.make, exif.make, .make, from: .exif)
        metadata.set(\.model, exif.model, .model, from: .exif)
        metadata.set(\.lens, exif.lens, .lens, from: .exif)
        metadata.set(\.contentIdentifier, exif.contentIdentifier, .contentIdentifier, from: .exif)
        if let orientation = exif.orientation, (1...8).contains(orientation) {
            metadata.set(\.orientation, orientation, .orientation, from: .exif)
        }
        let original = exif.dateTimeOriginal.flatMap {
            CaptureTimeParsing.exif($0, subSeconds: exif.subSecTimeOriginal, offset: exif.offsetTimeOriginal, now: now)
        }
        let digitized = exif.dateTimeDigitized.flatMap {
            CaptureTimeParsing.exif($0, subSeconds: exif.subSecTimeDigitized, offset: exif.offsetTimeDigitized, now: now)
        }
        metadata.set(\.captureTime, original ?? digitized, .captureTime, from: .exif)
        if let latitude = exif.latitude, let longitude = exif.longitude,
           GeoLocation.isMeaningful(latitude: latitude, longitude: longitude) {
            let altitude = exif.altitude.flatMap { $0.isFinite ? $0 : nil }
            metadata.set(\.location, GeoLocation(latitude: latitude, longitude: longitude, altitude: altitude, source: .exif),
                         .location, from: .exif)
        }
    }

    // MARK: Videos

    private static func readVideo(_ file: MediaFile, into metadata: inout MediaMetadata, now: Int) throws(MediaError) {
        let facts = try VideoProbe.probe(path: file.path)
        let isQuickTime = [.mp4, .mov, .m4v, .threeGPP].contains(metadata.format)
        let tagSource: ValueSource = isQuickTime ? .quicktime : .container
        metadata.set(\.durationSeconds, facts.durationSeconds, .duration, from: .container)
        metadata.set(\.videoCodec, facts.videoCodec, .videoCodec, from: .container)
        metadata.set(\.audioCodec, facts.audioCodec, .audioCodec, from: .container)
        metadata.set(\.frameRate, facts.frameRate, .frameRate, from: .container)
        metadata.set(\.rotation, facts.rotation, .rotation, from: .container)
        metadata.set(\.hdrTransfer, facts.hdrTransfer, .hdrTransfer, from: .container)
        metadata.setSize(facts.width, facts.height, quarterTurned: facts.rotation % 180 == 90, from: .container)
        let tags = facts.tags
        let time = tags["com.apple.quicktime.creationdate"].flatMap { CaptureTimeParsing.container($0, source: tagSource, now: now) }
            ?? tags["creation_time"].flatMap { CaptureTimeParsing.container($0, source: tagSource, now: now) }
        metadata.set(\.captureTime, time, .captureTime, from: tagSource)
        metadata.set(\.make, firstTag(tags, ["com.apple.quicktime.make", "make", "com.android.manufacturer"]), .make, from: tagSource)
        metadata.set(\.model, firstTag(tags, ["com.apple.quicktime.model", "model", "com.android.model"]), .model, from: tagSource)
        metadata.set(\.contentIdentifier, firstTag(tags, ["com.apple.quicktime.content.identifier"]), .contentIdentifier, from: tagSource)
        if [.mpegTS, .m2ts].contains(metadata.format),
           let avchd = AVCHDMetadata.read(file, packetSize: metadata.format == .m2ts ? 192 : 188, now: now) {
            if metadata.captureTime == nil { metadata.set(\.captureTime, avchd.captureTime, .captureTime, from: .container) }
            if metadata.make == nil { metadata.set(\.make, avchd.make, .make, from: .container) }
            if metadata.model == nil { metadata.set(\.model, avchd.model, .model, from: .container) }
        }
        if let text = firstTag(tags, ["com.apple.quicktime.location.ISO6709", "location"]),
           let (latitude, longitude, altitude) = ISO6709.parse(text),
           GeoLocation.isMeaningful(latitude: latitude, longitude: longitude) {
            metadata.set(\.location, GeoLocation(latitude: latitude, longitude: longitude, altitude: altitude, source: tagSource),
                         .location, from: tagSource)
        }
    }

    private static func firstTag(_ tags: [String: String], _ keys: [String]) -> String? {
        for key in keys {
            if let value = tags[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty { return value }
        }
        return nil
    }

    // MARK: Fallbacks

    private static func applyFallbacks(to metadata: inout MediaMetadata, file: MediaFile, surroundings: FileSurroundings, now: Int) {
        let sidecars: [(ValueSource, CaptureTimeFallbacks.Sidecar?)] = [
            (.xmp, CaptureTimeFallbacks.xmpSidecar(surroundings.xmpSidecar, now: now)),
            (.takeoutJSON, CaptureTimeFallbacks.takeoutSidecar(surroundings.takeoutSidecar, now: now)),
        ]
        for (source, sidecar) in sidecars where metadata.captureTime == nil || metadata.location == nil {
            guard let sidecar else { continue }
            if metadata.captureTime == nil { metadata.set(\.captureTime, sidecar.captureTime, .captureTime, from: source) }
            if metadata.location == nil { metadata.set(\.location, sidecar.location, .location, from: source) }
            if metadata.caption == nil { metadata.set(\.caption, sidecar.caption, .caption, from: source) }
        }
        if metadata.captureTime == nil {
            let name = String(decoding: surroundings.name.bytes, as: UTF8.self)
            let time = CaptureTimeFallbacks.fromFileName(name, now: now)
                ?? CaptureTimeFallbacks.fromModificationTime(file.modificationTime, now: now)
            if let time { metadata.set(\.captureTime, time, .captureTime, from: time.source) }
        }
    }
}

/// ISO 6709 points as QuickTime writes them: "+34.0083-118.4979+000.000/" (degrees, optional altitude).
enum ISO6709 {
    static func parse(_ text: String) -> (Double, Double, Double?)? {
        var numbers: [Double] = []
        var current = ""
        for character in text {
            if character == "+" || character == "-" || character == "/" {
                if !current.isEmpty {
                    guard let value = Double(current) else { return nil }
                    numbers.append(value)
                }
                current = character == "/" ? "" : String(character)
                if character == "/" { break }
            } else if character.isNumber || character == "." {
                current.append(character)
            } else {
                return nil
            }
        }
        if !current.isEmpty, let value = Double(current) { numbers.append(value) }
        guard numbers.count >= 2, abs(numbers[0]) <= 90, abs(numbers[1]) <= 180 else { return nil }
        return (numbers[0], numbers[1], numbers.count >= 3 ? numbers[2] : nil)
    }
}

extension MediaMetadata {
    /// Sets a value and records its source; a nil value changes nothing.
    mutating func set<Value>(_ keyPath: WritableKeyPath<MediaMetadata, Value?>, _ value: Value?,
                             _ field: MetadataField, from source: ValueSource) {
        guard let value else { return }
        self[keyPath: keyPath] = value
        sources[field] = source
    }

    /// Sets the display size from the stored one, swapping the sides when the picture is shown turned a quarter.
    mutating func setSize(_ width: Int?, _ height: Int?, quarterTurned: Bool, from source: ValueSource) {
        guard let width, let height, width > 0, height > 0 else { return }
        self.width = quarterTurned ? height : width
        self.height = quarterTurned ? width : height
        sources[.size] = source
    }
}
