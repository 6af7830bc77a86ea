import Foundation
@testable import Media
import MediaTypes
import Testing
import TestSupport

/// Issue 20, item 1: the frames a 30 fps stream drops from a 60 fps source are not decoded where no other frame
/// refers to them, and the stream is the same as with every frame decoded.
@Suite("DroppedFrameTests")
struct DroppedFrameTests {
    /// 60 fps clips made with the ffmpeg CLI (testsrc2, every frame different), 1920x1080, 3 s.
    enum Clip: String, CaseIterable, CustomTestStringConvertible {
        /// x265's B-frames (pyramid: I B b B P, the middle B a reference): every odd frame is a non-reference B.
        case hevcBFrames
        /// `-x265-params bframes=1:b-pyramid=0`: I B P B P, every B a non-reference picture.
        case hevcNonReference
        /// x264 `-bf 1`: I B P B P, every B non-reference (`nal_ref_idc` 0).
        case h264NonReference
        /// x264 `-bf 0`: I P P P, every frame a reference: nothing can be skipped, everything is decoded.
        case h264AllReference
        /// x264 with two B-frames: I B B P B B P, so some kept frames are non-reference Bs and some dropped ones Ps:
        /// only the dropped Bs may be skipped (skipping every non-reference frame would leave holes).
        case h264TwoBFrames

        var testDescription: String { rawValue }
        static let seconds = 3

        var encoder: [String] {
            switch self {
            case .hevcBFrames: ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1"]
            case .hevcNonReference: ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:bframes=1:b-pyramid=0",
                                     "-tag:v", "hvc1"]
            case .h264NonReference: ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "1"]
            case .h264AllReference: ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0"]
            case .h264TwoBFrames: ["-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "bframes=2:b-adapt=0:b-pyramid=none"]
            }
        }

        /// How many of the source's frames are decoded when the dropped ones are skipped where possible.
        var framesDecodedSkipping: ClosedRange<Int> {
            let source = 60 * Self.seconds, stream = 30 * Self.seconds
            return switch self {
            case .hevcBFrames, .hevcNonReference, .h264NonReference: stream...stream + 1
            case .h264AllReference: source...source
            // Of each 6 frames (I/P at 0 and 3, B at the others), the dropped Bs 1 and 5 are skipped.
            case .h264TwoBFrames: source * 2 / 3...source * 2 / 3 + 2
            }
        }

        func make(in directory: URL) throws -> URL {
            let url = directory.appendingPathComponent("\(rawValue).mp4")
            let made = try runProcess("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=60",
                                                 "-t", "\(Self.seconds)", "-pix_fmt", "yuv420p"] + encoder + [url.path])
            try #require(made.status == 0, "\(made.stderrText)")
            return url
        }
    }

    /// The stream's frames (digests of their pixels) and the frames decoded to make them.
    private func streamFrames(of url: URL, skipping: Bool) throws -> (frames: [Int], decoded: Int) {
        var frames: [Int] = []
        let run = try StreamFloor.run(fileAt: url.path, skippingDroppedFrames: skipping,
                                      tap: { frames.append(Frame.pixelDigest(of: $0)) })
        return (frames, run.framesDecoded)
    }

    @Test(.needs("ffmpeg"), arguments: Clip.allCases)
    func droppedFramesAreSkippedAndTheStreamFramesStayTheSame(_ clip: Clip) throws {
        let directory = try TestEnvironment.makeTempDirectory("keepsake-dropped")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try clip.make(in: directory)

        let everyFrame = try streamFrames(of: source, skipping: false)
        let skipping = try streamFrames(of: source, skipping: true)
        let sourceFrames = 60 * Clip.seconds, streamFrames = 30 * Clip.seconds
        #expect(everyFrame.decoded == sourceFrames)
        #expect(everyFrame.frames.count == streamFrames)
        // No frame twice in a row: every other source frame, none repeated for one that went missing.
        #expect(zip(everyFrame.frames, everyFrame.frames.dropFirst()).allSatisfy { $0 != $1 })
        // Bit for bit the same frames, in the same order, from fewer decoded.
        #expect(skipping.frames == everyFrame.frames)
        #expect(clip.framesDecodedSkipping.contains(skipping.decoded), "\(skipping.decoded) of \(sourceFrames) frames decoded")
    }

    /// A real phone clip whose dropped frames are all reference frames (Android 4K60, I P P P): decoded in full.
    @Test(.needsCorpus) func referenceFramesAreDecodedInFull() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let source = corpus.appendingPathComponent("androidx-media__portrait_4k60.mp4")
        let everyFrame = try streamFrames(of: source, skipping: false)
        let skipping = try streamFrames(of: source, skipping: true)
        #expect(everyFrame.decoded == 18)
        #expect(skipping.decoded == 18)
        #expect(skipping.frames == everyFrame.frames && !everyFrame.frames.isEmpty)
    }

    /// The stream of a 60 fps HEVC clip: 30 frames a second exactly, the playlist as long as the clip, and no worse
    /// in SSIM than the ffmpeg CLI's encoding minus 0.005.
    @Test(.needs("ffmpeg", "ffprobe"), arguments: [Clip.hevcBFrames, .hevcNonReference])
    func streamOf60fpsHEVCHasExactFramesDurationAndQuality(_ clip: Clip) throws {
        let directory = try TestEnvironment.makeTempDirectory("keepsake-dropped-stream")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try clip.make(in: directory)
        let stream = try WrittenStream.make(from: source)
        defer { try? FileManager.default.removeItem(at: stream.directory) }

        let packets = try runProcess("ffprobe", ["-v", "error"] + WrittenStream.playerOptions
                                     + ["-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0",
                                        stream.playlist.path])
        let times = packets.stdoutText.split(separator: "\n").compactMap { $0.split(separator: ",").first.flatMap { Double($0) } }.sorted()
        #expect(times.count == 30 * Clip.seconds)
        #expect(zip(times, times.dropFirst()).allSatisfy { abs($1 - $0 - 1.0 / 30) < 0.001 }, "\(times)")
        let listed = stream.result.playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }
            .compactMap { Double($0.dropFirst("#EXTINF:".count).dropLast()) }.reduce(0, +)
        #expect(abs(listed - Double(Clip.seconds)) < 0.001, "playlist lasts \(listed) s")

        let ours = try ssim(of: WrittenStream.playerOptions + ["-i", stream.playlist.path], against: source, size: "1280:720")
        let theirs = try ssim(of: ["-i", try referenceEncoding(of: source, in: directory).path], against: source, size: "1280:720")
        print("\(clip): SSIM vs source: stream \(ours), ffmpeg CLI \(theirs)")
        #expect(ours >= theirs - 0.005)
    }
}

/// reference-pipeline.sh's encoding of `source` with the ffmpeg CLI, as MPEG-TS.
func referenceEncoding(of source: URL, in directory: URL) throws -> URL {
    let reference = directory.appendingPathComponent("reference.ts")
    let encoded = try runProcess("ffmpeg", [
        "-v", "error", "-y", "-i", source.path, "-map", "0:v:0", "-map", "0:a:0?",
        "-vf", "scale='if(lt(iw,ih),min(720,iw),-2)':'if(lt(iw,ih),-2,min(720,ih))',fps=30,format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2000k", "-maxrate", "2000k", "-bufsize", "4000k",
        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-f", "mpegts", reference.path])
    try #require(encoded.status == 0, "\(encoded.stderrText)")
    return reference
}

/// The SSIM (all planes) of an encoding of `size` ("W:H") against its source scaled down to that size.
func ssim(of input: [String], against source: URL, size: String) throws -> Double {
    let run = try runProcess("ffmpeg", ["-v", "info", "-nostats"] + input + ["-i", source.path, "-lavfi",
        "[0:v]setsar=1[a];[1:v]scale=\(size):flags=bicubic,setsar=1[b];[a][b]ssim", "-f", "null", "-"])
    let line = try #require(run.stderrText.split(separator: "\n").last { $0.contains("SSIM Y:") })
    let all = try #require(line.split(separator: " ").first { $0.hasPrefix("All:") })
    return try #require(Double(all.dropFirst(4)))
}
