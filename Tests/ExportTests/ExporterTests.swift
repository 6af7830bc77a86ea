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
    func commit(_ bytes: [UInt8], name: String, size: Int64? = nil, blake2b: String? = nil, into library: Library) throws {
        let key = SecretKey()
        let object = try library.putSealed(bytes, key: key)
        let original = OriginalRecord(itemId: "", role: "main", name: BytePath(name), sourcePath: BytePath("/" + name), size: size ?? Int64(bytes.count),
                                      blake2b: blake2b ?? Blake2b.hash(bytes).hexString, mimeType: "image/jpeg", objectName: object.path)
        _ = try library.commit(NewItem(type: .image, dedupHash: name, fileKey: key, originals: [original]), album: .uncategorized)
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
