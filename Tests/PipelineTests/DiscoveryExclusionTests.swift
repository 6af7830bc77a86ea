import FileSystem
import Foundation
import Pipeline
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The walk with `--exclude` patterns and `.keepsakeignore` files in the folders (no media needed: the walk lists
/// names, it does not read them).
struct DiscoveryExclusionTests {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-exclude-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func make(_ files: [String], ignores: [String: String] = [:]) throws {
        for file in files {
            let url = root.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        for (folder, text) in ignores {
            let url = root.appendingPathComponent(folder).appendingPathComponent(Exclusions.fileName)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    func walk(_ exclude: [String] = []) -> (names: Set<String>, skips: DiscoverySkips) {
        let (files, skips) = Discovery.walk([BytePath(root.path)], exclude: exclude)
        return (Set(files.map { String($0.path.description.dropFirst(root.path.count + 1)) }), skips)
    }

    @Test func nestedIgnoreFilesApplyBelowTheirFolderAndDeeperOnesWin() throws {
        try make(["a.jpg", "a.mov", "keep.mov", "trip/b.jpg", "trip/b.mov", "trip/raw/c.dng", "trip/raw/d.jpg",
                  "trip/sub/e.mov", "other/f.mov", "other/g.jpg", "cache/h.jpg", "trip/cache/i.jpg"],
                 ignores: ["": "# videos stay on the camera\n*.mov\n!keep.mov\n/cache/\n",
                           "trip": "raw/*.dng\n!sub/*.mov\n",
                           "other": "!*.mov\ng.jpg\n"])
        let (names, skips) = walk()
        #expect(names == ["a.jpg", "keep.mov", "trip/b.jpg", "trip/raw/d.jpg", "trip/sub/e.mov", "other/f.mov", "trip/cache/i.jpg"])
        // a.mov, trip/b.mov, trip/raw/c.dng, other/g.jpg; and the folder cache (anchored: not trip/cache).
        #expect(skips.excludedFiles == 4)
        #expect(skips.excludedFolders == 1)
        #expect(skips.hidden == 3, "the ignore files themselves are hidden files, not media")
        #expect(skips.unreadable.isEmpty)
    }

    @Test func commandLinePatternsAreRootedAtTheFolderGivenAndWinOverIgnoreFiles() throws {
        try make(["a.jpg", "b.png", "sub/a.jpg", "sub/c.png", "Screenshots/s.png"], ignores: ["sub": "!*.png\n"])
        let (names, skips) = walk(["/a.jpg", "*.png", "Screenshots/"])
        #expect(names == ["sub/a.jpg"])
        #expect(skips.excludedFiles == 3)
        #expect(skips.excludedFolders == 1)
        #expect(walk().names.count == 5, "without the patterns, everything is walked")
    }

    @Test func anExcludedFolderIsNotWalked() throws {
        try make(["keep.jpg", "private/x.jpg"], ignores: ["": "private/\n"])
        // Walked, a dangling symlink in it would be a failure of the run.
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("private/dangling.jpg").path,
                                                   withDestinationPath: "/nonexistent/keepsake")
        let (names, skips) = walk()
        #expect(names == ["keep.jpg"])
        #expect(skips.unreadable.isEmpty, "\(skips.unreadable)")
        #expect(skips.excludedFolders == 1)
        #expect(skips.excludedFiles == 0)
    }

    @Test func anUnreadableIgnoreFileIsAProblemOfItsFolderNotACrash() throws {
        try make(["a.jpg", "sub/b.jpg", "sub/c.mov"], ignores: ["": "*.mov\n"])
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub/\(Exclusions.fileName)"), withIntermediateDirectories: true)
        let (names, skips) = walk()
        // The folder is walked under the rules from above, without its own.
        #expect(names == ["a.jpg", "sub/b.jpg"])
        #expect(skips.unreadable.count == 1)
        let problem = try #require(skips.unreadable.first)
        #expect(problem.path.description == root.path + "/sub/" + Exclusions.fileName)
        #expect(problem.reason.contains("exclusions file"), "\(problem.reason)")
    }

    @Test func patternsMatchTheFileSystemsBytes() throws {
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".jpg".utf8)
        let path = BytePath(root.path).appending(latin1)
        let fd = path.withCString { creat($0, 0o600) }
        #expect(fd >= 0)
        close(fd)
        try make(["cafe.jpg"])
        let ignore = BytePath(root.path).appending(Exclusions.fileName)
        let written = ignore.withCString { creat($0, 0o600) }
        try (latin1 + [UInt8(ascii: "\n")]).withUnsafeBytes { try FileIO.writeFully(written, $0) }
        close(written)
        let (files, skips) = Discovery.walk([BytePath(root.path)])
        #expect(files.map(\.path.lastComponent) == ["cafe.jpg"])
        #expect(skips.excludedFiles == 1)
    }

    @Test func theDaemonsCheckOfOneFileSeesTheSameRules() throws {
        try make(["a.jpg", "a.mov", "trip/b.mov", "trip/keep.mov", "private/x.jpg"],
                 ignores: ["": "*.mov\n", "trip": "!keep.mov\n"])
        let base = BytePath(root.path)
        func excluded(_ name: String, _ patterns: [String] = []) -> Bool {
            Exclusions.excludes(base.appending(name), under: base, patterns: patterns)
        }
        #expect(!excluded("a.jpg"))
        #expect(excluded("a.mov"))
        #expect(excluded("trip/b.mov"))
        #expect(!excluded("trip/keep.mov"))
        #expect(!excluded("private/x.jpg"))
        #expect(excluded("private/x.jpg", ["private/"]), "a file in an excluded folder is excluded")
        #expect(!excluded("a.jpg", ["/trip/a.jpg"]))
    }
}
