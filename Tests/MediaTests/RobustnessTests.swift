import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// Damaged copies of corpus files never crash the metadata stage: they give metadata or a typed error.
@Suite struct RobustnessTests {
    /// One or two small files per container format the corpus has.
    static let samples = [
        "androidx-media__ss-motion-photo-shortened.jpg", "androidx-media__pixel-motion-photo-shortened.jpg",
        "metadata-extractor-images__HTC Desire.jpg", "androidx-media__non-motion-photo-shortened.png",
        "metadata-extractor-images__Issue 201.gif", "metadata-extractor-images__HTC Desire.webp",
        "metadata-extractor-images__Animation Lossy.webp", "libheif__example.avif",
        "derived-truncated__osxphotos__IMG_0102.HEIC", "metadata-extractor-images__exif-at-eof.heic",
        "androidx-media__sample_sef_slow_motion.mp4", "androidx-media__dolbyVision-hdr.MOV",
        "metadata-extractor-images__Sony ILCE-7M3 (A7M3).mts", "metadata-extractor-images__MVI_4823.AVI",
    ]

    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
    }

    /// Many cuts in the headers, then spread over the file (over its first MiB for big ones, to stay fast).
    static func cutPoints(size: Int) -> [Int] {
        let small = [1, 2, 3, 4, 8, 11, 12, 16, 20, 24, 32, 40, 64, 100, 256, 512, 1000, 2048, 4096, 8192, 20_000, 65_536]
        let fractions = stride(from: 0.05, to: 1.0, by: 0.075).map { Int(Double(min(size, 1 << 20)) * $0) }
        return Array(Set((small + fractions).filter { $0 < size })).sorted()
    }

    @Test(.needsCorpus) func truncatedAndCorruptedCopiesNeverCrash() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let folder = try TestEnvironment.makeTempDirectory("keepsake-fuzz")
        defer { try? FileManager.default.removeItem(at: folder) }
        var random = SplitMix(state: 0x5EED)
        var read = 0, failed = 0
        let started = Date()
        for name in Self.samples {
            let original = try Data(contentsOf: corpus.appendingPathComponent(name))
            guard case .media(let format) = Sniffer.sniff(original.prefix(Sniffer.headerLength)) else {
                Issue.record("\(name) does not sniff as media")
                continue
            }
            var copies: [Data] = Self.cutPoints(size: original.count).map { original.prefix($0) }
            for round in 0..<12 {
                var bytes = [UInt8](original)
                // Half the copies are damaged in the headers (first 4 KiB), half anywhere.
                let span = round % 2 == 0 ? min(4096, bytes.count) : bytes.count
                for _ in 0..<(1 + random.below(12)) {
                    bytes[random.below(span)] ^= UInt8(1 + random.below(255))
                }
                copies.append(Data(bytes))
            }
            for (index, copy) in copies.enumerated() {
                let url = folder.appendingPathComponent("\(index)-\(name)")
                try copy.write(to: url)
                do {
                    let metadata = try MetadataReader.read(fileAt: url.path, format: format)
                    #expect(metadata.format == format)
                    if let size = metadata.width { #expect(size > 0) }
                    read += 1
                } catch {
                    #expect(!error.description.isEmpty)
                    failed += 1
                }
                try FileManager.default.removeItem(at: url)
            }
        }
        print("damaged copies: \(read) gave metadata, \(failed) a typed error, in "
              + String(format: "%.1f s", Date().timeIntervalSince(started)))
    }

    /// The pipeline's workers call the reader concurrently: results match a sequential run.
    @Test(.needsCorpus) func concurrentReadsAgreeWithSequentialOnes() async throws {
        let files = try TestEnvironment.corpusFiles().compactMap { url -> (String, MediaFormat)? in
            guard case .media(let format) = sniffFile(url.path) else { return nil }
            return (url.path, format)
        }
        let sequential = files.map { try? MetadataReader.read(fileAt: $0.0, format: $0.1) }
        let concurrent = await withTaskGroup(of: (Int, MediaMetadata?).self) { group in
            for (index, file) in files.enumerated() {
                group.addTask { (index, try? MetadataReader.read(fileAt: file.0, format: file.1)) }
            }
            var results = [MediaMetadata?](repeating: nil, count: files.count)
            for await (index, metadata) in group { results[index] = metadata }
            return results
        }
        #expect(sequential == concurrent)
    }

    /// 10 GiB files (sparse: a real JPEG's or MOV's bytes, then a hole) are read from their headers, in no time.
    @Test(.needsCorpus, arguments: ["osxphotos__IMG_4179.jpeg", "metadata-extractor-images__with-gps.mov"])
    func hugeFilesAreReadFromTheirHeaders(name: String) throws {
        let corpus = try #require(TestEnvironment.corpus)
        let folder = try TestEnvironment.makeTempDirectory("keepsake-huge")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        try FileManager.default.copyItem(at: corpus.appendingPathComponent(name), to: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 10 << 30)
        try handle.close()
        guard case .media(let format) = sniffFile(url.path) else { Issue.record("\(name) does not sniff"); return }
        let started = Date()
        let metadata = try MetadataReader.read(fileAt: url.path, format: format)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(metadata.width != nil && metadata.captureTime?.source != .mtime)
    }

    @Test func emptyAndMissingFilesAreTypedErrors() throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-empty")
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.jpg")
        #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        #expect(throws: MediaError.self) { try MetadataReader.read(fileAt: empty.path, format: .jpeg) }
        #expect(mkfifo(folder.appendingPathComponent("pipe.jpg").path, 0o600) == 0)
        for special in [folder.path, folder.appendingPathComponent("pipe.jpg").path] {
            #expect(throws: MediaError(.metadata, .io("\(special) is not a regular file"))) {
                try MetadataReader.read(fileAt: special, format: .jpeg)
            }
        }
        do {
            _ = try MetadataReader.read(fileAt: folder.appendingPathComponent("missing.mov").path, format: .mov)
            Issue.record("a missing file gave metadata")
        } catch {
            #expect(error.stage == .metadata)
            guard case .io = error.reason else { Issue.record("expected an I/O error, got \(error)"); return }
        }
    }

    /// The truncated corpus files: what survives is read, what is gone is an error.
    @Test(.needsCorpus) func truncatedCorpusFiles() throws {
        let heic = try #require(try corpusMetadata("derived-truncated__osxphotos__IMG_0102.HEIC"))
        #expect(heic.captureTime?.local.hasPrefix("2021-08-06T11:32:22") == true)
        #expect(heic.width == 2320 && heic.height == 3088)
        let jpeg = try #require(try corpusMetadata("derived-truncated__osxphotos__IMG_1064.jpeg"))
        #expect(jpeg.model == "iPhone 6s")
        #expect(throws: MediaError.self) { try corpusMetadata("derived-truncated__androidx-media__portrait_4k60.mp4") }
    }
}
