import Foundation
@testable import Media
import MediaTypes
import Testing
import TestSupport

/// Issue 20: a video's thumbnail without its stream (`ingest --no-streams`) seeks to the keyframe before 1 s and
/// filters one frame, and is the frame the stream path picks (SPEC 5: the frame at 1 s, 0 s for shorter clips,
/// rotation applied, HDR tone-mapped).
@Suite("ThumbnailFinderTests")
struct ThumbnailFinderTests {
    /// Clips made with the ffmpeg CLI from testsrc2 (every frame different), 640x360 unless said.
    enum Clip: String, CaseIterable, CustomTestStringConvertible {
        /// 30 fps, a keyframe every 0.5 s (B-frames): the seek lands on the keyframe at 1 s.
        case keyframesEveryHalfSecond
        /// 30 fps, one keyframe at 0 and non-reference B-frames: no seek; the Bs before the pick are not decoded.
        case singleKeyframe
        /// 0.7 s: the frame at 0 s.
        case shorterThanOneSecond
        /// A display matrix turning it a quarter, keyframes every 0.5 s.
        case rotated
        /// 10-bit HEVC tagged BT.2020 PQ (HDR10), keyframes every 0.5 s: tone-mapped.
        case hdr10
        /// 60 fps, a keyframe every 0.3 s and no B-frames (as the Android 4K60 clip): the frame-rate step drops half.
        case sixtyFPS
        /// The keyframe table (`stss`) renamed away: every frame looks like a keyframe to the demuxer, and a seek
        /// lands on frames that refer to others not decoded (H.264, then HEVC with B-frames; keyframes every 0.4 s). Seen:
        /// the landing frame is no keyframe to the decoder, so both are decoded from the start.
        case damagedIndex
        case damagedIndexHEVC
        /// MPEG-TS: no index to seek with; read from the start without a seek, still one frame filtered.
        case unseekable

        var testDescription: String { rawValue }

        var fileName: String { rawValue + (self == .unseekable ? ".ts" : self == .hdr10 ? ".mov" : ".mp4") }

        var arguments: [String] {
            let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
            let halfSecond = ["-g", "15", "-keyint_min", "15", "-sc_threshold", "0"]
            let source = { (rate: Int, seconds: String) in
                ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=\(rate)", "-t", seconds]
            }
            switch self {
            case .keyframesEveryHalfSecond, .unseekable:
                return source(30, "3") + x264 + halfSecond + ["-bf", "2"]
            case .damagedIndex:
                // Keyframes at 0.4 s steps: the frame at 1 s is not one.
                return source(30, "3") + x264 + ["-g", "12", "-keyint_min", "12", "-sc_threshold", "0", "-bf", "2"]
            case .singleKeyframe:
                return source(30, "3") + x264 + ["-g", "300", "-x264-params", "bframes=3:b-adapt=0:b-pyramid=none"]
            case .shorterThanOneSecond:
                return source(30, "0.7") + x264
            case .rotated:
                return source(30, "3") + x264 + halfSecond
            case .damagedIndexHEVC:
                return source(30, "3") + ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
                                          "-x265-params", "log-level=error:keyint=12:min-keyint=12:bframes=3"]
            case .hdr10:
                return source(30, "2") + [
                    "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1",
                    "-x265-params", "log-level=error:keyint=15:min-keyint=15:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
                    "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"]
            case .sixtyFPS:
                return source(60, "3") + x264 + ["-g", "18", "-keyint_min", "18", "-sc_threshold", "0", "-bf", "0"]
            }
        }

        /// Whether the finder can be sure without decoding from the start, and whether it seeks (nil: either way,
        /// as long as the picture is the stream's).
        var quick: Bool? {
            switch self {
            case .shorterThanOneSecond: false
            case .damagedIndex, .damagedIndexHEVC: nil
            default: true
            }
        }
        var seeks: Bool? { quick.map { $0 && self != .singleKeyframe && self != .unseekable } }

        func make(in directory: URL) throws -> URL {
            let url = directory.appendingPathComponent(fileName)
            let made = try runProcess("ffmpeg", ["-v", "error", "-y"] + arguments + [url.path])
            try #require(made.status == 0, "\(made.stderrText)")
            if self == .damagedIndex || self == .damagedIndexHEVC { try renameBox("stss", to: "free", in: url) }
            if self == .rotated {
                // ffmpeg 5.1 writes the display matrix when remuxing, not when encoding.
                let turned = directory.appendingPathComponent("turned-" + fileName)
                let remuxed = try runProcess("ffmpeg", ["-v", "error", "-y", "-i", url.path, "-c", "copy",
                                                        "-metadata:s:v:0", "rotate=90", turned.path])
                try #require(remuxed.status == 0, "\(remuxed.stderrText)")
                return turned
            }
            return url
        }

        /// Renames the first box of type `type` (its 4 bytes after the size) in an MP4 file.
        private func renameBox(_ type: String, to other: String, in url: URL) throws {
            var data = try Data(contentsOf: url)
            let range = try #require(data.range(of: Data(type.utf8)), "no \(type) box")
            data.replaceSubrange(range, with: Data(other.utf8))
            try data.write(to: url)
        }
    }

    @Test(.needs("ffmpeg"), arguments: Clip.allCases)
    func thumbnailIsTheStreamsPick(_ clip: Clip) throws {
        let directory = try TestEnvironment.makeTempDirectory("keepsake-thumbnail-finder")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try clip.make(in: directory)

        let found = try ThumbnailFinder.find(path: source.path)
        let stream = try WrittenStream.make(from: source)
        defer { try? FileManager.default.removeItem(at: stream.directory) }
        let picked = try #require(stream.result.thumbnailFrame)
        let frame = try #require(found.frame)
        #expect((frame.width, frame.height) == (picked.width, picked.height))
        #expect(differingRows(frame, picked) == 0, "\(clip): not the stream's thumbnail")
        if let quick = clip.quick { #expect(found.decodedFromStart == !quick) }
        if let seeks = clip.seeks { #expect(found.seeked == seeks) }
        if !found.decodedFromStart { #expect(found.framesFiltered == 1) }
        print("\(clip): decoded \(found.framesDecoded), seeked \(found.seeked), from the start \(found.decodedFromStart)")
        // The public entry point gives the same picture.
        #expect(differingRows(try VideoTranscoder.thumbnailFrame(fileAt: source.path), picked) == 0)

        if clip == .rotated { #expect(frame.height > frame.width) }
    }

    /// Every corpus video (phone clips with edit lists, rotation, HDR and Dolby Vision, a truncated one, AVI, MTS): the
    /// same thumbnail as decoding from the start, or the same failure.
    @Test(.needsCorpus) func corpusVideosGetTheSameThumbnail() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let videos = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter {
            ["mov", "mp4", "m4v", "3gp", "mkv", "webm", "avi", "mts", "m2ts", "ts"].contains(($0 as NSString).pathExtension.lowercased())
        }.sorted()
        #expect(videos.count >= 19)
        var seeked = 0
        for name in videos {
            let path = corpus.appendingPathComponent(name).path
            let fromStart = Result { try ThumbnailFinder.fromStart(path: path) }
            let found = Result { try ThumbnailFinder.find(path: path) }
            switch (fromStart, found) {
            case let (.success(old), .success(new)):
                if let oldFrame = old.frame, let newFrame = new.frame {
                    #expect(differingRows(oldFrame, newFrame) == 0, "\(name)")
                } else {
                    #expect(old.frame == nil && new.frame == nil, "\(name)")
                }
                if new.seeked { seeked += 1 }
                print("\(name): decoded \(new.framesDecoded) of \(old.framesDecoded), seeked \(new.seeked), "
                      + "from the start \(new.decodedFromStart)")
            case (.failure, .failure): break
            default: Issue.record("\(name): from the start \(fromStart), found \(found)")
            }
        }
        #expect(seeked >= 3)
    }

    /// The work is counted so that the saving cannot silently go: frames decoded and filtered, quick against from the
    /// start (which decodes and filters every frame up to 1 s).
    @Test(.needs("ffmpeg")) func fewFramesAreDecodedAndOneIsFiltered() throws {
        let directory = try TestEnvironment.makeTempDirectory("keepsake-thumbnail-count")
        defer { try? FileManager.default.removeItem(at: directory) }
        for (clip, decodedAtMost) in [(Clip.keyframesEveryHalfSecond, 8), (.sixtyFPS, 12), (.singleKeyframe, 16)] {
            let source = try clip.make(in: directory)
            let quick = try ThumbnailFinder.find(path: source.path)
            let fromStart = try ThumbnailFinder.fromStart(path: source.path)
            print("\(clip): quick decoded \(quick.framesDecoded), filtered \(quick.framesFiltered); from the start "
                  + "decoded \(fromStart.framesDecoded), filtered \(fromStart.framesFiltered)")
            #expect(!quick.decodedFromStart && quick.framesFiltered == 1)
            #expect(fromStart.framesFiltered >= 30 && fromStart.framesDecoded >= 31)
            #expect(quick.framesDecoded <= decodedAtMost, "\(clip)")
            #expect(differingRows(try #require(quick.frame), try #require(fromStart.frame)) == 0)
        }
    }

}

/// How many rows of two RGB images' visible pixels differ (all of them when their sizes do).
func differingRows(_ one: RGBImage, _ other: RGBImage) -> Int {
    guard (one.width, one.height) == (other.width, other.height) else { return max(one.height, other.height, 1) }
    return one.pixels.withUnsafeBytes { a in
        other.pixels.withUnsafeBytes { b in
            (0..<one.height).filter { row in
                memcmp(a.baseAddress! + row * one.bytesPerRow, b.baseAddress! + row * other.bytesPerRow, one.width * 3) != 0
            }.count
        }
    }
}

/// Not a test: CPU time of a video's thumbnail alone, from the start (as before issue 20's finder) and found by
/// seeking, alternating, and whether the two are the same picture. `KEEPSAKE_THUMBNAIL_BENCH=a.mov,b.mp4 swift test
/// --filter ThumbnailFinderBenchmark` (ROUNDS from KEEPSAKE_THUMBNAIL_BENCH_ROUNDS, 3 unless set).
@Suite("ThumbnailFinderBenchmark", .enabled(if: ProcessInfo.processInfo.environment["KEEPSAKE_THUMBNAIL_BENCH"] != nil))
struct ThumbnailFinderBenchmark {
    @Test func thumbnailCPUTime() throws {
        let environment = ProcessInfo.processInfo.environment
        let rounds = Int(environment["KEEPSAKE_THUMBNAIL_BENCH_ROUNDS"] ?? "") ?? 3
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        for path in environment["KEEPSAKE_THUMBNAIL_BENCH"]!.split(separator: ",").map(String.init) {
            var before: [Double] = [], after: [Double] = []
            var fromStart: ThumbnailFinder.Search?, found: ThumbnailFinder.Search?
            for _ in 0..<rounds {
                var started = StreamBenchmark.processCPUSeconds()
                fromStart = try ThumbnailFinder.fromStart(path: path)
                before.append(StreamBenchmark.processCPUSeconds() - started)
                started = StreamBenchmark.processCPUSeconds()
                found = try ThumbnailFinder.find(path: path)
                after.append(StreamBenchmark.processCPUSeconds() - started)
            }
            let old = try #require(fromStart), new = try #require(found)
            let same = differingRows(try #require(old.frame), try #require(new.frame))
            print("THUMB \(URL(fileURLWithPath: path).lastPathComponent): CPU s from the start "
                  + before.map { String(format: "%.3f", $0) }.joined(separator: " ") + " (decoded \(old.framesDecoded), "
                  + "filtered \(old.framesFiltered)); found " + after.map { String(format: "%.3f", $0) }.joined(separator: " ")
                  + " (decoded \(new.framesDecoded), filtered \(new.framesFiltered), seeked \(new.seeked)); median ratio "
                  + String(format: "%.3f", median(after) / median(before)) + "; rows differing \(same)")
            #expect(same == 0)
        }
    }
}
