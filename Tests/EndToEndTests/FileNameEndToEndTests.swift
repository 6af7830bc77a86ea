import FileSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store
import Testing
import TestSupport

/// Hostile names and places, made for real in a temp folder: names that are not UTF-8 or hold control characters,
/// a path over 4,096 bytes, and entries that are not regular files. Each is backed up, or counted and kept for `status`.
@Suite(.serialized) struct FileNameEndToEndTests {
    /// A JPEG header without a capture time of its own (so a sidecar's is taken); `salt` makes each copy unique.
    func jpeg(_ salt: Int) -> [UInt8] {
        [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9] + Array("salt \(salt)".utf8)
    }

    func write(_ bytes: [UInt8], in folder: Int32, name: [UInt8]) throws {
        let fd = PathOpener.withCString(name) { openat(folder, $0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        try #require(fd >= 0, "create \(BytePath(bytes: name)): \(Errno.current)")
        defer { close(fd) }
        #expect(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count)
    }

    func openFolder(_ path: String) throws -> Int32 { try PathOpener.open(BytePath(path), flags: O_RDONLY | O_DIRECTORY) }

    func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func originalNames(_ library: String) throws -> [[UInt8]] {
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        return try opened.index.items().flatMap { try opened.index.originals(of: $0.id) }.map(\.name.bytes).sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test func namesThatAreNotUTF8OrHoldControlCharactersAreStoredListedEscapedAndSurviveARebuild() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-names")
        defer { try? FileManager.default.removeItem(at: root) }
        let photos = root.appendingPathComponent("photos").path
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: false)
        let names: [[UInt8]] = [[0xFF, 0xFE] + Array(".jpg".utf8), Array("caf".utf8) + [0xE9] + Array(".jpg".utf8),
                                Array("line\nbreak.jpg".utf8), Array("tab\there.jpg".utf8), Array("bell\u{07}.jpg".utf8)]
        let folder = try openFolder(photos)
        defer { close(folder) }
        for (index, name) in names.enumerated() { try write(jpeg(index), in: folder, name: name) }
        // A darktable sidecar beside the Latin-1 name, itself named in Latin-1.
        let xmp = #"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:DateTimeOriginal="2001-02-03T04:05:06"/></rdf:RDF></x:xmpmeta>"#
        try write(Array(xmp.utf8), in: folder, name: names[1] + Array(".xmp".utf8))

        let library = root.appendingPathComponent("lib").path
        let ingest = try Keepsake.run(["ingest", photos, "--library", library, "--json"])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let summary = try #require(jsonLines(ingest.stdoutText).last)
        #expect(summary["images"] as? Int == names.count && summary["failed"] as? Int == 0, "\(summary)")
        let escaped: Set<String> = ["\\xFF\\xFE.jpg", "caf\\xE9.jpg", "line\\nbreak.jpg", "tab\\there.jpg", "bell\\x07.jpg"]
        let ingested = jsonLines(ingest.stdoutText).dropLast().compactMap { ($0["path"] as? String)?.split(separator: "/").last.map(String.init) }
        #expect(Set(ingested) == escaped)

        let list = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(list.status == 0)
        let entries = jsonLines(list.stdoutText)
        let listed = entries.flatMap { ($0["originals"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
        #expect(Set(listed) == escaped)
        let cafe = try #require(entries.first { ($0["originals"] as? [[String: Any]])?.first?["name"] as? String == "caf\\xE9.jpg" })
        #expect(cafe["captureTime"] as? String == "2001-02-03T04:05:06" && cafe["timeSource"] as? String == "xmp", "\(cafe)")

        let verify = try Keepsake.run(["verify", "--read-data", "--library", library])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        let sorted = names.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(try originalNames(library) == sorted)

        // The index rebuilt from the store's journal gives back the same bytes.
        for file in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] { try? FileManager.default.removeItem(atPath: library + "/" + file) }
        let relist = try Keepsake.run(["ls", "--json", "--library", library])
        #expect(relist.status == 0, "\(relist.stderrText)")
        #expect(try originalNames(library) == sorted)
        #expect(try Keepsake.run(["verify", "--read-data", "--library", library]).status == 0)

        // Exported onto this machine's own file system (which holds any byte but '/' and NUL), every name comes back
        // byte for byte with its content, and the summary says nothing was renamed.
        let target = root.appendingPathComponent("export").path
        let export = try Keepsake.run(["export", "--to", target, "--library", library, "--json"])
        #expect(export.status == 0, "\(export.stdoutText)\(export.stderrText)")
        let exportSummary = try #require(jsonLines(export.stdoutText).last)
        #expect((exportSummary["renamed"] as? [Any])?.isEmpty == true, "\(exportSummary)")
        let uncategorized = try openFolder(target + "/Uncategorized")
        defer { close(uncategorized) }
        for (index, name) in names.enumerated() {
            let fd = PathOpener.withCString(name) { openat(uncategorized, $0, O_RDONLY | O_CLOEXEC) }
            #expect(fd >= 0, "\(BytePath(bytes: name)) was not exported under its own name")
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            #expect(count >= 0 && Array(buffer.prefix(max(count, 0))) == jpeg(index), "\(BytePath(bytes: name)) is not bit-exact")
        }
    }

    @Test func aFileUnderAPathOf5000BytesIsStored() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-long")
        defer { _ = try? runProcess("/bin/rm", ["-rf", root.path]) }  // FileManager cannot remove what it cannot name
        let deep = root.appendingPathComponent("deep").path
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: false)
        var folder = try openFolder(deep)
        var length = deep.utf8.count
        let component = Array(String(repeating: "d", count: 60).utf8)
        while length < 5_000 {
            #expect(PathOpener.withCString(component) { mkdirat(folder, $0, 0o755) } == 0)
            let next = try PathOpener.openAt(folder, component, flags: O_RDONLY | O_DIRECTORY)
            close(folder)
            folder = next
            length += component.count + 1
        }
        try write(jpeg(0), in: folder, name: Array("far.jpg".utf8))
        close(folder)

        let library = root.appendingPathComponent("lib").path
        let ingest = try Keepsake.run(["ingest", deep, "--library", library, "--json"])
        #expect(ingest.status == 0, "\(ingest.stdoutText)\(ingest.stderrText)")
        let summary = try #require(jsonLines(ingest.stdoutText).last)
        #expect(summary["images"] as? Int == 1 && summary["failed"] as? Int == 0, "\(summary)")
        let opened = try Library.open(at: library, passphrase: "test passphrase", create: false)
        let original = try #require(try opened.index.items().first.flatMap { try opened.index.originals(of: $0.id).first })
        #expect(original.sourcePath.bytes.count > 5_000 && original.name == "far.jpg")
        #expect(try Keepsake.run(["verify", "--read-data", "--library", library]).status == 0)
    }

    @Test func everyEntryThatIsNotARegularFileIsCountedInTheSummaryAndListedByStatus() throws {
        let root = try TestEnvironment.makeTempDirectory("keepsake-odd")
        defer { try? FileManager.default.removeItem(at: root) }
        let odd = root.appendingPathComponent("odd").path
        try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: false)
        try Data(jpeg(0)).write(to: URL(fileURLWithPath: odd + "/photo.jpg"))
        #expect(mkfifo(odd + "/fifo", 0o644) == 0)
        let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let path = Array((odd + "/socket").utf8)
            raw.copyBytes(from: path.prefix(raw.count - 1))
        }
        #expect(withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0)
        try FileManager.default.createSymbolicLink(atPath: odd + "/null", withDestinationPath: "/dev/null")
        try FileManager.default.createSymbolicLink(atPath: odd + "/dangling", withDestinationPath: odd + "/nowhere")
        try FileManager.default.createSymbolicLink(atPath: odd + "/loop", withDestinationPath: "loop")

        let library = root.appendingPathComponent("lib").path
        let ingest = try Keepsake.run(["ingest", odd, "--library", library, "--json"])
        #expect(ingest.status == 1, "a file that could not be read fails the run")
        let summary = try #require(jsonLines(ingest.stdoutText).last)
        #expect(summary["images"] as? Int == 1 && summary["failed"] as? Int == 2, "\(summary)")
        let skipped = (summary["skipped"] as? [[String: String]] ?? []).reduce(into: [String: String]()) { $0[$1["path"]!] = $1["reason"] }
        #expect(skipped == [odd + "/fifo": "not a regular file: a FIFO", odd + "/socket": "not a regular file: a socket",
                            odd + "/null": "not a regular file: a symlink to a character device"])
        let failed = jsonLines(ingest.stdoutText).filter { $0["status"] as? String == "failed" }.compactMap { $0["path"] as? String }
        #expect(Set(failed) == [odd + "/dangling", odd + "/loop"])

        let text = try Keepsake.run(["ingest", odd, "--library", library])
        for line in ["skipped:     3 not regular files", "failed:      2 files", odd + "/dangling: cannot read: dangling symlink",
                     odd + "/loop: cannot read: symlink loop", odd + "/fifo: not a regular file: a FIFO"] {
            #expect(text.stdoutText.contains(line), "\(line) in \(text.stdoutText)")
        }

        let status = try Keepsake.run(["status", "--library", library])
        #expect(status.status == 0)
        for name in ["fifo", "socket", "null", "dangling", "loop"] {
            #expect(status.stdoutText.contains("    \(odd)/\(name): "), "\(name) in \(status.stdoutText)")
        }
        #expect(status.stdoutText.contains("failed:   2 files") && status.stdoutText.contains("skipped:  3 not regular files"))
    }
}
