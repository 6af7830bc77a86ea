import Foundation
@testable import Store
import Testing
import TestSupport

/// What a browser (`keepsake serve`) and a plain player need that the library makes: a large JPEG rendition of every
/// photo a browser does not show (HEIC here), an HLS stream of a motion photo's embedded video, and `stream --to`
/// output that ffmpeg plays without options. Every picture and stream is checked by decoding it with ffmpeg/ffprobe.
@Suite struct BrowserMediaEndToEndTests {
    static let iphone = TestEnvironment.samples.appendingPathComponent("media/iphone").path

    /// The width and height ffprobe reads from a JPEG's bytes.
    func probeJPEG(_ bytes: [UInt8], in folder: String) throws -> (width: Int, height: Int)? {
        let path = folder + "/probe-\(UUID().uuidString).jpg"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runProcess("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
                                                "-of", "csv=p=0", path])
        let fields = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        guard result.status == 0, fields.count == 3, fields[0] == "mjpeg", let width = Int(fields[1]), let height = Int(fields[2]) else {
            return nil
        }
        return (width, height)
    }

    func decrypted(_ object: String, of itemId: String, in library: Library) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try library.readDecrypted(ObjectName(object), key: library.fileKey(of: itemId)) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Every HEIC item's rendition (a Live Photo's still included) is a sealed JPEG of 1440–2048 px long edge.
    func expectHEICRenditions(_ library: Library, base: String) throws -> Int {
        var checked = 0
        for item in try library.index.items() {
            let originals = try library.index.originals(of: item.id)
            guard originals.contains(where: { $0.mimeType == "image/heic" }) else {
                #expect(item.renditionObject == nil, "\(item.type) item \(originals.map(\.mimeType)) got a rendition")
                continue
            }
            let rendition = try #require(item.renditionObject, "HEIC item \(item.id) has no rendition")
            let stored = try library.store.get(ObjectName(rendition))
            #expect(!(stored[0] == 0xFF && stored[1] == 0xD8), "the rendition is stored as plaintext JPEG")
            #expect(try library.index.digests(of: item.id).contains { $0.name == rendition && $0.role == "rendition" })
            let jpeg = try decrypted(rendition, of: item.id, in: library)
            let size = try #require(try probeJPEG(jpeg, in: base), "rendition of \(item.id) is no JPEG")
            #expect((1440...2048).contains(max(size.width, size.height)), "rendition of \(item.id) is \(size.width)×\(size.height)")
            checked += 1
        }
        return checked
    }

    @Test func heicPhotosGetASealedRenditionThatVerifyReadsAndJPEGsGetNone() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-renditions").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let library = base + "/lib"
        let ingest = try Keepsake.run(["ingest", Self.iphone, "--library", library])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        do {
            let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
            #expect(try expectHEICRenditions(opened, base: base) == 2, "the HEIC photo and the Live Photo's HEIC still")
            let jpeg = try #require(try opened.index.items().first { $0.renditionObject == nil && $0.type == .image }, "the JPEG has none")
            let heic = try #require(try opened.index.items().first { $0.renditionObject != nil })
            // `thumb --rendition` writes it decrypted; a photo without one says so.
            let written = try Keepsake.run(["thumb", heic.id, "--rendition", "--to", base + "/r.jpg", "--library", library])
            #expect(written.status == 0, "\(written.stderrText)")
            let size = try #require(try probeJPEG(Array(try Data(contentsOf: URL(fileURLWithPath: base + "/r.jpg"))), in: base))
            #expect(max(size.width, size.height) >= 1440)
            let none = try Keepsake.run(["thumb", jpeg.id, "--rendition", "--to", base + "/none.jpg", "--library", library])
            #expect(none.status == 2 && none.stderrText.contains("has no rendition"), "\(none.stderrText)")
        }
        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
    }

    /// A library written before renditions existed (records, log and index without the field) opens and lists;
    /// `keepsake renditions` makes the missing ones from the stored originals, every machine sees them, and a second
    /// run has nothing left to do.
    @Test func aLibraryFromBeforeRenditionsGetsThemFromKeepsakeRenditions() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-renditions-old").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let library = base + "/lib"
        let old = try Keepsake.run(["ingest", Self.iphone, "--library", library], environment: ["KEEPSAKE_TEST_WORKER_NO_RENDITIONS": "1"])
        #expect(old.status == 0, "\(old.stdoutText)\(old.stderrText)")
        let listed = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(listed.status == 0 && listed.stdoutText.split(separator: "\n").count == 4, "\(listed.stdoutText)\(listed.stderrText)")
        do {
            let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
            #expect(try opened.index.items().allSatisfy { $0.renditionObject == nil })
        }

        let made = try Keepsake.run(["renditions", "--library", library])
        #expect(made.status == 0 && made.stdoutText.contains("renditions made: 2"), "\(made.stdoutText)\(made.stderrText)")
        // Every object is some item's: with no grace, an unreferenced one would be listed as an orphan.
        let verify = try Keepsake.run(["verify", "--read-data", "--grace", "0s", "--library", library])
        #expect(verify.status == 0 && verify.stdoutText.contains("no problems found") && !verify.stdoutText.contains("orphan")
                && !verify.stdoutText.contains("belong to no item"), "\(verify.stdoutText)\(verify.stderrText)")

        // A new index, rebuilt from the store alone, holds them too.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: library + "/index.sqlite" + suffix) }
        do {
            let rebuilt = try Library.open(at: library, passphrase: "test passphrase", create: false)
            #expect(try expectHEICRenditions(rebuilt, base: base) == 2)
            // Each item's own record names its rendition too (what recovers an item whose log entry is lost).
            for item in try rebuilt.index.items() where item.renditionObject != nil {
                let record = try rebuilt.changeLog.readRecord(ItemRecordName.objectName(itemId: item.id))
                #expect(record.item.renditionObject == item.renditionObject)
                #expect(record.objects.contains { $0.name == item.renditionObject && $0.role == "rendition" })
            }
        }
        let again = try Keepsake.run(["renditions", "--library", library])
        #expect(again.status == 0 && again.stdoutText.contains("renditions made: 0"), "\(again.stdoutText)\(again.stderrText)")
    }

    /// `stream --to DIR` plays in plain ffmpeg, ffplay and mpv: the key is a file (owner-only) the playlist names
    /// relatively, with an extension ffmpeg's HLS reader opens by default; the whole stream decodes.
    @Test func streamToAFolderPlaysInFFmpegFFplayAndMpvWithoutOptions() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-stream-out").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let library = base + "/lib", folder = base + "/in", out = base + "/out"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.iphone + "/osxphotos__IMG_3539.MOV", toPath: folder + "/clip.mov")
        let ingest = try Keepsake.run(["ingest", folder, "--library", library])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let id = try #require(try Library.open(at: library, passphrase: "test passphrase", create: false).index.items().first?.id)
        try expectPlayable(itemId: id, library: library, out: out)
    }

    func expectPlayable(itemId: String, library: String, out: String) throws {
        let written = try Keepsake.run(["stream", itemId, "--to", out, "--library", library])
        #expect(written.status == 0, "\(written.stdoutText)\(written.stderrText)")
        let playlist = try String(contentsOfFile: out + "/playlist.m3u8", encoding: .utf8)
        #expect(!playlist.contains("data:") && playlist.contains("URI=\"stream.key.ts\""), "\(playlist)")
        let key = try FileManager.default.attributesOfItem(atPath: out + "/stream.key.ts")
        #expect((key[.posixPermissions] as? Int) == 0o600 && (key[.size] as? Int) == 16)
        let decode = try runProcess("ffmpeg", ["-v", "error", "-i", out + "/playlist.m3u8", "-f", "null", "-"])
        #expect(decode.status == 0 && decode.stderrText.isEmpty, "\(decode.stderrText)")
        let frames = try runProcess("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                                "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out + "/playlist.m3u8"])
        // ffprobe lists the stream under its program and again on its own: the first count.
        let count = frames.stdoutText.split(whereSeparator: \.isNewline).compactMap { Int($0) }.first ?? 0
        #expect(count > 10, "\(frames.stdoutText)\(frames.stderrText)")
        // ffplay, headless: with the `data:` key it says so on stderr and plays nothing.
        let ffplay = try runProcess("ffplay", ["-autoexit", "-loglevel", "error", out + "/playlist.m3u8"],
                                    environment: ["SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"])
        #expect(ffplay.status == 0 && ffplay.stderrText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(ffplay.stderrText)")
        // mpv (libavformat's HLS reader too, with options of its own) exits 3 on the `data:` key of a stored playlist.
        if TestEnvironment.hasTool("mpv") {
            let mpv = try runProcess("mpv", ["--no-config", "--vo=null", "--ao=null", "--really-quiet", "--frames=30", out + "/playlist.m3u8"])
            #expect(mpv.status == 0, "\(mpv.stdoutText)\(mpv.stderrText)")
        }
    }

    /// A motion photo's embedded video gets its own stream at ingest (the corpus's HEIC one, whose video is whole), and
    /// a motion photo whose embedded video is cut short (the samples' Pixel one) says why it has none.
    @Test(.needsCorpus)
    func motionPhotosGetAStreamOfTheirEmbeddedVideo() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let base = try TestEnvironment.makeTempDirectory("keepsake-motion-streams").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let library = base + "/lib", folder = base + "/in"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: corpus.appendingPathComponent("ente-motion_photos__motionphoto.heic").path,
                                         toPath: folder + "/motion.heic")
        try FileManager.default.copyItem(atPath: TestEnvironment.samples.appendingPathComponent(
            "media/android/androidx-media__pixel-motion-photo-shortened.jpg").path, toPath: folder + "/pixel.jpg")
        let ingest = try Keepsake.run(["ingest", folder, "--library", library])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        let items = try opened.index.items()
        #expect(items.count == 2 && items.allSatisfy { $0.type == .motionPhoto })
        for item in items {
            let name = try opened.index.originals(of: item.id).first?.name.string
            if name == "motion.heic" {
                #expect(item.streamObject != nil && item.playlistObject != nil && item.renditionObject != nil)
                try expectPlayable(itemId: item.id, library: library, out: base + "/out")
            } else {
                #expect(item.streamObject == nil)
                let problems = item.stageProblems ?? ""
                #expect(problems.contains("stream: cannot decode: no video frame could be decoded"), "\(problems)")
            }
        }
    }
}
