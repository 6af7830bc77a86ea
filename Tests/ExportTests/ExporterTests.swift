import FileSystem
import Foundation
import KeepsakeCrypto
import Store
import Testing
import TestSupport
@testable import Export

@Suite struct ExporterTests {
    struct Silent: ExportObserver {
        func planned(files: Int, bytes: Int64) {}
        func started(exporting path: String) {}
        func wrote(bytes: Int64) {}
        func finished(_ outcome: ExportOutcome) {}
        func reported(_ outcome: ExportOutcome) {}
    }

    /// Commits a one-original item whose index entry claims `size` and `blake2b` for `bytes`.
    func commit(_ bytes: [UInt8], name: String, size: Int64? = nil, blake2b: String? = nil, album: AlbumTarget = .uncategorized,
                into library: Library) throws {
        let upload = library.beginUpload()
        let object = try upload.storeSealed(bytes, role: .original)
        let original = OriginalRecord(itemId: "", role: "main", name: BytePath(name), sourcePath: BytePath("/" + name), size: size ?? Int64(bytes.count),
                                      blake2b: blake2b ?? Blake2b.hash(bytes).hexString, mimeType: "image/jpeg", objectName: object.path)
        _ = try upload.commit(NewItem(type: .image, dedupHash: name, fileKey: upload.fileKey, originals: [original]), album: album)
    }

    @Test func anOriginalThatDoesNotMatchItsIndexEntryIsRefusedAndNotPutInPlace() throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let library = try Library.open(at: base + "/lib", passphrase: "pw", create: true)
        let good = Array("a good original".utf8), altered = Array("an altered original".utf8)
        let wrongHash = Blake2b.hash(Array("something else".utf8)).hexString
        try commit(good, name: "good.jpg", into: library)
        try commit(altered, name: "hash.jpg", blake2b: wrongHash, into: library)
        try commit(altered, name: "size.jpg", size: 5, into: library)

        let out = base + "/out"
        let summary = try Exporter(library: library, options: ExportOptions(target: out), observer: Silent()).run()
        #expect(summary.count(.exported) == 1)
        let reasons = Set(summary.failures.compactMap(\.reason))
        #expect(reasons == [
            ExportError.checksumMismatch(name: "hash.jpg", expected: wrongHash, actual: Blake2b.hash(altered).hexString).description,
            ExportError.sizeMismatch(name: "size.jpg", expected: 5, actual: Int64(altered.count)).description,
        ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/Uncategorized").sorted() == ["good.jpg", "metadata"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/Uncategorized/metadata") == ["good.jpg.json"])
        let state = try ExportState.load(from: out)
        #expect(state.files.map(\.path) == ["Uncategorized/good.jpg"])
    }

    @Test func originalsSwappedInTheStoreAreRefusedAsNotWhatWasStored() throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let library = try Library.open(at: base + "/lib", passphrase: "pw", create: true)
        try commit(Array("first original".utf8), name: "first.jpg", into: library)
        try commit(Array("other original".utf8), name: "other.jpg", into: library)
        let objects = try library.index.allItems().flatMap { try library.index.originals(of: $0.id).map(\.objectName) }
        #expect(objects.count == 2)
        func file(_ object: String) -> String {
            let hex = object.dropFirst("data/".count)
            return base + "/lib/store/data/\(hex.prefix(2))/\(hex)"
        }
        let fm = FileManager.default
        try fm.moveItem(atPath: file(objects[0]), toPath: file(objects[0]) + ".swap")
        try fm.moveItem(atPath: file(objects[1]), toPath: file(objects[0]))
        try fm.moveItem(atPath: file(objects[0]) + ".swap", toPath: file(objects[1]))

        let summary = try Exporter(library: library, options: ExportOptions(target: base + "/out"), observer: Silent()).run()
        #expect(summary.count(.exported) == 0)
        let reasons = summary.failures.compactMap(\.reason).sorted()
        #expect(reasons.count == 2)
        for object in objects {
            #expect(reasons.contains { $0.contains("original object \(object): the store returned something other than what was stored") },
                    "\(reasons)")
        }
        #expect(!fm.fileExists(atPath: base + "/out/Uncategorized/first.jpg") && !fm.fileExists(atPath: base + "/out/Uncategorized/other.jpg"))
    }

    /// The names of the files in `folder` as their bytes, sorted.
    func entries(in folder: String) -> [[UInt8]] {
        DurableFile.names(in: BytePath(folder)).sorted { $0.lexicographicallyPrecedes($1) }
    }

    func title(ofSidecar path: BytePath) throws -> String? {
        let data = try #require(try DurableFile.contents(of: path))
        return try (JSONSerialization.jsonObject(with: data) as? [String: Any])?["title"] as? String
    }

    @Test func onAWindowsLikeTargetEachChangedNameIsListedAndTheSidecarKeepsTheOriginal() throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let library = try Library.open(at: base + "/lib", passphrase: "pw", create: true)
        let names = ["a:b?.jpg", "tab\there.jpg", "x\\y.jpg", "trailing.", "CON.jpg", "IMG.JPG", "img.jpg", "plain.jpg"]
        for (index, name) in names.enumerated() { try commit(Array("photo \(index)".utf8), name: name, into: library) }
        try commit(Array("in an album".utf8), name: "ok.jpg", album: .named("Trip: Tokyo"), into: library)

        var options = ExportOptions(target: base + "/out")
        options.fileSystem = .vfat
        let summary = try Exporter(library: library, options: options, observer: Silent()).run()
        #expect(summary.count(.exported) == names.count + 1 && summary.failures.isEmpty)
        #expect(summary.fileSystem == "vfat")
        let clash = try #require(summary.renamed.first { $0.why == "another file in the folder has that name" })
        #expect(["img.jpg → Uncategorized/img(1).jpg", "IMG.JPG → Uncategorized/IMG(1).JPG"].contains("\(clash.original) → \(clash.written)"))
        #expect(summary.renamed.filter { $0 != clash }.map(\.description) == [
            "album Trip: Tokyo → Trip_ Tokyo (: is not allowed on vfat)",
            "CON.jpg → Uncategorized/_CON.jpg (CON is a device name on Windows)",
            "a:b?.jpg → Uncategorized/a_b_.jpg (: is not allowed on vfat; ? is not allowed on vfat)",
            "tab\\there.jpg → Uncategorized/tab_here.jpg (control characters are not allowed on vfat)",
            "trailing. → Uncategorized/trailing (a name cannot end in a dot or space on vfat)",
            "x\\\\y.jpg → Uncategorized/x_y.jpg (\\ is not allowed on vfat)",
        ])
        let written = ["_CON.jpg", "a_b_.jpg", "tab_here.jpg", "trailing", "x_y.jpg", "plain.jpg", clash.written.dropFirst(14).description,
                       clash.written.contains("IMG") ? "img.jpg" : "IMG.JPG"]
        #expect(entries(in: base + "/out/Uncategorized") == (written + ["metadata"]).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(entries(in: base + "/out/Trip_ Tokyo") == ["metadata", "ok.jpg"].map { Array($0.utf8) })
        let state = try ExportState.load(from: base + "/out")
        for file in state.files {
            let original = try #require(try library.index.originals(of: file.key.itemId).first)
            #expect(try title(ofSidecar: ExportPaths(target: BytePath(base + "/out")).sidecar(of: file.path)) == original.name.string)
        }
    }

    @Test func aNameThatIsNotUTF8IsWrittenAndRecordedAsItsBytesAndChangedOnlyWhereTheTargetNeedsIt() throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let library = try Library.open(at: base + "/lib", passphrase: "pw", create: true)
        let content = Array("a photo".utf8)
        try commit(content, name: "placeholder.jpg", into: library)
        // The index holds names as text today: the plan is given the name as discovery will read it.
        let name = Array("caf".utf8) + [0xE9] + Array("\n.jpg".utf8)
        let planning = { (library: Library, album: String?) throws -> [PlannedFile] in
            try ExportPlan.files(in: library, album: album).map { var file = $0; file.name = name; return file }
        }
        let ext4 = TargetFileSystem(name: "ext4", windowsRules: false, caseInsensitive: false)
        for (target, expected) in [(ext4, name), (.vfat, Array("café_.jpg".utf8))] {
            let out = base + "/" + target.name
            var options = ExportOptions(target: out)
            options.fileSystem = target
            let summary = try Exporter(library: library, options: options, observer: Silent()).run(planning: planning)
            #expect(summary.count(.exported) == 1 && summary.failures.isEmpty)
            #expect(entries(in: out + "/Uncategorized") == [Array("metadata".utf8), expected].sorted { $0.lexicographicallyPrecedes($1) })
            let path = BytePath(out + "/Uncategorized").appending(expected)
            #expect(try DurableFile.contents(of: path) == Data(content))
            #expect(entries(in: out + "/Uncategorized/metadata") == [expected + Array(".json".utf8)])
            #expect(try title(ofSidecar: ExportPaths(target: BytePath(out)).sidecar(of: BytePath("Uncategorized").appending(expected)))
                    == "café\n.jpg")
            #expect(try ExportState.load(from: out).files.map(\.path) == [BytePath("Uncategorized").appending(expected)])
            if target == ext4 {
                #expect(summary.renamed.isEmpty)
            } else {
                #expect(summary.renamed.map(\.description) == [
                    "caf\\xE9\\n.jpg → Uncategorized/café_.jpg (not UTF-8, which vfat requires: read as Latin-1; "
                        + "control characters are not allowed on vfat)",
                ])
            }
            // A rerun finds it in place, under its bytes.
            let again = try Exporter(library: library, options: options, observer: Silent()).run(planning: planning)
            #expect(again.count(.exported) == 0 && again.alreadyExported == 1 && again.renamed.isEmpty)
        }
    }

    @Test func aSecondExportIntoTheSameFolderAtOnceIsRefused() throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let library = try Library.open(at: base + "/lib", passphrase: "pw", create: true)
        let lock = try ExportLock(folder: base)
        #expect(throws: ExportError.targetLocked(base)) {
            try Exporter(library: library, options: ExportOptions(target: base), observer: Silent()).run()
        }
        withExtendedLifetime(lock) {}
    }

    @Test func aDamagedOrEscapingStateFileIsRefused() throws {
        let base = try TestEnvironment.makeTempDirectory().path
        let path = base + "/" + ExportState.fileName
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ExportError.self) { try ExportState.load(from: base) }
        let escaping = """
            {"version":1,"folders":[],"files":[{"key":{"itemId":"x","role":"main"},"path":"../../etc/passwd","size":1,"blake2b":"00"}]}
            """
        try Data(escaping.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ExportError.stateDamaged(path: path, reason: "../../etc/passwd is not FOLDER/NAME")) {
            try ExportState.load(from: base)
        }
    }
}
