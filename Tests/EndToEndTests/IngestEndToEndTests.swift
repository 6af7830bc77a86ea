import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeepsakeCrypto
@testable import Store
import Testing
import TestSupport

/// `keepsake ingest` as a user runs it, on `samples/media`, with the library opened afterwards to check
/// what is in the store.
@Suite(.serialized) struct IngestEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    func sampleFiles() throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: samples)!
        return enumerator.compactMap { $0 as? String }.map { samples + "/" + $0 }
            .filter { var dir: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &dir) && !dir.boolValue }
            .sorted()
    }

    @Test func ingestStoresEveryOriginalBitExactAndARerunStoresNothing() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let first = try Keepsake.run(["ingest", samples, "--library", library, "--album-per-folder", "--json"])
        #expect(first.status == 0, "\(first.stderrText)")
        let lines = first.stdoutText.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let summary = try #require(lines.last)
        #expect(summary["summary"] as? Bool == true)
        #expect(summary["failed"] as? Int == 0 && summary["rejected"] as? Int == 0)

        // Every original decrypts to the exact bytes of its source.
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        var checked = Set<String>()
        for item in try opened.index.items() {
            let key = try opened.fileKey(of: item.id)
            for original in try opened.index.originals(of: item.id) {
                var plaintext = Data()
                try opened.readDecrypted(ObjectName(original.objectName), key: key) { plaintext.append(contentsOf: $0) }
                #expect(plaintext == FileManager.default.contents(atPath: original.sourcePath.description), "\(original.sourcePath)")
                #expect(Blake2b.hash(Array(plaintext)).hexString == original.blake2b)
                checked.insert(original.sourcePath.description)
            }
            #expect(try opened.index.albumNames(of: item.id).count == 1)
        }
        #expect(checked == Set(try sampleFiles()))

        let second = try Keepsake.run(["ingest", samples, "--library", library, "--album-per-folder", "--json", "--rehash"])
        #expect(second.status == 0)
        let again = try #require(second.stdoutText.split(separator: "\n").last.flatMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        })
        #expect(again["bytesStored"] as? Int == 0)
        let items = (summary["images"] as! Int) + (summary["videos"] as! Int) + (summary["livePhotos"] as! Int) + (summary["motionPhotos"] as! Int)
        #expect(again["duplicates"] as? Int == summary["files"] as? Int, "every file of the rerun is a duplicate")
        #expect(try opened.index.items().count == items)

        // The same files into another album are references, not new objects.
        let objectsBefore = try opened.store.list(prefix: "data/").count
        let third = try Keepsake.run(["ingest", samples, "--library", library, "--album", "Everything"])
        #expect(third.status == 0)
        #expect(try opened.store.list(prefix: "data/").count == objectsBefore)
        #expect(try opened.index.items(inAlbum: "Everything").count == items)

        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains("no problems found"))
    }

    /// A planted fault in the media worker (with `--worker-timeout 2`), and the reason the file then fails with
    /// (also what `status` says of it); the daemon's tests plant the same.
    static let workerFaults = [("KEEPSAKE_TEST_WORKER_ABORT_ON", "the media worker crashed: killed by signal \(SIGABRT) (SIGABRT)"),
                               ("KEEPSAKE_TEST_WORKER_HANG_ON", "the media worker hung: no answer within 2 s; killed")]

    /// The media work runs in `keepsake worker` processes: a decoder that crashes or hangs on a file costs that file,
    /// which the next run takes again.
    @Test(arguments: workerFaults)
    func aWorkerThatCrashesOrHangsCostsOneFile(variable: String, reason: String) throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-worker-fault")
        defer { try? FileManager.default.removeItem(at: base) }
        let folder = base.appendingPathComponent("in").path, library = base.appendingPathComponent("lib").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let names = ["osxphotos__Pumkins1.jpg", "osxphotos__wedding.jpg", "osxphotos__Tulips.jpg"]
        for name in names { try FileManager.default.copyItem(atPath: samples + "/cameras/" + name, toPath: folder + "/" + name) }
        let bad = folder + "/osxphotos__wedding.jpg"

        let faulty = try Keepsake.run(["ingest", folder, "--library", library, "--json", "--worker-timeout", "2"],
                                      environment: [variable: "osxphotos__wedding.jpg"])
        #expect(faulty.status == 1, "\(faulty.stderrText)")
        let lines = faulty.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let failed = lines.filter { $0["status"] as? String == "failed" }
        #expect(failed.map { $0["path"] as? String } == [bad])
        #expect(failed.first?["reason"] as? String == reason)
        #expect(lines.last?["images"] as? Int == 2 && lines.last?["failed"] as? Int == 1, "the run went on")
        let status = try Keepsake.run(["status", "--library", library]).stdoutText
        #expect(status.contains("\(bad): \(reason)"), "\(status)")

        let again = try Keepsake.run(["ingest", folder, "--library", library, "--json"])
        #expect(again.status == 0, "\(again.stderrText)")
        #expect(try Keepsake.run(["ls", "--json", "--library", library]).stdoutText.split(separator: "\n").count == 3)
    }

    /// The process holding the keys maps no media library (their ~45 MB would not fit beside the Argon2id unlock's
    /// 256 MiB in 300 MB); `keepsake worker` becomes `keepsake-media`, which does.
    @Test func onlyTheMediaEngineLinksTheMediaLibraries() throws {
        func libraries(_ binary: String) throws -> String { try runProcess("ldd", [binary]).stdoutText }
        let media = ["libavcodec", "libavformat", "libheif", "libexif", "libjpeg", "liblcms2"]
        let keepsake = try libraries(Keepsake.binary)
        #expect(keepsake.contains("libsodium") && media.allSatisfy { !keepsake.contains($0) }, "\(keepsake)")
        let engine = try libraries((Keepsake.binary as NSString).deletingLastPathComponent + "/keepsake-media")
        #expect(media.allSatisfy { engine.contains($0) }, "\(engine)")
    }

    @Test func theStoreHoldsNoPlaintext() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let result = try Keepsake.run(["ingest", samples, "--library", library, "--album", "Holiday in Tokyo"])
        #expect(result.status == 0, "\(result.stderrText)")
        var needles: [(String, [UInt8])] = [("album name", Array("Holiday in Tokyo".utf8))]
        for file in try sampleFiles() {
            let name = (file as NSString).lastPathComponent
            needles.append(("file name \(name)", Array(name.utf8)))
            let bytes = Array(FileManager.default.contents(atPath: file)!)
            needles.append(("64 bytes from the middle of \(name)", Array(bytes[bytes.count / 2 ..< bytes.count / 2 + 64])))
            needles.append(("hash of \(name)", Array(Blake2b.hash(bytes).hexString.utf8)))
        }
        // The derived media, which must not be anywhere in the library folder (its local index included):
        // bytes of every decrypted thumbnail, and every stream's playlist and segment key.
        var derived: [(String, [UInt8])] = []
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        var streams = 0
        for item in try opened.index.items() {
            let key = try opened.fileKey(of: item.id)
            if let thumbnail = item.thumbnailObject {
                var jpeg = [UInt8]()
                try opened.readDecrypted(ObjectName(thumbnail), key: key) { jpeg.append(contentsOf: $0) }
                derived.append(("thumbnail of \(item.id)", Array(jpeg[jpeg.count / 2 ..< jpeg.count / 2 + 64])))
            }
            if let rendition = item.renditionObject {
                var jpeg = [UInt8]()
                try opened.readDecrypted(ObjectName(rendition), key: key) { jpeg.append(contentsOf: $0) }
                derived.append(("rendition of \(item.id)", Array(jpeg[jpeg.count / 2 ..< jpeg.count / 2 + 64])))
            }
            if let playlist = item.playlistObject, let stream = item.streamObject {
                var text = [UInt8]()
                try opened.readDecrypted(ObjectName(playlist), key: key) { text.append(contentsOf: $0) }
                let segmentKey = try #require(String(decoding: text, as: UTF8.self).split(separator: "\"").first { $0.hasPrefix("data:") })
                derived.append(("segment key of \(item.id)", Array(segmentKey.utf8)))
                derived.append(("playlist of \(item.id)", Array("#EXTM3U".utf8)))
                let ts = try opened.store.get(ObjectName(stream))
                #expect(!(ts[0] == 0x47 && ts[188] == 0x47 && ts[376] == 0x47), "the stream object of \(item.id) is plaintext MPEG-TS")
                streams += 1
            }
        }
        #expect(streams >= 3, "the samples' videos have streams to check")
        for path in FileManager.default.enumerator(atPath: library)!.compactMap({ $0 as? String }) {
            let full = library + "/" + path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let contents = FileManager.default.contents(atPath: full)!
            let inStore = path.hasPrefix("store/")
            for (what, needle) in (inStore ? needles : []) + derived {
                #expect(!contains(contents, needle), "\(what) found in \(path)")
                #expect(!path.contains(String(decoding: needle, as: UTF8.self)), "\(what) in an object name")
            }
        }
    }

    @Test func aWrongPassphraseIsExitStatus3() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let file = try sampleFiles().first { $0.hasSuffix("tokyo.jpg") }!
        #expect(try Keepsake.run(["ingest", file, "--library", library]).status == 0)
        for command in [["ls"], ["status"], ["verify"], ["ingest", file]] {
            let result = try Keepsake.run(command + ["--library", library], passphrase: "not the passphrase")
            #expect(result.status == 3, "\(command)")
            #expect(result.stderrText.contains("wrong passphrase"))
        }
        #expect(throws: LibraryError.self) { try Library.open(at: library, passphrase: "not the passphrase", create: false) }
    }

    @Test func aFlippedOrTruncatedObjectIsATypedErrorNeverGarbage() throws {
        let library = try TestEnvironment.makeTempDirectory().appendingPathComponent("lib").path
        let file = try sampleFiles().first { $0.hasSuffix("IMG_3539.MOV") }!
        #expect(try Keepsake.run(["ingest", file, "--library", library]).status == 0)
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        let item = try #require(try opened.index.items().first)
        let original = try #require(try opened.index.originals(of: item.id).first)
        let key = try opened.fileKey(of: item.id)
        let objectPath = try #require(FileManager.default.enumerator(atPath: Library.storePath(library: library))!
            .compactMap { $0 as? String }.first { $0.hasSuffix(String(original.objectName.split(separator: "/").last!)) })
        let full = Library.storePath(library: library) + "/" + objectPath
        let pristine = try Data(contentsOf: URL(fileURLWithPath: full))

        var flipped = pristine
        flipped[pristine.count / 2] ^= 0x20
        try flipped.write(to: URL(fileURLWithPath: full))
        // The object's recorded digest tells damage in the store from a wrong key, naming the object and its role.
        func mismatch(_ reason: String) -> String {
            "item \(item.id), original object \(original.objectName): the store returned something other than what was stored (\(reason))"
        }
        func readError() -> String {
            do { try opened.readDecrypted(ObjectName(original.objectName), key: key) { _ in } } catch { return "\(error)" }
            return "no error"
        }
        #expect(readError() == mismatch("its BLAKE2b does not match"))
        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 1)
        #expect(verify.stdoutText.contains("original object \(original.objectName): the store returned something other than"), "\(verify.stdoutText)")

        try pristine.prefix(pristine.count - 100).write(to: URL(fileURLWithPath: full))
        #expect(readError() == mismatch("\(pristine.count - 100) bytes, where \(pristine.count) were stored"))
        try pristine.prefix(SecretStreamFormat.headerByteCount).write(to: URL(fileURLWithPath: full))
        #expect(readError() == mismatch("\(SecretStreamFormat.headerByteCount) bytes, where \(pristine.count) were stored"))
        // With a key that does not fit, intact bytes are a decryption error, not a mismatch.
        try pristine.write(to: URL(fileURLWithPath: full))
        #expect(throws: CryptoError.self) { try opened.readDecrypted(ObjectName(original.objectName), key: SecretKey()) { _ in } }

        try pristine.write(to: URL(fileURLWithPath: full))
        #expect(try Keepsake.run(["verify", "--read-data", "--library", library]).status == 0)
    }

    @Test func usageErrorsAreExitStatus2() throws {
        #expect(try Keepsake.run(["ingest", samples, "--album", "A", "--album-per-folder"]).status == 2)
        #expect(try Keepsake.run(["ingest", "/no/such/folder", "--library", "/tmp/unused"]).status == 2)
        #expect(try Keepsake.run(["frobnicate"]).status == 2)
        let noPassphrase = try Keepsake.run(["ingest", samples, "--library", "/tmp/unused"], passphrase: "")
        #expect(noPassphrase.status == 2)
        #expect(noPassphrase.stderrText.contains("no passphrase"))
    }

    private func contains(_ haystack: Data, _ needle: [UInt8]) -> Bool {
        haystack.range(of: Data(needle)) != nil
    }
}
