import Foundation
import Synchronization
@testable import Media
import MediaTypes
import Testing
import TestSupport

/// A transcoded stream laid out as a player needs it: the (decrypted) playlist beside the encrypted `stream.ts`.
struct WrittenStream {
    let directory: URL
    let result: TranscodeResult
    let key: [UInt8]
    let iv: [UInt8]
    var playlist: URL { directory.appendingPathComponent("playlist.m3u8") }
    var streamFile: URL { directory.appendingPathComponent(StreamOptions.segmentFileName) }

    /// Options that let ffmpeg follow the playlist's `data:` key URI.
    static let playerOptions = ["-allowed_extensions", "ALL", "-protocol_whitelist", "file,data,crypto"]

    static func make(from source: URL, preset: String = "veryfast") throws -> WrittenStream {
        let key = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let iv = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let directory = try TestEnvironment.makeTempDirectory("keepsake-stream")
        var encrypted = Data()
        let result = try VideoTranscoder.transcode(fileAt: source.path, format: .mov, options: StreamOptions(preset: preset),
                                                   segmentKey: key, iv: iv) { encrypted.append(contentsOf: $0) }
        let written = WrittenStream(directory: directory, result: result, key: key, iv: iv)
        try encrypted.write(to: written.streamFile)
        try result.playlist.write(to: written.playlist, atomically: true, encoding: .utf8)
        return written
    }

    /// `(offset, length)` of every `#EXT-X-BYTERANGE` in the playlist.
    var byteRanges: [(offset: Int, length: Int)] {
        result.playlist.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("#EXT-X-BYTERANGE:") else { return nil }
            let parts = line.dropFirst("#EXT-X-BYTERANGE:".count).split(separator: "@").compactMap { Int($0) }
            return parts.count == 2 ? (parts[1], parts[0]) : nil
        }
    }

    /// One segment decrypted with the openssl CLI (AES-128-CBC, PKCS#7), written beside the stream.
    func decryptedSegment(_ index: Int) throws -> URL {
        let range = byteRanges[index]
        let data = try Data(contentsOf: streamFile)[range.offset..<range.offset + range.length]
        let encrypted = directory.appendingPathComponent("segment-\(index).enc")
        try data.write(to: encrypted)
        let url = directory.appendingPathComponent("segment-\(index).ts")
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        let run = try runProcess("openssl", ["enc", "-d", "-aes-128-cbc", "-K", hex(key),
                                             "-iv", hex(SegmentCipher.iv(forSegment: index, base: iv)),
                                             "-in", encrypted.path, "-out", url.path])
        #expect(run.status == 0, "segment \(index) does not decrypt: \(run.stderrText)")
        return url
    }
}

struct ProbedStream: Decodable {
    let codec_type: String
    let codec_name: String
    let width: Int?
    let height: Int?
    let avg_frame_rate: String?
    let r_frame_rate: String?
    let sample_rate: String?
    let channels: Int?
    let profile: String?
    let pix_fmt: String?
    let color_space: String?
    let color_range: String?

    var frameRate: Double {
        let parts = (r_frame_rate ?? "0/1").split(separator: "/").compactMap { Double($0) }
        return parts.count == 2 && parts[1] > 0 ? parts[0] / parts[1] : 0
    }
}

func probeStreams(_ arguments: [String]) throws -> [ProbedStream] {
    struct Output: Decodable { let streams: [ProbedStream] }
    let run = try runProcess("ffprobe", ["-v", "error", "-show_streams", "-of", "json"] + arguments)
    #expect(run.status == 0, "ffprobe failed: \(run.stderrText)")
    return try JSONDecoder().decode(Output.self, from: run.stdout).streams
}

/// expected.json's view of a corpus file (ffprobe's): display size with rotation applied, audio codec.
struct ExpectedVideo: Decodable {
    let file: String
    let display_size: [Int]?
    let audio_codec: String?

    static func named(_ name: String) throws -> ExpectedVideo? {
        guard let corpus = TestEnvironment.corpus else { return nil }
        let all = try JSONDecoder().decode([ExpectedVideo].self,
                                           from: Data(contentsOf: corpus.appendingPathComponent("expected.json")))
        return all.first { $0.file == name }
    }
}

@Suite("StreamTests")
struct StreamTests {
    static let representative = [
        "metadata-extractor-images__with-gps.mov",          // H.264, rotated 270, smaller than 720
        "osxphotos__IMG_4394.mov",                          // iPhone HEVC, rotated, PCM sound
        "androidx-media__dolbyVision-hdr.MOV",              // HEVC HLG (HDR), rotated
        "metadata-extractor-images__MVI_4823.AVI",          // MJPEG in AVI
        "metadata-extractor-images__Sony ILCE-7M3 (A7M3).mts", // AVCHD, 25 fps, AC-3
        "osxphotos__IMG_3539.MOV",                          // no sound track
        "androidx-media__portrait_4k60.mp4",                // 4K 60 fps, rotated
    ]

    @Test(.needsCorpus, .needs("ffmpeg", "ffprobe"), arguments: representative)
    func streamPlaysWithTheContractShape(_ name: String) throws {
        let corpus = try #require(TestEnvironment.corpus)
        let expected = try #require(try ExpectedVideo.named(name))
        let displaySize = try #require(expected.display_size)
        let stream = try WrittenStream.make(from: corpus.appendingPathComponent(name))

        let streams = try probeStreams(WrittenStream.playerOptions + [stream.playlist.path])
        let video = try #require(streams.first { $0.codec_type == "video" })
        #expect(video.codec_name == "h264")
        #expect(video.profile == "High")
        #expect(video.pix_fmt == "yuv420p")
        #expect(video.color_space == "bt709")
        #expect(video.color_range == "tv")
        let (width, height) = (try #require(video.width), try #require(video.height))
        #expect(min(width, height) == min(720, displaySize.min()!))
        #expect((width < height) == (displaySize[0] < displaySize[1]), "orientation of \(width)x\(height)")
        #expect(abs(Double(width) / Double(height) - Double(displaySize[0]) / Double(displaySize[1])) < 0.02)
        #expect(video.frameRate > 0 && video.frameRate <= 30)

        let audio = streams.first { $0.codec_type == "audio" }
        if expected.audio_codec != nil {
            #expect(audio?.codec_name == "aac")
            #expect(audio?.channels == 2)
        } else {
            #expect(audio == nil)
        }

        let play = try runProcess("ffmpeg", ["-v", "error"] + WrittenStream.playerOptions
                                  + ["-i", stream.playlist.path, "-f", "null", "-"])
        #expect(play.status == 0 && play.stderrText.isEmpty, "playback: \(play.stderrText)")

        for index in stream.byteRanges.indices {
            let segment = try stream.decryptedSegment(index)
            let flags = try runProcess("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                   "packet=flags", "-of", "csv=p=0", segment.path])
            #expect(flags.stdoutText.split(separator: "\n").first?.contains("K") == true,
                    "segment \(index) does not start with a keyframe")
        }

        let thumbnail = try #require(stream.result.thumbnailFrame)
        #expect(max(thumbnail.width, thumbnail.height) <= 720)
        #expect(thumbnail.pixels.count == thumbnail.bytesPerRow * thumbnail.height)
        #expect(abs(Double(thumbnail.width) / Double(thumbnail.height)
                    - Double(displaySize[0]) / Double(displaySize[1])) < 0.02)
        try? FileManager.default.removeItem(at: stream.directory)
    }

    @Test(.needsCorpus, .needs("ffmpeg", "ffprobe")) func playlistFollowsTheHLSContract() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let stream = try WrittenStream.make(from: corpus.appendingPathComponent("metadata-extractor-images__with-gps.mov"))
        let lines = stream.result.playlist.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(5)) == ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-TARGETDURATION:2",
                                           "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"])
        // Every segment has its own key line: the same key, its own IV.
        let keyLines = lines.filter { $0.hasPrefix("#EXT-X-KEY:") }
        #expect(keyLines == (0..<keyLines.count).map { index in
            let hexIV = SegmentCipher.iv(forSegment: index, base: stream.iv).map { String(format: "%02x", $0) }.joined()
            return "#EXT-X-KEY:METHOD=AES-128,URI=\"data:text/plain;base64," + Data(stream.key).base64EncodedString()
                + "\",IV=0x\(hexIV)"
        })
        #expect(Set(keyLines).count == keyLines.count)
        #expect(lines.last == "#EXT-X-ENDLIST")
        // 4 s of video: two segments of 2 s, back to back, covering the whole encrypted file.
        let ranges = stream.byteRanges
        #expect(ranges.count == 2)
        #expect(ranges.first?.offset == 0)
        for (earlier, later) in zip(ranges, ranges.dropFirst()) { #expect(earlier.offset + earlier.length == later.offset) }
        let size = try FileManager.default.attributesOfItem(atPath: stream.streamFile.path)[.size] as? Int
        #expect(ranges.last.map { $0.offset + $0.length } == size)
        #expect(ranges.allSatisfy { $0.length % 16 == 0 })
        #expect(lines.filter { $0.hasPrefix("#EXTINF:2.000000,") }.count >= 1)
        #expect(lines.filter { $0 == StreamOptions.segmentFileName }.count == ranges.count)
        #expect(keyLines.count == ranges.count)
        try? FileManager.default.removeItem(at: stream.directory)
    }

    @Test func segmentsThatStartAlikeDoNotEncryptAlike() throws {
        let key = [UInt8](repeating: 7, count: 16), base = [UInt8](repeating: 0xFF, count: 16)
        var ciphertext: [UInt8] = []
        let cipher = try SegmentCipher(key: key, iv: base) { ciphertext.append(contentsOf: $0) }
        let plaintext = [UInt8](repeating: 0x47, count: 188)  // one TS packet, the same at the start of both segments
        for _ in 0..<2 {
            try plaintext.withUnsafeBytes { try cipher.write($0) }
            try cipher.endSegment()
        }
        let length = ciphertext.count / 2
        #expect(ciphertext.prefix(length) != ciphertext.suffix(length))
        // The IVs: the base, then the base plus one in its low 64 bits (carrying across bytes, wrapping at 2^64).
        #expect(SegmentCipher.iv(forSegment: 0, base: base) == base)
        #expect(SegmentCipher.iv(forSegment: 1, base: base) == [UInt8](repeating: 0xFF, count: 8) + [UInt8](repeating: 0, count: 8))
        #expect(SegmentCipher.iv(forSegment: 0x0102, base: [UInt8](repeating: 0, count: 16))
                == [UInt8](repeating: 0, count: 14) + [1, 2])
        // Each half decrypts to the plaintext with its own IV (openssl, the independent oracle).
        let directory = try TestEnvironment.makeTempDirectory("keepsake-iv")
        defer { try? FileManager.default.removeItem(at: directory) }
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        for index in 0..<2 {
            let file = directory.appendingPathComponent("segment-\(index)")
            try Data(ciphertext[index * length..<(index + 1) * length]).write(to: file)
            let run = try runProcess("openssl", ["enc", "-d", "-aes-128-cbc", "-K", hex(key),
                                                 "-iv", hex(SegmentCipher.iv(forSegment: index, base: base)), "-in", file.path])
            #expect(run.status == 0, "\(run.stderrText)")
            #expect(Array(run.stdout) == plaintext)
        }
    }

    @Test(.needsCorpus) func damagedAndNonVideoInputsFailWithAReason() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let cases: [(String, (MediaError.Reason) -> Bool)] = [
            ("derived-truncated__androidx-media__portrait_4k60.mp4", { if case .corrupt = $0 { true } else { false } }),
            ("metadata-extractor-images__crash-01a78eb7fa112646117c23a99dd0d632ac3c7c2e.fuzzed", { _ in true }),
            ("does-not-exist.mp4", { if case .io = $0 { true } else { false } }),
        ]
        for (name, expectedReason) in cases {
            let error = #expect(throws: MediaError.self) {
                _ = try VideoTranscoder.transcode(fileAt: corpus.appendingPathComponent(name).path, format: .mp4,
                                                  options: StreamOptions(), segmentKey: Array(repeating: 1, count: 16),
                                                  iv: Array(repeating: 2, count: 16)) { _ in }
            }
            #expect(error?.stage == .stream)
            #expect(error.map { expectedReason($0.reason) } == true, "\(name): \(String(describing: error))")
        }
    }

    @Test(.needs("ffmpeg")) func audioOnlyFileHasNoStream() throws {
        let directory = try TestEnvironment.makeTempDirectory("keepsake-audio")
        defer { try? FileManager.default.removeItem(at: directory) }
        let audio = directory.appendingPathComponent("tone.m4a")
        let made = try runProcess("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio.path])
        try #require(made.status == 0)
        let error = #expect(throws: MediaError.self) {
            _ = try VideoTranscoder.transcode(fileAt: audio.path, format: .mp4, options: StreamOptions(),
                                              segmentKey: Array(repeating: 1, count: 16),
                                              iv: Array(repeating: 2, count: 16)) { _ in }
        }
        #expect(error == MediaError(.stream, .nothingToProcess("no video stream")))
    }

    /// 30 s of a 1080x1920 H.264 clip, 10 s of a 1440x1920 HEVC one and 8 s of a portrait 4K60 one (the decoder skips
    /// the deblocking of all three): the stream holds 2 Mbps and is no worse in SSIM than the ffmpeg CLI's
    /// (reference-pipeline.sh's encoding settings) minus 0.005.
    @Test(.needsCorpus, .needs("ffmpeg", "ffprobe"),
          arguments: [("osxphotos__fullsizeoutput_7.mov", 30, "720:1280"), ("osxphotos__IMG_4394.mov", 10, "720:960"),
                      ("androidx-media__portrait_4k60.mp4", 8, "720:1280")])
    func bitrateAndQualityMatchTheReferenceCLI(clip: String, seconds duration: Int, size: String) throws {
        let corpus = try #require(TestEnvironment.corpus)
        let directory = try TestEnvironment.makeTempDirectory("keepsake-quality")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("looped.mov")
        let looped = try runProcess("ffmpeg", ["-v", "error", "-stream_loop", "-1", "-i", corpus.appendingPathComponent(clip).path,
                                               "-c", "copy", "-t", "\(duration)", source.path])
        try #require(looped.status == 0, "\(looped.stderrText)")

        let stream = try WrittenStream.make(from: source)
        defer { try? FileManager.default.removeItem(at: stream.directory) }
        let packets = try runProcess("ffprobe", ["-v", "error"] + WrittenStream.playerOptions
                                     + ["-select_streams", "v:0", "-show_entries", "packet=size,pts_time",
                                        "-of", "csv=p=0", stream.playlist.path])
        let rows = packets.stdoutText.split(separator: "\n").map { $0.split(separator: ",").compactMap { Double($0) } }
        let bytes = rows.compactMap { $0.count == 2 ? $0[1] : nil }.reduce(0, +)
        let times = rows.compactMap(\.first)
        let seconds = (times.max() ?? 0) - (times.min() ?? 0) + 1.0 / 30
        let bitrate = bytes * 8 / seconds
        print("\(clip): stream video bitrate \(Int(bitrate)) b/s over \(seconds) s")
        #expect(abs(bitrate - 2_000_000) <= 300_000)

        let ours = try ssim(of: WrittenStream.playerOptions + ["-i", stream.playlist.path], against: source, size: size)
        let theirs = try ssim(of: ["-i", try referenceEncoding(of: source, in: directory).path], against: source, size: size)
        print("\(clip), \(duration) s: SSIM vs source: stream \(ours), ffmpeg CLI \(theirs)")
        #expect(ours >= theirs - 0.005)
    }

    /// The videos the contract test does not already cover.
    /// Several videos at once, as the worker pool runs them: no shared state between transcodes.
    @Test(.needsCorpus, .needs("ffmpeg")) func concurrentTranscodesAreIndependent() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let names = ["metadata-extractor-images__with-gps.mov", "androidx-media__sample_sef_slow_motion.mp4",
                     "metadata-extractor-images__with-gps.mov", "androidx-media__sample_sef_slow_motion.mp4"]
        let results = Mutex<[Int: Result<WrittenStream, any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let result = Result { try WrittenStream.make(from: corpus.appendingPathComponent(names[index])) }
            results.withLock { $0[index] = result }
        }
        for (index, result) in results.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            let stream = try result.get()
            defer { try? FileManager.default.removeItem(at: stream.directory) }
            let play = try runProcess("ffmpeg", ["-v", "error"] + WrittenStream.playerOptions
                                      + ["-i", stream.playlist.path, "-f", "null", "-"])
            #expect(play.status == 0 && play.stderrText.isEmpty, "\(names[index]): \(play.stderrText)")
        }
    }

    @Test(.needsCorpus) func everyOtherCorpusVideoGivesAStreamOrAReason() throws {
        let videos = try TestEnvironment.corpusFiles().filter {
            ["mov", "mp4", "avi", "mts"].contains($0.pathExtension.lowercased())
                && !Self.representative.contains($0.lastPathComponent)
        }
        for video in videos {
            do {
                let stream = try WrittenStream.make(from: video)
                #expect(!stream.byteRanges.isEmpty, "\(video.lastPathComponent)")
                #expect(stream.result.thumbnailFrame != nil, "\(video.lastPathComponent)")
                try? FileManager.default.removeItem(at: stream.directory)
            } catch let error as MediaError {
                #expect(video.lastPathComponent.hasPrefix("derived-truncated__"), "\(video.lastPathComponent): \(error)")
            }
        }
    }
}

/// Not a test: a throughput harness. `KEEPSAKE_STREAM_BENCH=DIR KEEPSAKE_STREAM_BENCH_FILES=a.mov,b.mp4 swift test
/// --filter StreamBenchmark` transcodes each file, keeps the stream, playlist and thumbnail (PPM) in DIR and
/// prints the output frames per second of wall time.
@Suite("StreamBenchmark", .enabled(if: ProcessInfo.processInfo.environment["KEEPSAKE_STREAM_BENCH"] != nil))
struct StreamBenchmark {
    @Test func transcodeThroughput() throws {
        let environment = ProcessInfo.processInfo.environment
        let output = URL(fileURLWithPath: environment["KEEPSAKE_STREAM_BENCH"]!)
        for path in (environment["KEEPSAKE_STREAM_BENCH_FILES"] ?? "").split(separator: ",").map(String.init) {
            let started = Date(), startedCPU = Self.processCPUSeconds()
            let stream = try WrittenStream.make(from: URL(fileURLWithPath: path))
            let seconds = Date().timeIntervalSince(started), cpu = Self.processCPUSeconds() - startedCPU
            let frames = try runProcess("ffprobe", ["-v", "error"] + WrittenStream.playerOptions
                                        + ["-count_packets", "-select_streams", "v:0", "-show_entries",
                                           "stream=nb_read_packets", "-of", "csv=p=0", stream.playlist.path])
            let count = frames.stdoutText.split(separator: "\n").first.flatMap { Double($0) } ?? 0
            let name = URL(fileURLWithPath: path).lastPathComponent
            print("BENCH \(name): \(Int(count)) frames in \(String(format: "%.2f", seconds)) s = "
                  + String(format: "%.1f", count / seconds) + " fps; CPU \(String(format: "%.2f", cpu)) s = "
                  + String(format: "%.1f", count / cpu) + " frames per CPU second")
            let kept = output.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: kept)
            try FileManager.default.moveItem(at: stream.directory, to: kept)
            if let image = stream.result.thumbnailFrame {
                var ppm = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
                for row in 0..<image.height {
                    ppm.append(contentsOf: image.pixels[row * image.bytesPerRow..<row * image.bytesPerRow + image.width * 3])
                }
                try ppm.write(to: kept.appendingPathComponent("thumbnail.ppm"))
            }
        }
    }

    /// The floor under each file's stream (the figures of the floor benchmark, in a test build): its video decoded
    /// alone, every frame and skipping the dropped ones, and libx264 alone on as many stream frames as the video has
    /// (going round its first 2 s of filtered frames); wall and CPU seconds of each.
    @Test func floorFigures() throws {
        let files = (ProcessInfo.processInfo.environment["KEEPSAKE_STREAM_BENCH_FILES"] ?? "").split(separator: ",").map(String.init)
        func measured(_ body: () throws -> Int) rethrows -> String {
            let started = Date(), startedCPU = Self.processCPUSeconds()
            let count = try body()
            return "\(count): \(String(format: "%.2f", Date().timeIntervalSince(started))) s wall, "
                + "\(String(format: "%.2f", Self.processCPUSeconds() - startedCPU)) s CPU"
        }
        for path in files {
            let name = URL(fileURLWithPath: path).lastPathComponent
            let every = try measured { try StreamFloor.decode(fileAt: path, skippingDroppedFrames: false) }
            let skipping = try measured { try StreamFloor.decode(fileAt: path) }
            let frames = try StreamFloor.frames(ofFileAt: path, limit: 60)
            let x264 = try measured { _ = try StreamFloor.encode(frames, count: frames.streamFrameCount); return frames.streamFrameCount }
            print("FLOOR \(name): decode every frame \(every); decode skipping \(skipping); x264 alone \(x264)")
        }
    }

    /// User + system time of all this process's threads, so that a busy machine does not skew the numbers.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

extension StreamTests {
    /// Sizes, rotation and frame rate of the stream for a source.
    @Suite struct Geometry {
        @Test func rotatedPortrait4K60() {
            let geometry = StreamGeometry(width: 3840, height: 2160, pixelAspect: nil, counterClockwiseDegrees: 90,
                                          sourceFrameRate: 60)
            #expect(geometry.rotation == 270)
            #expect((geometry.scaledWidth, geometry.scaledHeight) == (1280, 720))
            #expect((geometry.outputWidth, geometry.outputHeight) == (720, 1280))
            #expect(geometry.frameRate == 30 && geometry.dropsFrames)
            #expect(geometry.downscale == 3 && geometry.skipsLoopFilter(hevc: false) && geometry.skipsLoopFilter(hevc: true))
        }

        @Test func smallSourceIsNeverUpscaled() {
            let geometry = StreamGeometry(width: 568, height: 320, pixelAspect: (1, 1), counterClockwiseDegrees: -90,
                                          sourceFrameRate: 30000.0 / 1001)
            #expect(geometry.rotation == 90)
            #expect((geometry.outputWidth, geometry.outputHeight) == (320, 568))
            #expect(geometry.frameRate == 30 && !geometry.dropsFrames)
            #expect(geometry.downscale == 1 && !geometry.skipsLoopFilter(hevc: false))
        }

        @Test func anamorphicAndSlowSources() {
            let geometry = StreamGeometry(width: 1440, height: 1080, pixelAspect: (4, 3), counterClockwiseDegrees: nil,
                                          sourceFrameRate: 25)
            #expect((geometry.outputWidth, geometry.outputHeight) == (1280, 720))
            #expect(geometry.frameRate == 25 && !geometry.dropsFrames)
            #expect(geometry.downscale == 1.5 && geometry.skipsLoopFilter(hevc: false) && !geometry.skipsLoopFilter(hevc: true))
            #expect(!StreamGeometry(width: 1280, height: 960, pixelAspect: nil, counterClockwiseDegrees: nil,
                                    sourceFrameRate: 30).skipsLoopFilter(hevc: false))
            #expect(StreamGeometry(width: 1920, height: 1440, pixelAspect: nil, counterClockwiseDegrees: -90,
                                   sourceFrameRate: 30).skipsLoopFilter(hevc: true))
            #expect(StreamGeometry(width: 641, height: 481, pixelAspect: nil, counterClockwiseDegrees: 180,
                                   sourceFrameRate: nil).outputWidth == 640)
        }
    }
}
