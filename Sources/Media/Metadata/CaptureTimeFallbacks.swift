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

    /// The XMP sidecar next to `path` (`NAME.EXT.xmp` as darktable writes it, or `NAME.xmp` as Lightroom does):
    /// its capture time and location.
    static func xmpSidecar(for path: BytePath, now: Int) -> Sidecar? {
        let name = path.lastComponent.bytes
        let stem = name.lastIndex(of: UInt8(ascii: ".")).map { Array(name[..<$0]) } ?? name
        for candidate in [name + Array(".xmp".utf8), name + Array(".XMP".utf8), stem + Array(".xmp".utf8), stem + Array(".XMP".utf8)] {
            guard let text = smallFile(path.parent.appending(candidate)).map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            return Sidecar(captureTime: XMP.captureTime(text, now: now), location: XMP.location(text))
        }
        return nil
    }

    /// The contents of a sidecar-sized file (1 byte to 1 MiB), or nil.
    private static func smallFile(_ path: BytePath) -> Data? {
        guard let fd = try? PathOpener.open(path, flags: O_RDONLY | O_NONBLOCK) else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0, info.st_size <= 1 << 20 else { return nil }
        var data = Data(count: Int(info.st_size))
        var offset = 0
        while offset < data.count {
            let got = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            offset += got
        }
        return data
    }

    /// The Takeout JSON next to `path`, if any: `NAME.EXT.json`, `NAME.json`, `NAME.EXT.supplemental-metadata.json`,
    /// the same names cut to Google's 51-character limit, and `NAME.EXT(1).json` for `NAME(1).EXT`.
    static func takeoutSidecar(for path: BytePath, now: Int) -> Sidecar? {
        for name in takeoutSidecarNames(for: path.lastComponent.bytes) {
            guard let data = smallFile(path.parent.appending(name)), let sidecar = parseTakeoutSidecar(data, now: now) else { continue }
            return sidecar
        }
        return nil
    }

    /// The names for a name of any bytes: one that is not UTF-8 is read as Latin-1 (one character a byte) and
    /// its sidecars' names turned back to the same bytes, so `caf\xE9.jpg` finds `caf\xE9.jpg.json`.
    static func takeoutSidecarNames(for fileName: [UInt8]) -> [[UInt8]] {
        if let text = String(validating: fileName, as: UTF8.self) { return takeoutSidecarNames(for: text).map { Array($0.utf8) } }
        let latin1 = String(String.UnicodeScalarView(fileName.map { Unicode.Scalar($0) }))
        return takeoutSidecarNames(for: latin1).map { $0.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
    }

    static func takeoutSidecarNames(for fileName: String) -> [String] { TakeoutMetadata.sidecarNames(for: fileName) }

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
