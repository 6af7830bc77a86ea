import Foundation
import MediaTypes

/// Finds the video embedded in an Android motion photo, and reports it only when its bytes are really there.
enum MotionPhotoDetector {
    private static let samsungMarker = Array("MotionPhoto_Data".utf8)
    /// How far back from the end the marker is searched for when a Samsung directory is damaged.
    private static let trailerSearchLimit: UInt64 = 32 << 20
    private static let searchChunk = 1 << 20

    static func detect(in file: MediaFile, xmp: String?) -> MotionPhotoInfo? {
        if let xmp, let fromEnd = videoDistanceFromEnd(xmp), fromEnd > 0, fromEnd < file.size {
            let offset = file.size - fromEnd
            if let info = verifiedVideo(in: file, at: offset, flavour: .googleXMP) { return info }
        }
        guard let offset = samsungTrailerVideo(in: file) else { return nil }
        return verifiedVideo(in: file, at: offset, flavour: .samsungTrailer)
    }

    /// Samsung's trailer ends with "SEFT" after its "SEFH" directory, whose entries point back (from the
    /// directory's start) to blocks of: 2 bytes, a 2-byte type, a 4-byte name length, the name, the data.
    /// When the directory does not add up (files cut by editors), the "MotionPhoto_Data" name is searched for.
    private static func samsungTrailerVideo(in file: MediaFile) -> UInt64? {
        guard file.size > 8 else { return nil }
        let tail = file.view(at: file.size - 8, count: 8)
        guard tail.ascii(4, 4) == "SEFT", let directoryLength = tail.uint32(0, littleEndian: true).map(UInt64.init),
              directoryLength >= 12, directoryLength <= min(1 << 20, file.size - 8) else { return nil }
        let directoryStart = file.size - 8 - directoryLength
        let directory = file.view(at: directoryStart, count: Int(directoryLength))
        guard directory.ascii(0, 4) == "SEFH", let count = directory.uint32(8, littleEndian: true) else { return nil }
        var consistent = true
        for index in 0..<Int(min(count, 256)) {
            let entry = 12 + index * 12
            guard let back = directory.uint32(entry + 4, littleEndian: true).map(UInt64.init),
                  back >= 8, back <= directoryStart else { consistent = false; continue }
            let blockStart = directoryStart - back
            let nameLength = file.view(at: blockStart + 4, count: 4).uint32(0, littleEndian: true) ?? 0
            if nameLength == UInt32(samsungMarker.count),
               file.read(at: blockStart + 8, count: samsungMarker.count) == samsungMarker {
                return blockStart + 8 + UInt64(nameLength)
            }
        }
        guard !consistent, let marker = lastSamsungMarker(in: file) else { return nil }
        return marker + UInt64(samsungMarker.count)
    }

    /// A video is present when an `ftyp` box starts at `offset`; its length is the run of boxes that follows.
    private static func verifiedVideo(in file: MediaFile, at offset: UInt64, flavour: MotionPhotoInfo.Flavour) -> MotionPhotoInfo? {
        guard ISOBMFF.hasFileType(file, at: offset) else { return nil }
        let length = ISOBMFF.extentOfBoxes(in: file, from: offset, limit: file.size)
        guard length > 0 else { return nil }
        // Samsung writes its marker right before the video even when the XMP points at it.
        let before = UInt64(samsungMarker.count)
        let isSamsung = offset >= before && file.read(at: offset - before, count: samsungMarker.count) == samsungMarker
        return MotionPhotoInfo(flavour: isSamsung ? .samsungTrailer : flavour, videoOffset: offset, videoLength: length)
    }

    /// Google's XMP: `GCamera:MicroVideoOffset` (legacy), or the `Container:Directory` item whose semantic is
    /// `MotionPhoto` and whose `Item:Length` counts from the end of the file.
    static func videoDistanceFromEnd(_ xmp: String) -> UInt64? {
        if let value = XMP.value(xmp, "GCamera:MicroVideoOffset").flatMap(UInt64.init) { return value }
        for item in xmp.components(separatedBy: "<rdf:li").dropFirst()
        where XMP.value(item, "Item:Semantic") == "MotionPhoto" {
            let padding = XMP.value(item, "Item:Padding").flatMap(UInt64.init) ?? 0
            if let length = XMP.value(item, "Item:Length").flatMap(UInt64.init), length > 0 {
                let (total, overflow) = length.addingReportingOverflow(padding)
                return overflow ? nil : total
            }
        }
        return nil
    }

    /// The last "MotionPhoto_Data" marker in the file's tail, searched backwards in overlapping chunks.
    private static func lastSamsungMarker(in file: MediaFile) -> UInt64? {
        let floor = file.size > trailerSearchLimit ? file.size - trailerSearchLimit : 0
        var end = file.size
        while end > floor {
            let start = max(floor, end >= UInt64(searchChunk) ? end - UInt64(searchChunk) : 0)
            let chunk = file.read(at: start, count: Int(end - start))
            if let index = lastIndex(of: samsungMarker, in: chunk) { return start + UInt64(index) }
            guard start > floor else { break }
            end = start + UInt64(samsungMarker.count - 1)
        }
        return nil
    }

    private static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.count - needle.count
        while index >= 0 {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index -= 1
        }
        return nil
    }
}
