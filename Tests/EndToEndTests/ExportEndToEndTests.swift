import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeepsakeCrypto
import Store
import Testing
import TestSupport

/// `keepsake export` as a user runs it: round trip of the corpus, kills at random points, incremental reruns,
/// and files leaving an album.
@Suite(.serialized) struct ExportEndToEndTests {
    // MARK: Round trip of the corpus

    @Test(.needsCorpus)
    func theCorpusComesBackBitExactWithTakeoutSidecars() throws {
        let library = try CorpusLibrary.path.get()
        let out = try TestEnvironment.makeTempDirectory("keepsake-export").path
        let run = try ExportRun(library: library, to: out)
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try CorpusLibrary.expectedFolders()
        #expect(run.summary["exported"] as? Int == expected.values.reduce(0) { $0 + $1.count })
        #expect(run.summary["failed"] as? Int == 0)
        let renamed = (run.summary["renamed"] as? [[String: Any]] ?? []).map { "\($0["original"] ?? "") → \($0["written"] ?? "")" }
        #expect(renamed == ["\(CorpusLibrary.album) → \(CorpusLibrary.albumFolder)"], "only the album's / is changed")
        let seconds = run.summary["seconds"] as? Double ?? 0
        let bytes = run.summary["bytesWritten"] as? Int ?? 0
        print("export throughput: \(bytes) bytes in \(String(format: "%.2f", seconds)) s = "
              + "\(String(format: "%.1f", Double(bytes) / 1e6 / max(seconds, 1e-9))) MB/s")
        try expectComplete(out, expected)

        let sources = try CorpusLibrary.sourcePaths()
        let reference = try CorpusReference.load()
        var compared = (times: 0, places: 0)
        for (folder, files) in expected {
            for name in files.keys {
                let exported = out + "/" + folder + "/" + name
                let source = try #require(sources[name])
                #expect(try hashOfFile(exported) == hashOfFile(source), "\(folder)/\(name) is bit-identical to its source")
                let sidecarData = try Data(contentsOf: URL(fileURLWithPath: out + "/" + folder + "/metadata/" + name + ".json"))
                let sidecar = try #require(try JSONSerialization.jsonObject(with: sidecarData) as? [String: Any], "\(name).json parses")
                #expect(sidecar["title"] as? String == name)
                #expect(sidecar["description"] as? String == "")
                #expect((sidecar["creationTime"] as? [String: String])?["timestamp"] != nil)
                let geo = try #require(sidecar["geoData"] as? [String: Double], "\(name): geoData")
                let taken = (sidecar["photoTakenTime"] as? [String: String])?["timestamp"].flatMap { Int64($0) }
                if let taken {
                    let mtime = try #require(try FileManager.default.attributesOfItem(atPath: exported)[.modificationDate] as? Date)
                    #expect(Int64(mtime.timeIntervalSince1970.rounded(.down)) == taken, "\(name): mtime is the capture time")
                }
                guard let entry = reference[name] else { continue }
                if let seconds = entry.takenSeconds, CorpusReference.acceptedDifferences["\(name)|time"] == nil {
                    #expect(taken == seconds, "\(name): photoTakenTime \(taken.map(String.init) ?? "none"), exiftool says \(seconds)")
                    compared.times += 1
                }
                if let (latitude, longitude) = entry.gps, CorpusReference.acceptedDifferences["\(name)|gps"] == nil {
                    #expect(abs((geo["latitude"] ?? 0) - latitude) < 1e-5 && abs((geo["longitude"] ?? 0) - longitude) < 1e-5,
                            "\(name): geoData \(geo), exiftool says \(latitude), \(longitude)")
                    compared.places += 1
                }
            }
        }
        print("compared with expected.json: \(compared.times) capture times, \(compared.places) places")
        #expect(compared.times > 20 && compared.places > 5)
    }

    // MARK: Killed at random points

    @Test(.needsCorpus)
    func anExportKilledAtRandomPointsResumesWithoutPartialOrDuplicatedFiles() throws {
        let library = try CorpusLibrary.path.get()
        let expected = try CorpusLibrary.expectedFolders().filter { $0.key == "corpus" }
        let total = expected["corpus", default: [:]].count
        let scratch = try TestEnvironment.makeTempDirectory("keepsake-export").path
        let measured = try ExportRun(library: library, to: scratch, album: "corpus").summary
        let perFile = Duration.seconds(measured["seconds"] as? Double ?? 1) / total

        // Each run resumes the ones before it. Most are killed a random number of files' time after they finished
        // their first file (so the kills fall all along the export, whatever the machine's load, and at random
        // phases of the files in flight: decrypting, fsync, rename, state); some during start-up. When an export
        // completes before twelve kills, it is checked and the kills go on in a fresh folder.
        var out = try TestEnvironment.makeTempDirectory("keepsake-export").path
        var kills: [(after: Duration, filesBefore: Int)] = []
        var attempts = 0
        while kills.count < 12 && attempts < 40 {
            attempts += 1
            let before = try visibleFiles(out + "/corpus").count
            let duringStartup = kills.count % 6 == 5
            let extra = perFile * Int.random(in: 0...min(24, max(1, total - before)))
            let killed = try runKilled(["export", "--to", out, "--album", "corpus", "--library", library, "--json"],
                                       log: out + ".log") { elapsed, lines in
                duringStartup ? elapsed >= .milliseconds(Int.random(in: 50...400)) : lines > 0 && elapsed >= extra
            }
            try expectNothingWrongVisible(out, expected)
            if let after = killed {
                kills.append((after, before))
            } else {
                try expectComplete(out, expected)
                out = try TestEnvironment.makeTempDirectory("keepsake-export").path
            }
        }
        print("killed after (ms, files already there): "
              + kills.map { "(\($0.after.formatted(.units(allowed: [.milliseconds]))), \($0.filesBefore))" }.joined(separator: " "))
        #expect(kills.count >= 12)
        #expect(Set(kills.map(\.filesBefore)).count >= 6, "the kills fall at many points of the export")
        let last = try ExportRun(library: library, to: out, album: "corpus")
        #expect(last.status == 0, "\(last.stderr)")
        print("the run after the kills: \(last.summary)")
        try expectComplete(out, expected)
        let again = try ExportRun(library: library, to: out, album: "corpus")
        #expect(again.summary["exported"] as? Int == 0 && again.summary["adopted"] as? Int == 0)
    }

    // MARK: Incremental

    @Test func aSecondExportWritesExactlyTheNewFilesAndAdoptsWhatAKilledRunLeft() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-export")
        let library = base.appendingPathComponent("lib").path
        let images = try sampleImages()
        let first = try copy(Array(images.prefix(5)), to: base.appendingPathComponent("first").path)
        let second = try copy(Array(images.suffix(3)), to: base.appendingPathComponent("second").path)
        #expect(try Keepsake.run(["ingest", first, "--library", library]).status == 0)
        let out = base.appendingPathComponent("out").path
        let initial = try ExportRun(library: library, to: out)
        #expect(initial.summary["exported"] as? Int == 5)

        #expect(try Keepsake.run(["ingest", second, "--library", library]).status == 0)
        let rerun = try ExportRun(library: library, to: out)
        #expect(rerun.status == 0)
        #expect(rerun.summary["exported"] as? Int == 3 && rerun.summary["alreadyExported"] as? Int == 5)
        let written = Set(rerun.files.filter { $0["status"] as? String == "exported" }.compactMap { $0["path"] as? String })
        let newNames = Set(images.suffix(3).map { "Uncategorized/" + ($0 as NSString).lastPathComponent })
        #expect(written == newNames)
        for path in newNames {
            let name = (path as NSString).lastPathComponent
            #expect(FileManager.default.fileExists(atPath: out + "/Uncategorized/metadata/" + name + ".json"))
        }

        // A run killed after its renames but before its state write: the files are recognised, not copied as name(1).
        try FileManager.default.removeItem(atPath: out + "/.keepsake-export.json")
        let partial = out + "/Uncategorized/.leftover.jpg.keepsake-partial"
        #expect(FileManager.default.createFile(atPath: partial, contents: Data([1, 2, 3])))
        let adopting = try ExportRun(library: library, to: out)
        #expect(adopting.summary["adopted"] as? Int == 8 && adopting.summary["exported"] as? Int == 0)
        #expect(adopting.summary["partialsRemoved"] as? Int == 1)
        #expect(!FileManager.default.fileExists(atPath: partial))
        #expect(try visibleFiles(out + "/Uncategorized").count == 8)
    }

    // MARK: Names

    /// Names with control characters and Windows' forbidden characters, as ext4 or tmpfs holds them.
    static let awkwardNames = ["line\nbreak.jpg", "tab\there.jpg", "Trip: Tokyo?.jpg", "back\\slash.jpg", "trailing dot.",
                               "café Ünïcode.jpg", "a*b\"c<d>e|f.jpg"]

    /// Ingests one sample photo under each of `names` (each a different photo) into album `album`.
    func ingest(_ names: [String], album: String, into library: String, base: URL) throws {
        let images = try sampleImages()
        let sources = base.appendingPathComponent("named").path
        try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
        for (image, name) in zip(images, names) { try FileManager.default.copyItem(atPath: image, toPath: sources + "/" + name) }
        let ingest = try Keepsake.run(["ingest", sources, "--library", library, "--album", album])
        #expect(ingest.status == 0, "\(ingest.stderrText)")
    }

    @Test func onAPosixTargetNamesExportByteIdenticalAndNothingIsRenamed() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-export")
        let library = base.appendingPathComponent("lib").path
        let album = "Trip: Tokyo? \\ ok."
        try ingest(Self.awkwardNames, album: album, into: library, base: base)
        let out = base.appendingPathComponent("out").path
        let run = try ExportRun(library: library, to: out)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.summary["exported"] as? Int == Self.awkwardNames.count)
        #expect(run.summary["renamed"] as? [Any] != nil && (run.summary["renamed"] as? [Any])?.isEmpty == true, "\(run.summary)")
        #expect(["ext4", "tmpfs", "xfs", "btrfs", "overlay"].contains(run.summary["fileSystem"] as? String ?? ""), "\(run.summary)")
        #expect(try visibleEntries(out) == [album])
        #expect(Set(try visibleFiles(out + "/" + album)) == Set(Self.awkwardNames))
        let sources = base.appendingPathComponent("named").path
        for name in Self.awkwardNames {
            #expect(try hashOfFile(out + "/" + album + "/" + name) == hashOfFile(sources + "/" + name), "\(name)")
            let sidecar = try Data(contentsOf: URL(fileURLWithPath: out + "/" + album + "/metadata/" + name + ".json"))
            #expect((try JSONSerialization.jsonObject(with: sidecar) as? [String: Any])?["title"] as? String == name)
        }
        // The text summary says nothing of renaming.
        let text = try Keepsake.run(["export", "--to", base.appendingPathComponent("text").path, "--library", library])
        #expect(text.status == 0 && text.stdoutText.contains("files in") && !text.stdoutText.contains("renamed"), "\(text.stdoutText)")
    }

    /// An export folder whose names were changed by the old rules (`:`, `?` to `_`, album folder too): a rerun finds
    /// every file where its state says, by item and original, and exports nothing again under the new names.
    @Test func anExportFolderNamedByTheOldRulesIsNotExportedAgain() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-export")
        let library = base.appendingPathComponent("lib").path
        try ingest(["a:b?.jpg", "plain.jpg"], album: "Trip: Tokyo?", into: library, base: base)
        let out = base.appendingPathComponent("out").path
        #expect(try ExportRun(library: library, to: out).summary["exported"] as? Int == 2)

        // What the previous version wrote: `Trip_ Tokyo_/a_b_.jpg` and its sidecar, and a state that says so.
        let fm = FileManager.default
        try fm.moveItem(atPath: out + "/Trip: Tokyo?", toPath: out + "/Trip_ Tokyo_")
        try fm.moveItem(atPath: out + "/Trip_ Tokyo_/a:b?.jpg", toPath: out + "/Trip_ Tokyo_/a_b_.jpg")
        try fm.moveItem(atPath: out + "/Trip_ Tokyo_/metadata/a:b?.jpg.json", toPath: out + "/Trip_ Tokyo_/metadata/a_b_.jpg.json")
        let statePath = out + "/.keepsake-export.json"
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any])
        state["folders"] = [["album": "Trip: Tokyo?", "folder": "Trip_ Tokyo_"]]
        state["files"] = try #require(state["files"] as? [[String: Any]]).map { file in
            var file = file
            file["path"] = (file["path"] as? String == "Trip: Tokyo?/a:b?.jpg") ? "Trip_ Tokyo_/a_b_.jpg" : "Trip_ Tokyo_/plain.jpg"
            return file
        }
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))

        let rerun = try ExportRun(library: library, to: out)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.summary["exported"] as? Int == 0 && rerun.summary["adopted"] as? Int == 0, "\(rerun.summary)")
        #expect(rerun.summary["alreadyExported"] as? Int == 2 && rerun.summary["trashed"] as? Int == 0)
        #expect((rerun.summary["renamed"] as? [Any])?.isEmpty == true)
        #expect(try visibleEntries(out) == ["Trip_ Tokyo_"])
        #expect(try visibleEntries(out + "/Trip_ Tokyo_") == ["a_b_.jpg", "metadata", "plain.jpg"])
        // A file of that album gone from the folder is written again where the state says, not under a new name.
        try fm.removeItem(atPath: out + "/Trip_ Tokyo_/a_b_.jpg")
        let again = try ExportRun(library: library, to: out)
        #expect(again.summary["exported"] as? Int == 1 && again.files.first?["path"] as? String == "Trip_ Tokyo_/a_b_.jpg")
        #expect(try visibleEntries(out + "/Trip_ Tokyo_") == ["a_b_.jpg", "metadata", "plain.jpg"])
    }

    // MARK: Bounded memory

    /// Export after the unlock of a 96 MiB file stays under two thirds of the file: it cannot have read it whole.
    /// (The unlock's Argon2id transient is the whole-run peak of any command, so only what comes after it is measured.
    /// A small file is no baseline: its export ends within a sampling interval of the unlock.)
    @Test(.enabled(if: MemoryProfile.isAvailable, "needs /usr/bin/time"))
    func aBigFileStreamsThroughExportInChunks() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-export")
        let library = base.appendingPathComponent("lib").path
        let clip = TestEnvironment.samples.appendingPathComponent("media/android/androidx-media__sample_sef_slow_motion.mp4").path
        // The clip with 96 MiB after it: still a video by its bytes, stored bit-exact like any other.
        let big = base.appendingPathComponent("big").path
        try FileManager.default.createDirectory(atPath: big, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: clip, toPath: big + "/big.mp4")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big + "/big.mp4"))
        try handle.seekToEnd()
        let block = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) })
        for _ in 0..<96 { try handle.write(contentsOf: block) }
        try handle.close()
        #expect(try Keepsake.run(["ingest", big, "--library", library, "--album-per-folder"]).status == 0)

        let out = base.appendingPathComponent("out").path
        let run = try MemoryProfile.measure(["export", "--to", out, "--album", "big", "--library", library])
        #expect(run.result.status == 0, "\(run.result.stderrText)")
        print("peak memory of export after the unlock: \(run.afterUnlockPeakKiB / 1024) MiB for a 96 MiB file "
              + "(\(run.afterUnlockSamples) samples)")
        #expect(run.afterUnlockSamples >= 5)
        #expect(run.afterUnlockPeakKiB < 64 * 1024, "the big file streams through in chunks")
        #expect(try hashOfFile(out + "/big/big.mp4") == hashOfFile(big + "/big.mp4"))
    }

    // MARK: Leaving an album

    @Test func filesThatLeaveAnAlbumOrTheLibraryMoveToTrashAndNameClashesGetNumbers() throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-export")
        let library = base.appendingPathComponent("lib").path
        let images = try sampleImages()
        // Three files, two of them both named photo.jpg (from two folders).
        let sources = base.appendingPathComponent("src").path
        for (index, image) in images.prefix(3).enumerated() {
            let folder = sources + (index == 2 ? "/b" : "/a")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: image, toPath: folder + (index == 0 ? "/keep.jpg" : "/photo.jpg"))
        }
        #expect(try Keepsake.run(["ingest", sources, "--library", library, "--album", "A"]).status == 0)
        let albumB = try copy([images[3]], to: base.appendingPathComponent("albumB").path)
        #expect(try Keepsake.run(["ingest", albumB, "--library", library, "--album", "B"]).status == 0)
        let out = base.appendingPathComponent("out").path
        #expect(try ExportRun(library: library, to: out).summary["exported"] as? Int == 4)
        #expect(try visibleFiles(out + "/A") == ["keep.jpg", "photo(1).jpg", "photo.jpg"])

        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        let originals = try opened.index.items().flatMap { try opened.index.originals(of: $0.id) }
        let first = try #require(originals.first { $0.sourcePath.description.hasSuffix("a/photo.jpg") })
        let other = try #require(originals.first { $0.sourcePath.description.hasSuffix("b/photo.jpg") })
        let exportedFirst = try hashOfFile(out + "/A/photo.jpg") == first.blake2b ? "photo.jpg" : "photo(1).jpg"
        let exportedOther = exportedFirst == "photo.jpg" ? "photo(1).jpg" : "photo.jpg"
        #expect(try opened.moveOutOfAlbum(itemId: first.itemId, albumName: "A"))
        try opened.markDeleted(itemId: other.itemId)

        // An export of album B alone leaves album A as it was.
        let onlyB = try ExportRun(library: library, to: out, album: "B")
        #expect(onlyB.summary["trashed"] as? Int == 0 && onlyB.summary["exported"] as? Int == 0)
        #expect(try visibleFiles(out + "/A") == ["keep.jpg", "photo(1).jpg", "photo.jpg"])

        let rerun = try ExportRun(library: library, to: out)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.summary["trashed"] as? Int == 2 && rerun.summary["exported"] as? Int == 1)
        #expect(try visibleEntries(out + "/A") == ["Trash", "keep.jpg", "metadata"])
        #expect(try visibleEntries(out + "/A/Trash") == ["metadata", "photo(1).jpg", "photo.jpg"])
        #expect(try hashOfFile(out + "/A/Trash/" + exportedFirst) == first.blake2b)
        #expect(try hashOfFile(out + "/A/Trash/" + exportedOther) == other.blake2b)
        #expect(try visibleFiles(out + "/A/Trash/metadata") == ["photo(1).jpg.json", "photo.jpg.json"])
        #expect(try visibleFiles(out + "/A/metadata") == ["keep.jpg.json"])
        // Out of its only album, the file is in Uncategorized now, and exported there.
        #expect(try visibleFiles(out + "/Uncategorized") == ["photo.jpg"])
        #expect(try hashOfFile(out + "/Uncategorized/photo.jpg") == first.blake2b)

        let again = try ExportRun(library: library, to: out)
        #expect(again.summary["trashed"] as? Int == 0 && again.summary["exported"] as? Int == 0)
        #expect(try Keepsake.run(["export", "--to", out, "--album", "No such album", "--library", library]).status == 2)
    }
}

// MARK: - Helpers

/// One `keepsake export --json` run: its exit status, its per-file lines and its summary.
struct ExportRun {
    var status: Int32
    var files: [[String: Any]]
    var summary: [String: Any]
    var stderr: String

    init(library: String, to out: String, album: String? = nil) throws {
        let result = try Keepsake.run(["export", "--to", out, "--library", library, "--json"] + (album.map { ["--album", $0] } ?? []))
        status = result.status
        stderr = result.stderrText
        let lines = try result.stdoutText.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        files = lines.filter { $0["summary"] == nil }
        summary = lines.last { $0["summary"] as? Bool == true } ?? [:]
    }
}

/// The corpus ingested once for these tests: with `--album-per-folder` (album `corpus`), then again into an album
/// whose name holds a `/` (the one byte of it a folder name cannot hold), so that every file is in two albums.
enum CorpusLibrary {
    static let album = "Trip: Tokyo/2024?"
    static let albumFolder = "Trip: Tokyo_2024?"

    static let path: Result<String, any Error> = Result {
        let corpus = try #require(TestEnvironment.corpus)
        let library = try TestEnvironment.makeTempDirectory("keepsake-export").appendingPathComponent("lib").path
        for albumArguments in [["--album-per-folder"], ["--album", album]] {
            let result = try Keepsake.run(["ingest", corpus.path, "--library", library] + albumArguments)
            // Status 1: the corpus holds a few files that are not media.
            guard result.status == 0 || result.status == 1 else { throw ProcessFailure(result.stderrText) }
        }
        return library
    }

    /// Per album folder, the exported names and their BLAKE2b, from the library's index.
    static func expectedFolders() throws -> [String: [String: String]] {
        let library = try Library.open(at: try path.get(), passphrase: "test passphrase", create: false)
        var folders: [String: [String: String]] = [:]
        for item in try library.index.items() {
            let albums = try library.index.albumNames(of: item.id)
            #expect(albums == ["Trip: Tokyo/2024?", "corpus"])
            for original in try library.index.originals(of: item.id) {
                #expect(folders["corpus", default: [:]][original.name.description] == nil, "\(original.name) is unique in the corpus")
                folders["corpus", default: [:]][original.name.description] = original.blake2b
                folders[albumFolder, default: [:]][original.name.description] = original.blake2b
            }
        }
        return folders
    }

    static func sourcePaths() throws -> [String: String] {
        let library = try Library.open(at: try path.get(), passphrase: "test passphrase", create: false)
        var paths: [String: String] = [:]
        for item in try library.index.items() {
            for original in try library.index.originals(of: item.id) { paths[original.name.description] = original.sourcePath.description }
        }
        return paths
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// expected.json's capture times and places (exiftool's view of the corpus).
struct CorpusReference {
    var takenSeconds: Int64?
    var gps: (Double, Double)?

    /// Where the library's metadata and exiftool disagree for reasons the metadata tests document.
    static let acceptedDifferences: [String: String] = [
        "metadata-extractor-images__Sony ILCE-7M3 (A7M3).mts|time": "date kept in H.264 SEI MDPM, which libavformat does not expose",
        "metadata-extractor-images__FLIR iPhone device.jpg|time": "exiftool reads FLIR's proprietary FFF record",
        "metadata-extractor-images__FLIR iPhone device.jpg|gps": "exiftool reads FLIR's proprietary FFF record",
        "metadata-extractor-images__FLIR Thermal.mp4|gps": "libavformat's ©xyz has 4 decimals, exiftool a finer copy",
    ]

    static func load() throws -> [String: CorpusReference] {
        let corpus = try #require(TestEnvironment.corpus)
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("expected.json"))) as? [[String: Any]] ?? []
        var result: [String: CorpusReference] = [:]
        for entry in entries {
            guard let file = entry["file"] as? String else { continue }
            var reference = CorpusReference()
            reference.takenSeconds = (entry["datetime_original"] as? String).flatMap {
                unixSeconds(exiftool: $0, offsetTime: entry["offset_time"] as? String)
            }
            if let pair = entry["gps"] as? [NSNumber], pair.count == 2, !(pair[0].doubleValue == 0 && pair[1].doubleValue == 0) {
                reference.gps = (pair[0].doubleValue, pair[1].doubleValue)
            }
            result[file] = reference
        }
        return result
    }

    /// exiftool's `YYYY:MM:DD HH:MM:SS[.fff][±HH:MM|Z][ DST]` (or the offset in `offsetTime`) as Unix seconds;
    /// a time with no offset is read as UTC, as the export does.
    static func unixSeconds(exiftool text: String, offsetTime: String?) -> Int64? {
        let scanner = Array(text)
        guard scanner.count >= 19 else { return nil }
        let digits = { (range: Range<Int>) in Int(String(scanner[range])) }
        guard let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
              let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19) else { return nil }
        var rest = String(scanner[19...]).replacingOccurrences(of: " DST", with: "")
        if rest.hasPrefix(".") { rest = String(rest.drop { $0 == "." || $0.isNumber }) }
        let offsetText = rest.isEmpty ? offsetTime : rest
        var offset = 0
        if let offsetText, offsetText != "Z" {
            let sign = offsetText.hasPrefix("-") ? -1 : 1
            let parts = offsetText.dropFirst().split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { return nil }
            offset = sign * (parts[0] * 3600 + parts[1] * 60)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour,
                                                            minute: minute, second: second)) else { return nil }
        return Int64(date.timeIntervalSince1970) - Int64(offset)
    }
}

/// The export is exactly `expected` (album folder → name → BLAKE2b): every file once, bit-exact, with its
/// sidecar, and nothing else: no partial files, no `(1)` copies, no Trash.
func expectComplete(_ out: String, _ expected: [String: [String: String]], sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(Set(try visibleEntries(out)) == Set(expected.keys), sourceLocation: sourceLocation)
    for (folder, files) in expected {
        #expect(Set(try visibleEntries(out + "/" + folder)) == Set(files.keys).union(["metadata"]), "\(folder)", sourceLocation: sourceLocation)
        #expect(Set(try visibleFiles(out + "/" + folder + "/metadata")) == Set(files.keys.map { $0 + ".json" }), sourceLocation: sourceLocation)
        for (name, hash) in files {
            #expect(try hashOfFile(out + "/" + folder + "/" + name) == hash, "\(folder)/\(name)", sourceLocation: sourceLocation)
        }
    }
    #expect(try partialFiles(out).isEmpty, sourceLocation: sourceLocation)
}

/// After a kill: whatever is visible is a complete, correct file under its expected name (partial files may remain
/// hidden under their temporary names until the next run).
func expectNothingWrongVisible(_ out: String, _ expected: [String: [String: String]]) throws {
    for (folder, files) in expected {
        for name in try visibleFiles(out + "/" + folder) {
            let hash = try #require(files[name], "unexpected \(folder)/\(name)")
            #expect(try hashOfFile(out + "/" + folder + "/" + name) == hash, "\(folder)/\(name) visible but not complete")
        }
    }
}

/// The names in `folder` that do not start with a dot, sorted; none when it does not exist.
func visibleEntries(_ folder: String) throws -> [String] {
    guard FileManager.default.fileExists(atPath: folder) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
}

/// The regular files among `visibleEntries`.
func visibleFiles(_ folder: String) throws -> [String] {
    try visibleEntries(folder).filter {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isFolder) && !isFolder.boolValue
    }
}

func partialFiles(_ out: String) throws -> [String] {
    (FileManager.default.enumerator(atPath: out)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".keepsake-partial") }
}

func hashOfFile(_ path: String) throws -> String {
    Blake2b.hash(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).hexString
}

/// Eight small photos from samples/ (no videos, so ingest is quick).
func sampleImages() throws -> [String] {
    let media = TestEnvironment.samples.appendingPathComponent("media").path
    let all = (FileManager.default.enumerator(atPath: media)?.compactMap { $0 as? String } ?? []).map { media + "/" + $0 }
    let images = all.filter { [".jpg", ".jpeg", ".heic"].contains(where: $0.lowercased().hasSuffix) && !$0.contains("edited") }.sorted()
    try #require(images.count >= 8, "samples/media has \(images.count) photos")
    return Array(images.prefix(8))
}

/// Copies `files` into a new folder `folder`; returns it.
func copy(_ files: [String], to folder: String) throws -> String {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for file in files { try FileManager.default.copyItem(atPath: file, toPath: folder + "/" + (file as NSString).lastPathComponent) }
    return folder
}

/// Starts `keepsake ARGUMENTS` with its output into the file `log`, and sends it SIGKILL as soon as `shouldKill`
/// (given the time since the start and the lines written so far) says so. Returns when it was killed, or nil when it
/// exited first (with status 0).
func runKilled(_ arguments: [String], log: String, shouldKill: (Duration, Int) -> Bool) throws -> Duration? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Keepsake.binary)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
    try Data().write(to: URL(fileURLWithPath: log))
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardError = FileHandle.nullDevice
    let start = ContinuousClock.now
    try process.run()
    var firstLine: ContinuousClock.Instant?
    while process.isRunning {
        let lines = (try? Data(contentsOf: URL(fileURLWithPath: log)))?.count { $0 == UInt8(ascii: "\n") } ?? 0
        if lines > 0, firstLine == nil { firstLine = .now }
        if shouldKill(firstLine.map { .now - $0 } ?? (.now - start), lines) {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { return .now - start }
            break
        }
        Thread.sleep(forTimeInterval: 0.005)
    }
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "an export that was not killed ends well")
    return nil
}
