import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// One corpus image as exiftool sees it (expected.json).
private struct CorpusImage: Decodable {
    var file: String
    var mime: String?
    var kind: String
    var orientation: Int?
    var display_size: [Int]?

    var url: URL { TestEnvironment.corpus!.appendingPathComponent(file) }
    var format: MediaFormat? { MediaFormat.allCases.first { $0.mimeType == mime } }

    static func all() throws -> [CorpusImage] {
        guard let corpus = TestEnvironment.corpus else { return [] }
        let data = try Data(contentsOf: corpus.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode([CorpusImage].self, from: data).filter { $0.kind == "image" && $0.format != nil }
    }
}

/// Files whose damage may legitimately leave no thumbnail (a typed error), though none may crash.
private let damaged: Set<String> = [
    "osxphotos__badimage.jpeg", "derived-truncated__osxphotos__IMG_0102.HEIC",
    "metadata-extractor-images__crash-0f5b7f736ab835dbc411ab23575a703acdde727f.fuzzed",
]

/// The corpus pictures cut short (issue 20: vipsthumbnail shows all five): the two JPEGs keep only about 4 KB of their
/// 12 MP scan data, and libavcodec refuses them.
private let shortened: [(file: String, format: MediaFormat, partial: Bool)] = [
    ("androidx-media__non-motion-photo-shortened.jpg", .jpeg, true), ("androidx-media__ss-motion-photo-shortened.jpg", .jpeg, true),
    ("androidx-media__pixel-motion-photo-shortened.jpg", .jpeg, false),
    ("androidx-media__pixel-motion-photo-video-removed-shortened.jpg", .jpeg, false),
    ("androidx-media__non-motion-photo-shortened.png", .png, false),
]

/// exiftool reports this file's coded size with EXIF orientation 1, but its HEIF `irot` turns the picture
/// a quarter (which the HEIF rules put first, and vipsthumbnail agrees with), so it displays portrait.
private let turnedByIrot: Set<String> = ["exif-samples__HMD_Nokia_8.3_5G.heif"]

/// Width and height of a JPEG as ffprobe decodes it, or nil when it is not a JPEG ffprobe reads.
private func probeJPEG(_ bytes: [UInt8]) throws -> (width: Int, height: Int)? {
    let result = try runProcess("ffprobe", ["-v", "error", "-f", "jpeg_pipe", "-i", "pipe:0", "-select_streams", "v:0",
                                            "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0"],
                                stdin: Data(bytes))
    let fields = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
    guard result.status == 0, fields.count == 3, fields[0] == "mjpeg", let w = Int(fields[1]), let h = Int(fields[2]) else { return nil }
    return (w, h)
}

/// The RGB pixels ffmpeg decodes from a JPEG.
private func rgbPixels(_ jpeg: [UInt8]) throws -> [UInt8] {
    let result = try runProcess("ffmpeg", ["-v", "error", "-f", "jpeg_pipe", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                                stdin: Data(jpeg))
    return [UInt8](result.stdout)
}

private func meanAbsoluteDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
    guard a.count == b.count, !a.isEmpty else { return .infinity }
    return Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
}

@Suite struct ThumbnailTests {
    @Test(.needsCorpus, .needs("ffprobe")) func everyDecodableCorpusImageGetsAnUprightThumbnail() throws {
        var produced = 0
        for image in try CorpusImage.all() {
            guard let displaySize = image.display_size, let format = image.format else { continue }
            let size = turnedByIrot.contains(image.file) ? [displaySize[1], displaySize[0]] : displaySize
            let bytes: [UInt8]
            do {
                // The orientation the metadata stage finds (exiftool's); the orientation test covers reading it ourselves.
                bytes = try Thumbnailer.thumbnail(fileAt: image.url.path, format: format, orientation: image.orientation)
            } catch {
                #expect(damaged.contains(image.file), "\(error)")
                continue
            }
            produced += 1
            #expect(bytes.count <= 100 * 1024, "\(image.file): \(bytes.count) bytes")
            guard let thumb = try probeJPEG(bytes) else {
                Issue.record("\(image.file): thumbnail is not a JPEG ffprobe decodes"); continue
            }
            let expectedLong = min(720, max(size[0], size[1]))
            #expect(abs(max(thumb.width, thumb.height) - expectedLong) <= 1, "\(image.file): \(thumb) for display \(size)")
            // Upright: the thumbnail has the display aspect ratio, up to rounding to whole pixels.
            let widthFromHeight = Double(thumb.height) * Double(size[0]) / Double(size[1])
            #expect(abs(Double(thumb.width) - widthFromHeight) <= 1.0 + Double(thumb.height) / Double(size[1]),
                    "\(image.file): \(thumb.width)×\(thumb.height), display \(size[0])×\(size[1])")
        }
        print("thumbnails made: \(produced)")
    }

    /// Every shortened picture gets a thumbnail of what is decodable; those whose picture the file cuts short are
    /// marked partial, and look like vipsthumbnail's (the part that is there, grey below).
    @Test(.needsCorpus, .needs("vipsthumbnail", "ffmpeg")) func shortenedPicturesGetAThumbnailOfWhatIsThere() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let sizes = Dictionary(try CorpusImage.all().compactMap { image in image.display_size.map { (image.file, $0) } }) { a, _ in a }
        for (file, format, partial) in shortened {
            let path = corpus.appendingPathComponent(file).path
            let pictures = try Thumbnailer.pictures(fileAt: path, format: format, orientation: nil)
            #expect(pictures.partial == partial, "\(file)")
            let thumb = try #require(try probeJPEG(pictures.thumbnail), "\(file)")
            let display = try #require(sizes[file], "\(file) is not in expected.json")
            #expect(abs(max(thumb.width, thumb.height) - min(720, max(display[0], display[1]))) <= 1, "\(file): \(thumb), display \(display)")
            guard partial else { continue }
            // vipsthumbnail (libjpeg) at the same size: the same picture, up to resampling.
            let out = try TestEnvironment.makeTempDirectory("shortened").appendingPathComponent("vips.jpg").path
            let vips = try runProcess("vipsthumbnail", [path, "--size", "\(thumb.width)x\(thumb.height)!", "-o", out])
            #expect(vips.status == 0, "\(vips.stderrText)")
            let difference = meanAbsoluteDifference(try rgbPixels(pictures.thumbnail), try rgbPixels(Array(try Data(contentsOf: URL(fileURLWithPath: out)))))
            #expect(difference < 8, "\(file): mean difference \(difference) from vipsthumbnail's")
        }
    }

    /// The corpus has no BMP or TIFF, nor 16-bit, grey or transparent PNGs: ffmpeg makes them from a corpus photo.
    @Test(.needsCorpus, .needs("ffmpeg"), arguments: [
        ("bmp", MediaFormat.bmp, "bgr24"), ("tiff", .tiff, "rgb24"), ("png", .png, "rgba64be"),
        ("png", .png, "gray"), ("png", .png, "ya8"), ("webp", .webp, "yuv420p"),
    ])
    func generatedPicturesGetThumbnails(_ container: String, _ format: MediaFormat, _ pixelFormat: String) throws {
        let corpus = try #require(TestEnvironment.corpus)
        let source = corpus.appendingPathComponent("exif-orientation-examples__Landscape_1.jpg").path
        let url = try TestEnvironment.makeTempDirectory("generated").appendingPathComponent("picture.\(container)")
        let made = try runProcess("ffmpeg", ["-v", "error", "-i", source, "-pix_fmt", pixelFormat, url.path])
        try #require(made.status == 0, "\(made.stderrText)")
        let bytes = try Thumbnailer.thumbnail(fileAt: url.path, format: format, orientation: nil)
        let size = try #require(try probeJPEG(bytes))
        #expect(size == (720, 480))
        let reference = try rgbPixels(Thumbnailer.thumbnail(fileAt: source, format: .jpeg, orientation: nil))
        let tolerance: Double = pixelFormat == "gray" || pixelFormat == "ya8" ? 20 : 6
        #expect(meanAbsoluteDifference(try rgbPixels(bytes), reference) < tolerance)
    }

    @Test(.needsCorpus) func heifFilesLibheifRefusesStillGetThumbnails() throws {
        let corpus = try #require(TestEnvironment.corpus)
        for name in ["osxphotos__IMG_3582.HEIC", "osxphotos__IMG_3582_edited.heic", "osxphotos__IMG_4394.HEIC",
                     "osxphotos__IMG_5747.HEIC", "derived-misnamed__osxphotos__IMG_0102.jpg"] {
            let bytes = try Thumbnailer.thumbnail(fileAt: corpus.appendingPathComponent(name).path, format: .heic, orientation: 6)
            #expect(bytes.count > 1000, "\(name)")
        }
    }

    @Test(.needsCorpus, .needs("ffmpeg")) func allEightExifOrientationsShowTheSameUprightPicture() throws {
        let corpus = try #require(TestEnvironment.corpus)
        func thumbnail(_ n: Int, orientation: Int?) throws -> [UInt8] {
            let path = corpus.appendingPathComponent("exif-orientation-examples__Landscape_\(n).jpg").path
            return try rgbPixels(Thumbnailer.thumbnail(fileAt: path, format: .jpeg, orientation: orientation))
        }
        let reference = try thumbnail(1, orientation: nil)
        #expect(reference.count == 720 * 480 * 3)
        for n in 2...8 {
            // Read from the file's own EXIF, and as the metadata stage passes it.
            for orientation in [nil, n] {
                let difference = meanAbsoluteDifference(try thumbnail(n, orientation: orientation), reference)
                #expect(difference < 6, "Landscape_\(n) (orientation argument \(String(describing: orientation))): \(difference)")
            }
        }
    }

    /// The Canon 7D sample embeds Adobe RGB (1998): converted, it matches vipsthumbnail's sRGB export,
    /// and it differs clearly from the same pixels taken as sRGB unconverted.
    @Test(.needsCorpus, .needs("vipsthumbnail", "ffmpeg")) func embeddedICCProfileIsConvertedToSRGB() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let source = corpus.appendingPathComponent("metadata-extractor-images__Canon EOS 7D.jpg").path
        let ours = try rgbPixels(Thumbnailer.thumbnail(fileAt: source, format: .jpeg, orientation: nil))
        let folder = try TestEnvironment.makeTempDirectory("icc")
        func vips(_ extra: [String], _ name: String) throws -> [UInt8] {
            let out = folder.appendingPathComponent(name).path
            let result = try runProcess("vipsthumbnail", [source, "--size", "720", "-o", out + "[Q=95]"] + extra)
            #expect(result.status == 0, "\(result.stderrText)")
            return try rgbPixels([UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
        }
        let converted = try vips(["--export-profile", "srgb"], "srgb.jpg"), unconverted = try vips([], "plain.jpg")
        #expect(meanAbsoluteDifference(ours, converted) < 4)
        #expect(meanAbsoluteDifference(ours, unconverted) > 8)
    }

    @Test(.needsCorpus) func damagedAndNonImageInputsGiveATypedErrorOrAThumbnail() throws {
        let suspects = try TestEnvironment.corpusFiles().filter {
            $0.lastPathComponent.contains("truncated") || $0.lastPathComponent.contains("badimage")
                || $0.pathExtension == "fuzzed" || $0.lastPathComponent.hasPrefix("synthetic__")
        }
        #expect(suspects.count >= 6)
        for url in suspects {
            for format in [MediaFormat.jpeg, .png, .heic, .avif, .webp, .gif, .tiff, .bmp, .dng, .raf, .cr3] {
                do {
                    let bytes = try Thumbnailer.thumbnail(fileAt: url.path, format: format, orientation: nil)
                    #expect(bytes.count <= 100 * 1024)
                } catch {
                    #expect(error.stage == .thumbnail)
                }
            }
        }
    }

    /// What follows a JPEG's end (a motion photo's video) is never read: with 3 GB appended, more than a
    /// whole-file read could hold, the thumbnail is still the one of the JPEG alone.
    @Test(.needsCorpus) func bytesAfterTheJPEGAreNotRead() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let source = corpus.appendingPathComponent("osxphotos__IMG_4179.jpeg").path
        let url = try TestEnvironment.makeTempDirectory("trailer").appendingPathComponent("motion.jpg")
        try FileManager.default.copyItem(atPath: source, toPath: url.path)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 3 << 30)  // sparse: takes no disk space
        try handle.close()
        #expect(try Thumbnailer.thumbnail(fileAt: url.path, format: .jpeg, orientation: nil)
            == Thumbnailer.thumbnail(fileAt: source, format: .jpeg, orientation: nil))
    }

    /// A picture over `PictureBudget` is refused before anything of its size is read or allocated: a 65-byte PNG
    /// whose header says 16000×16000 (768 MB of RGB), and a 300 MiB one (sparse: a small PNG, then a hole).
    @Test func picturesOverTheMemoryBudgetAreRefusedNotAllocated() throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-budget")
        defer { try? FileManager.default.removeItem(at: folder) }
        func png(width: Int, height: Int) -> Data {
            func be32(_ value: Int) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
            func crc32(_ bytes: [UInt8]) -> Int {
                var crc: UInt32 = 0xFFFF_FFFF
                for byte in bytes {
                    crc ^= UInt32(byte)
                    for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
                }
                return Int(~crc)
            }
            func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
                be32(data.count) + Array(type.utf8) + data + be32(crc32(Array(type.utf8) + data))
            }
            let header = be32(width) + be32(height) + [8, 2, 0, 0, 0]  // 8-bit RGB
            let emptyZlibStream: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
            return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
                        + chunk("IDAT", emptyZlibStream) + chunk("IEND", []))
        }
        let bomb = folder.appendingPathComponent("bomb.png")
        try png(width: 16000, height: 16000).write(to: bomb)
        #expect(throws: MediaError(.thumbnail, .tooLarge("a 16000×16000 picture takes more than the 640 MiB one thumbnail may decode"))) {
            try Thumbnailer.thumbnail(fileAt: bomb.path, format: .png, orientation: nil)
        }
        let huge = folder.appendingPathComponent("huge.png")
        try png(width: 16, height: 16).write(to: huge)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 300 << 20)
        try handle.close()
        #expect(throws: MediaError(.thumbnail, .tooLarge("the picture's data is 300 MiB, more than the 256 MiB one thumbnail may read"))) {
            try Thumbnailer.thumbnail(fileAt: huge.path, format: .png, orientation: nil)
        }
    }

    @Test func missingFileIsAnIOError() {
        #expect(throws: MediaError.self) {
            try Thumbnailer.thumbnail(fileAt: "/nonexistent/photo.jpg", format: .jpeg, orientation: nil)
        }
    }

    /// A little-endian TIFF like a DNG: IFD0 holds a small JPEG as a compressed strip and orientation 6,
    /// its SubIFD a bigger JPEG as JpgFromRaw. The bigger one must be chosen and turned upright.
    @Test(.needsCorpus, .needs("ffprobe")) func rawUsesTheLargestEmbeddedJPEGPreview() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let small = try [UInt8](Data(contentsOf: corpus.appendingPathComponent("androidx-media__tokyo.jpg")))  // 600×800
        let large = try [UInt8](Data(contentsOf: corpus.appendingPathComponent("exif-orientation-examples__Landscape_1.jpg")))  // 1800×1200
        func le(_ value: Int, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        func entry(_ tag: Int, _ type: Int, _ value: Int) -> [UInt8] { le(tag, 2) + le(type, 2) + le(1, 4) + le(value, 4) }
        let ifd0 = 8, subIFD = ifd0 + 2 + 5 * 12 + 4, smallAt = subIFD + 2 + 2 * 12 + 4, largeAt = smallAt + small.count
        var tiff: [UInt8] = [0x49, 0x49, 42, 0] + le(ifd0, 4)
        tiff += le(5, 2) + entry(0x103, 3, 6) + entry(0x111, 4, smallAt) + entry(0x112, 3, 6) + entry(0x117, 4, small.count)
            + entry(0x14A, 4, subIFD) + le(0, 4)
        tiff += le(2, 2) + entry(0x201, 4, largeAt) + entry(0x202, 4, large.count) + le(0, 4)
        tiff += small + large
        let url = try TestEnvironment.makeTempDirectory("raw").appendingPathComponent("crafted.dng")
        try Data(tiff).write(to: url)

        let size = try #require(try probeJPEG(Thumbnailer.thumbnail(fileAt: url.path, format: .dng, orientation: nil)))
        #expect(size == (480, 720))
        // Its rendition comes from the same preview, upright, at the preview's own size (never upscaled to 2048).
        let pictures = try Thumbnailer.pictures(fileAt: url.path, format: .dng, orientation: nil)
        let rawRendition = try #require(pictures.rendition)
        #expect(try probeJPEG(rawRendition).map { $0 == (1200, 1800) } == true)
        #expect(try probeJPEG(pictures.thumbnail).map { $0 == (480, 720) } == true)
    }

    /// Renditions are made for the formats a browser does not show (HEIC, TIFF here), at most 2048 px and never
    /// upscaled, beside a thumbnail as `thumbnail` makes it; a JPEG gets none.
    @Test(.needsCorpus, .needs("ffmpeg")) func renditionsOnlyForFormatsBrowsersDoNotShow() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let jpeg = corpus.appendingPathComponent("exif-orientation-examples__Landscape_1.jpg").path  // 1800×1200
        #expect(try Thumbnailer.pictures(fileAt: jpeg, format: .jpeg, orientation: nil).rendition == nil)
        let tiff = try TestEnvironment.makeTempDirectory("rendition").appendingPathComponent("landscape.tif").path
        #expect(try runProcess("ffmpeg", ["-v", "error", "-i", jpeg, tiff]).status == 0)
        let fromTIFF = try Thumbnailer.pictures(fileAt: tiff, format: .tiff, orientation: nil)
        let tiffRendition = try #require(fromTIFF.rendition)
        #expect(try probeJPEG(tiffRendition).map { $0 == (1800, 1200) } == true)
        #expect(try probeJPEG(fromTIFF.thumbnail).map { $0 == (720, 480) } == true)
        let heic = corpus.appendingPathComponent("osxphotos__IMG_5747.HEIC").path
        let fromHEIC = try Thumbnailer.pictures(fileAt: heic, format: .heic, orientation: nil)
        let heicRendition = try #require(fromHEIC.rendition)
        let rendition = try #require(try probeJPEG(heicRendition))
        let thumbnail = try #require(try probeJPEG(fromHEIC.thumbnail))
        #expect(max(rendition.width, rendition.height) == 2048 && max(thumbnail.width, thumbnail.height) == 720)
        #expect((rendition.width > rendition.height) == (thumbnail.width > thumbnail.height), "both upright alike")
    }

    /// A CR3 laid out as lclevy's canon_cr3 notes describe: `ftyp crx `, then the preview `uuid` box with
    /// 8 bytes, and a `PRVW` box (4 + 2 bytes, width, height, 2 bytes, JPEG length, JPEG).
    @Test(.needsCorpus, .needs("ffprobe")) func cr3UsesItsPRVWPreview() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let jpeg = try [UInt8](Data(contentsOf: corpus.appendingPathComponent("exif-orientation-examples__Landscape_1.jpg")))
        func be(_ value: Int, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * (size - 1 - $0))) } }
        let ftyp = be(24, 4) + Array("ftypcrx ".utf8) + be(1, 4) + Array("crx isom".utf8)
        let prvwBody = be(0, 4) + be(1, 2) + be(1800, 2) + be(1200, 2) + be(1, 2) + be(jpeg.count, 4) + jpeg
        let prvw = be(8 + prvwBody.count, 4) + Array("PRVW".utf8) + prvwBody
        let uuidBody: [UInt8] = [0xEA, 0xF4, 0x2B, 0x5E, 0x1C, 0x98, 0x4B, 0x88, 0xB9, 0xFB, 0xB7, 0xDC, 0x40, 0x6E, 0x4D, 0x16]
            + be(0, 4) + be(1, 4) + prvw
        let file = ftyp + be(8 + uuidBody.count, 4) + Array("uuid".utf8) + uuidBody
        let url = try TestEnvironment.makeTempDirectory("raw").appendingPathComponent("crafted.cr3")
        try Data(file).write(to: url)

        let size = try #require(try probeJPEG(Thumbnailer.thumbnail(fileAt: url.path, format: .cr3, orientation: nil)))
        #expect(size == (720, 480))
    }

    @Test func rawWithoutPreviewSaysSo() throws {
        let url = try TestEnvironment.makeTempDirectory("raw").appendingPathComponent("empty.nef")
        try Data([0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0]).write(to: url)
        #expect(throws: MediaError(.thumbnail, .nothingToProcess("the NEF file embeds no JPEG preview"))) {
            try Thumbnailer.thumbnail(fileAt: url.path, format: .nef, orientation: nil)
        }
    }

    @Test(.needsCorpus) func concurrentThumbnailsMatchSequentialOnes() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let jobs: [(String, MediaFormat)] = [
            ("osxphotos__IMG_4179.jpeg", .jpeg), ("osxphotos__IMG_1853.HEIC", .heic), ("libheif__example.avif", .avif),
            ("osxphotos__IMG_2908.PNG", .png), ("metadata-extractor-images__Photo (1).webp", .webp),
            ("metadata-extractor-images__Canon EOS 7D.jpg", .jpeg),
        ]
        let paths = jobs.map { (corpus.appendingPathComponent($0.0).path, $0.1) }
        let sequential = try paths.map { try Thumbnailer.thumbnail(fileAt: $0.0, format: $0.1, orientation: nil) }
        let results = ResultBox(count: paths.count * 3)
        DispatchQueue.concurrentPerform(iterations: paths.count * 3) { index in
            let (path, format) = paths[index % paths.count]
            results.set(index, try? Thumbnailer.thumbnail(fileAt: path, format: format, orientation: nil))
        }
        for index in 0..<paths.count * 3 {
            #expect(results.get(index) == sequential[index % paths.count], "\(jobs[index % paths.count].0)")
        }
    }
}

@Suite struct ThumbnailEncoderTests {
    private func gradient(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt8(x * 255 / max(1, width - 1))
                pixels[i + 1] = UInt8(y * 255 / max(1, height - 1))
                pixels[i + 2] = UInt8((x ^ y) & 0xFF)
            }
        }
        return RGBImage(width: width, height: height, bytesPerRow: width * 3, pixels: pixels)
    }

    @Test(.needs("ffprobe")) func scalesDownToTheLongEdgeLimit() throws {
        let bytes = try ThumbnailEncoder.jpeg(from: gradient(width: 1920, height: 1080))
        #expect(bytes.count <= 100 * 1024)
        let size = try #require(try probeJPEG(bytes))
        #expect(size == (720, 405))
    }

    @Test(.needs("ffmpeg")) func neverUpscalesAndHonoursRowPadding() throws {
        let image = gradient(width: 100, height: 60)
        var padded = RGBImage(width: 100, height: 60, bytesPerRow: 320, pixels: [UInt8](repeating: 0, count: 320 * 60))
        for y in 0..<60 { padded.pixels.replaceSubrange(y * 320..<y * 320 + 300, with: image.pixels[y * 300..<y * 300 + 300]) }
        let decoded = try rgbPixels(ThumbnailEncoder.jpeg(from: padded))
        #expect(decoded.count == 100 * 60 * 3)
        #expect(meanAbsoluteDifference(decoded, image.pixels) < 8)
    }

    @Test func rejectsAnImageWithTooFewPixels() {
        let broken = RGBImage(width: 2000, height: 2000, bytesPerRow: 6000, pixels: [1, 2, 3])
        #expect(throws: MediaError.self) { try ThumbnailEncoder.jpeg(from: broken) }
    }
}

/// Results written from concurrent iterations.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[UInt8]?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: [UInt8]?) { lock.withLock { values[index] = value } }
    func get(_ index: Int) -> [UInt8]? { lock.withLock { values[index] } }
}
