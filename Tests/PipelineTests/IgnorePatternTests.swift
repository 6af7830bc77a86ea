import FileSystem
import Foundation
import Pipeline
import Testing

/// gitignore's pattern rules, as a table: the examples of git's gitignore documentation, then the edge cases.
struct IgnorePatternTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var pattern: String
        var path: String
        var isFolder = false
        var matches: Bool
        var testDescription: String { "\(pattern) \(matches ? "matches" : "does not match") \(path)\(isFolder ? "/" : "")" }
    }

    static let documented: [Case] = [
        // "hello.*" matches any file or folder whose name begins with hello., at any depth.
        Case(pattern: "hello.*", path: "hello.txt", matches: true),
        Case(pattern: "hello.*", path: "a/hello.java", matches: true),
        Case(pattern: "hello.*", path: "hello.d", isFolder: true, matches: true),
        Case(pattern: "hello.*", path: "hello", matches: false),
        // "/hello.*" only in the folder itself.
        Case(pattern: "/hello.*", path: "hello.txt", matches: true),
        Case(pattern: "/hello.*", path: "a/hello.java", matches: false),
        // "doc/frotz/" matches the folder doc/frotz, not a/doc/frotz; "doc/frotz" and "/doc/frotz" are the same.
        Case(pattern: "doc/frotz/", path: "doc/frotz", isFolder: true, matches: true),
        Case(pattern: "doc/frotz/", path: "a/doc/frotz", isFolder: true, matches: false),
        Case(pattern: "doc/frotz/", path: "doc/frotz", isFolder: false, matches: false),
        Case(pattern: "doc/frotz", path: "doc/frotz", matches: true),
        Case(pattern: "/doc/frotz", path: "doc/frotz", matches: true),
        Case(pattern: "doc/frotz", path: "a/doc/frotz", matches: false),
        // "frotz/" matches the folders frotz and a/frotz, not a file frotz.
        Case(pattern: "frotz/", path: "frotz", isFolder: true, matches: true),
        Case(pattern: "frotz/", path: "a/frotz", isFolder: true, matches: true),
        Case(pattern: "frotz/", path: "a/frotz", isFolder: false, matches: false),
        // "foo/*" matches foo/test.json and the folder foo/bar, not foo/bar/hello.c ("*" stops at a slash).
        Case(pattern: "foo/*", path: "foo/test.json", matches: true),
        Case(pattern: "foo/*", path: "foo/bar", isFolder: true, matches: true),
        Case(pattern: "foo/*", path: "foo/bar/hello.c", matches: false),
        // "**/foo" anywhere; "**/foo/bar" bar directly under any foo.
        Case(pattern: "**/foo", path: "foo", matches: true),
        Case(pattern: "**/foo", path: "x/y/foo", isFolder: true, matches: true),
        Case(pattern: "**/foo/bar", path: "foo/bar", matches: true),
        Case(pattern: "**/foo/bar", path: "a/foo/bar", matches: true),
        Case(pattern: "**/foo/bar", path: "a/foo/x/bar", matches: false),
        // "abc/**" everything inside abc, not abc itself.
        Case(pattern: "abc/**", path: "abc/x", matches: true),
        Case(pattern: "abc/**", path: "abc/x/y/z.jpg", matches: true),
        Case(pattern: "abc/**", path: "abc", isFolder: true, matches: false),
        // "a/**/b" zero or more folders between.
        Case(pattern: "a/**/b", path: "a/b", matches: true),
        Case(pattern: "a/**/b", path: "a/x/b", matches: true),
        Case(pattern: "a/**/b", path: "a/x/y/b", matches: true),
        Case(pattern: "a/**/b", path: "a/x/y/c", matches: false),
        // Other consecutive asterisks are plain asterisks: they do not cross a slash.
        Case(pattern: "foo**bar", path: "fooXbar", matches: true),
        Case(pattern: "foo**bar", path: "foo/bar", matches: false),
        Case(pattern: "a/**b", path: "a/xb", matches: true),
        Case(pattern: "a/**b", path: "a/x/b", matches: false),
    ]

    static let edges: [Case] = [
        Case(pattern: "*.jpg", path: "a/b/c.jpg", matches: true),
        Case(pattern: "*.jpg", path: "c.jpeg", matches: false),
        Case(pattern: "*.JPG", path: "c.jpg", matches: false),  // case matters, as in git on Linux
        Case(pattern: "?.jpg", path: "a.jpg", matches: true),
        Case(pattern: "?.jpg", path: "ab.jpg", matches: false),
        Case(pattern: "?.jpg", path: "é.jpg", matches: true),  // one character, two bytes
        Case(pattern: "a?b", path: "a/b", matches: false),
        Case(pattern: "IMG_[0-9][0-9].heic", path: "IMG_42.heic", matches: true),
        Case(pattern: "IMG_[0-9][0-9].heic", path: "IMG_4x.heic", matches: false),
        Case(pattern: "[!a]*", path: "abc", matches: false),
        Case(pattern: "[!a]*", path: "bcd", matches: true),
        Case(pattern: "[^a]*", path: "bcd", matches: true),
        Case(pattern: "[]]x", path: "]x", matches: true),
        Case(pattern: "[a-]x", path: "-x", matches: true),
        Case(pattern: "[[:digit:]]*", path: "7up", matches: true),
        Case(pattern: "[[:digit:]]*", path: "up7", matches: false),
        Case(pattern: "[[:upper:]]*", path: "Up", matches: true),
        Case(pattern: "[éè].jpg", path: "è.jpg", matches: true),
        Case(pattern: "a[", path: "a[", matches: true),  // no closing bracket: a plain `[`
        Case(pattern: "\\#keep", path: "#keep", matches: true),
        Case(pattern: "\\!important", path: "!important", matches: true),
        Case(pattern: "\\*.jpg", path: "*.jpg", matches: true),
        Case(pattern: "\\*.jpg", path: "a.jpg", matches: false),
        Case(pattern: "a\\?", path: "ab", matches: false),
        Case(pattern: "trailing   ", path: "trailing", matches: true),  // unescaped trailing spaces go
        Case(pattern: "space\\ ", path: "space ", matches: true),
        Case(pattern: "space\\ ", path: "space", matches: false),
        Case(pattern: "**", path: "any/thing", matches: true),
        Case(pattern: "raw/**/*.dng", path: "raw/2024/x.dng", matches: true),
        Case(pattern: "raw/**/*.dng", path: "raw/x.dng", matches: true),
        Case(pattern: "raw/**/*.dng", path: "other/raw/x.dng", matches: false),
    ]

    @Test(arguments: documented + edges)
    func matches(_ entry: Case) throws {
        let pattern = try #require(IgnorePattern(entry.pattern))
        #expect(pattern.matches(BytePath(entry.path).components, isFolder: entry.isFolder) == entry.matches)
    }

    @Test func blankLinesCommentsAndALoneTrailingBackslashAreNoPatterns() {
        #expect(IgnorePattern("") == nil)
        #expect(IgnorePattern("   ") == nil)
        #expect(IgnorePattern("# a comment") == nil)
        #expect(IgnorePattern("!") == nil)
        #expect(IgnorePattern("/") == nil)
        #expect(IgnorePattern("foo\\") == nil)
        #expect(IgnorePattern("!*.mov")?.negated == true)
        #expect(IgnorePattern("\\!x")?.negated == false)
        #expect(IgnorePattern("x\r")?.matches(BytePath("x").components, isFolder: false) == true, "a CRLF line ends before its CR")
    }

    @Test func namesThatAreNotUTF8AreMatchedByTheirBytes() throws {
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".jpg".utf8)
        let name = BytePath(bytes: latin1).components
        #expect(try #require(IgnorePattern("caf?.jpg")).matches(name, isFolder: false))
        #expect(try #require(IgnorePattern("*.jpg")).matches(name, isFolder: false))
        #expect(try #require(IgnorePattern(line: latin1)).matches(name, isFolder: false))
        // The lossy String of the name has U+FFFD where the byte was: a pattern of it names another file.
        #expect(try #require(IgnorePattern(String(decoding: latin1, as: UTF8.self))).matches(name, isFolder: false) == false)
        #expect(try #require(IgnorePattern("café.jpg")).matches(name, isFolder: false) == false)
    }

    @Test func theLastMatchingLineDecides() {
        func excluded(_ rules: Exclusions, _ path: String) -> Bool { rules.excludes(BytePath(path).components, isFolder: false) }
        let rules = Exclusions(patterns: ["*.mov", "!keep.mov"])
        #expect(excluded(rules, "a.mov"))
        #expect(excluded(rules, "deep/down/a.mov"))
        #expect(!excluded(rules, "keep.mov"))
        #expect(!excluded(rules, "a.jpg"))
        #expect(excluded(Exclusions(patterns: ["!keep.mov", "*.mov"]), "keep.mov"))
    }
}

extension IgnorePatternTests {
    @Test func manyStarsStayFast() throws {
        let pattern = try #require(IgnorePattern(String(repeating: "*a", count: 40) + "b"))
        let name = BytePath(String(repeating: "a", count: 250)).components
        let start = ContinuousClock.now
        #expect(!pattern.matches(name, isFolder: false))
        #expect(ContinuousClock.now - start < .seconds(1))
    }
}
