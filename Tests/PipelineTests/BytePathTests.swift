import FileSystem
import Foundation
import Testing

struct BytePathTests {
    let latin1 = BytePath(bytes: Array("/a/caf".utf8) + [0xE9] + Array(".jpg".utf8))

    @Test func printsValidUTF8AsItIsAndEscapesControlCharactersAndInvalidBytes() {
        #expect(BytePath("/photos/été 🌅.jpg").description == "/photos/été 🌅.jpg")
        #expect(latin1.description == "/a/caf\\xE9.jpg")
        #expect(BytePath(bytes: [0xFF, 0xFE, 0x2E, 0x6A]).description == "\\xFF\\xFE.j")
        #expect(BytePath("a\nb\tc\r\u{1B}\u{7F}").description == "a\\nb\\tc\\r\\x1B\\x7F")
        #expect(BytePath("a\\b").description == "a\\\\b", "a backslash is doubled, so the printed form names each byte")
        // A sequence cut short, an overlong encoding and a surrogate are invalid bytes, each escaped.
        #expect(BytePath(bytes: [0x61, 0xE2, 0x82]).description == "a\\xE2\\x82")
        #expect(BytePath(bytes: [0xC0, 0xAF]).description == "\\xC0\\xAF")
        #expect(BytePath(bytes: [0xED, 0xA0, 0x80]).description == "\\xED\\xA0\\x80")
    }

    @Test func jsonKeepsUTF8PathsAsStringsAndOthersAsBase64Bytes() throws {
        #expect(String(decoding: try JSONEncoder().encode([BytePath("/x/a.jpg")]), as: UTF8.self) == #"["\/x\/a.jpg"]"#)
        let encoded = try JSONEncoder().encode([latin1, BytePath("/b\n.jpg")])
        #expect(String(decoding: encoded, as: UTF8.self).contains(#"{"base64":"#))
        #expect(try JSONDecoder().decode([BytePath].self, from: encoded) == [latin1, BytePath("/b\n.jpg")])
    }

    @Test func componentsOfAPath() {
        #expect(latin1.lastComponent.bytes == Array("caf".utf8) + [0xE9] + Array(".jpg".utf8))
        #expect(latin1.parent == BytePath("/a"))
        #expect(BytePath("/a.jpg").parent == BytePath("/") && BytePath("a.jpg").parent == BytePath("."))
        #expect(BytePath("/a/").appending(Array("b".utf8)) == BytePath("/a/b"))
    }
}
