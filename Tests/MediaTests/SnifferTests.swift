import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

@Suite struct SnifferTests {
    /// An ISO-BMFF `ftyp` box with these brands, then a `mdat` header.
    static func ftyp(_ major: String, _ compatible: [String]) -> [UInt8] {
        let brands = ([major, "\0\0\0\0"] + compatible).flatMap { Array($0.utf8) }
        let size = UInt32(8 + brands.count)
        return withUnsafeBytes(of: size.bigEndian, Array.init) + Array("ftyp".utf8) + brands + [0, 0, 0, 8] + Array("mdat".utf8)
    }

    static func riff(_ form: String) -> [UInt8] { Array("RIFF".utf8) + [0x10, 0, 0, 0] + Array(form.utf8) + Array(repeating: 0, count: 8) }

    static func transportStream(packetSize: Int, packets: Int = 6) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<packets {
            var packet = [UInt8](repeating: 0xFF, count: packetSize)
            packet[packetSize - 188] = 0x47
            if packetSize == 192 { packet[0...3] = [0x00, 0x12, 0x34, 0x56] }
            bytes += packet
        }
        return bytes
    }

    @Test(arguments: [
        (ftyp("heic", ["mif1", "heic"]), MediaFormat.heic),
        (ftyp("mif1", ["mif1", "heic", "hevc"]), .heif),
        (ftyp("mif1", ["mif1", "avif"]), .avif),
        (ftyp("avif", ["avif", "mif1", "miaf"]), .avif),
        (ftyp("avis", ["avis", "msf1"]), .avif),
        (ftyp("crx ", ["crx ", "isom"]), .cr3),
        (ftyp("qt  ", ["qt  "]), .mov),
        (ftyp("3gp5", ["3gp5", "isom"]), .threeGPP),
        (ftyp("3g2a", ["3g2a"]), .threeGPP),
        (ftyp("M4V ", ["M4V ", "mp42"]), .m4v),
        (ftyp("isom", ["isom", "iso2", "avc1", "mp41"]), .mp4),
        (ftyp("mp42", ["mp41", "mp42", "isom"]), .mp4),
    ])
    func isoBaseMediaBrands(header: [UInt8], format: MediaFormat) {
        #expect(Sniffer.sniff(header) == .media(format))
    }

    @Test func audioOnlyMP4IsNotMedia() {
        #expect(Sniffer.sniff(Self.ftyp("M4A ", ["M4A ", "mp42"])) == .unsupported(mimeType: "audio/mp4"))
    }

    @Test func tiffBasedRaw() {
        let dng = TIFFBuilder(entries: [(0xC612, .long(0x0000_0401))]).build()
        #expect(Sniffer.sniff(dng) == .media(.dng))
        let nef = TIFFBuilder(littleEndian: false, entries: [(0x010F, .ascii("NIKON CORPORATION"))]).build()
        #expect(Sniffer.sniff(nef) == .media(.nef))
        let arw = TIFFBuilder(entries: [(0x010F, .ascii("SONY"))]).build()
        #expect(Sniffer.sniff(arw) == .media(.arw))
        let plain = TIFFBuilder(entries: [(0x010F, .ascii("Canon"))]).build()
        #expect(Sniffer.sniff(plain) == .media(.tiff))
        var cr2 = TIFFBuilder(entries: []).build()
        cr2 += Array(repeating: 0, count: 16)
        cr2[8...10] = [0x43, 0x52, 0x02]
        #expect(Sniffer.sniff(cr2) == .media(.cr2))
        #expect(Sniffer.sniff([0x49, 0x49, 0x52, 0x4F, 8, 0, 0, 0] + Array(repeating: 0, count: 16)) == .media(.orf))
        #expect(Sniffer.sniff([0x49, 0x49, 0x55, 0x00, 0x18, 0, 0, 0] + Array(repeating: 0, count: 16)) == .media(.rw2))
        #expect(Sniffer.sniff(Array("FUJIFILMCCD-RAW 0201FF383501".utf8)) == .media(.raf))
    }

    @Test func containersAndStreams() {
        #expect(Sniffer.sniff(Self.riff("AVI ")) == .media(.avi))
        #expect(Sniffer.sniff(Self.riff("WEBP")) == .media(.webp))
        #expect(Sniffer.sniff(Self.riff("WAVE")) == .unsupported(mimeType: "audio/wav"))
        let ebml: [UInt8] = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]
        #expect(Sniffer.sniff(ebml + Array("webm".utf8)) == .media(.webm))
        #expect(Sniffer.sniff(ebml + Array("matroska".utf8)) == .media(.matroska))
        #expect(Sniffer.sniff(Self.transportStream(packetSize: 188)) == .media(.mpegTS))
        #expect(Sniffer.sniff(Self.transportStream(packetSize: 192)) == .media(.m2ts))
        #expect(Sniffer.sniff([0x00, 0x00, 0x01, 0xBA, 0x44]) == .media(.mpegPS))
        #expect(Sniffer.sniff([0, 0, 0, 8] + Array("wide".utf8) + [0, 0, 0, 8] + Array("mdat".utf8)) == .media(.mov))
    }

    @Test func stillImages() {
        #expect(Sniffer.sniff([0xFF, 0xD8, 0xFF, 0xE1]) == .media(.jpeg))
        #expect(Sniffer.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) == .media(.png))
        #expect(Sniffer.sniff(Array("GIF89a".utf8) + [1, 0, 1, 0]) == .media(.gif))
        var bmp = Array("BM".utf8) + Array(repeating: UInt8(0), count: 30)
        bmp[14] = 40
        #expect(Sniffer.sniff(bmp) == .media(.bmp))
    }

    @Test func nonMedia() {
        #expect(Sniffer.sniff([UInt8]()) == .empty)
        #expect(Sniffer.sniff(Array("<!DOCTYPE html><html>".utf8)) == .unsupported(mimeType: "text/html"))
        #expect(Sniffer.sniff(Array("%PDF-1.7".utf8)) == .unsupported(mimeType: "application/pdf"))
        #expect(Sniffer.sniff(Array("hello, world\n".utf8)) == .unsupported(mimeType: "text/plain"))
        // UTF-8 text whose multi-byte character is cut by the end of the sniffed header is still text.
        let text = Array(String(repeating: "a", count: Sniffer.headerLength - 1).utf8) + Array("→ more".utf8)
        #expect(Sniffer.sniff(text) == .unsupported(mimeType: "text/plain"))
        #expect(Sniffer.sniff([0x00, 0x01, 0x02, 0xFE]) == .unsupported(mimeType: "application/octet-stream"))
    }

    /// Every corpus file sniffs to expected.json's MIME type, by content (misnamed and extensionless files too).
    @Test(.needsCorpus) func corpusFilesSniffAsExiftoolSays() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let expected = try ExpectedFile.load()
        #expect(!expected.isEmpty)
        for entry in expected where !["expected.json", "SOURCES.md", "MANIFEST.tsv"].contains(entry.file) {
            let result = sniffFile(corpus.appendingPathComponent(entry.file).path)
            switch result {
            case .empty: #expect(entry.mime == nil, "\(entry.file)")
            case .media(let format):
                #expect(format.mimeType == entry.mime, "\(entry.file)")
                #expect(format.kind.rawValue == entry.kind, "\(entry.file)")
            case .unsupported(let mime):
                #expect(mime == entry.mime && entry.kind == "unsupported", "\(entry.file)")
            }
        }
    }
}

/// A photo or video whose `ftyp` box is damaged is still recognised by the brands and boxes that remain.
@Suite struct DamagedISOBMFFSnifferTests {
    @Test(arguments: FtypDamage.allCases)
    func damagedFtypKeepsItsFormat(_ damage: FtypDamage) throws {
        for source in try FtypDamage.sources() {
            let original = Array(try #require(FileManager.default.contents(atPath: source.path)).prefix(Sniffer.headerLength))
            guard case .media(let format) = Sniffer.sniff(original) else { Issue.record("\(source.path) is not media"); continue }
            #expect(format.kind.rawValue == source.kind, "\(source.path)")
            #expect(Sniffer.sniff(damage.apply(to: original)) == .media(format), "\(damage) of \(source.path)")
        }
    }

    @Test(arguments: FtypDamage.allCases)
    func damagedAudioOnlyMP4IsStillNotMedia(_ damage: FtypDamage) {
        let m4a = SnifferTests.ftyp("M4A ", ["M4A ", "mp42", "isom"])
        #expect(Sniffer.sniff(damage.apply(to: m4a)) == .unsupported(mimeType: "audio/mp4"), "\(damage)")
    }

    /// With no brand left at all, the boxes tell: a picture handler is HEIF, a movie a video, sound alone not media.
    @Test func withoutBrandsTheBoxesTell() {
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
            withUnsafeBytes(of: UInt32(8 + body.count).bigEndian, Array.init) + Array(type.utf8) + body
        }
        func handler(_ type: String) -> [UInt8] { box("hdlr", [0, 0, 0, 0, 0, 0, 0, 0] + Array(type.utf8) + Array(repeating: 0, count: 13)) }
        let brandless = box("ftyp", Array(repeating: 0, count: 8))
        #expect(Sniffer.sniff(brandless + box("meta", [0, 0, 0, 0] + handler("pict"))) == .media(.heif))
        #expect(Sniffer.sniff(brandless + box("moov", box("trak", handler("vide") + handler("soun")))) == .media(.mp4))
        #expect(Sniffer.sniff(brandless + box("mdat", Array(repeating: 7, count: 64))) == .media(.mp4))
        #expect(Sniffer.sniff(brandless + box("moov", box("trak", handler("soun")))) == .unsupported(mimeType: "audio/mp4"))
        #expect(Sniffer.sniff(brandless + Array(repeating: 0x41, count: 64)) == .unsupported(mimeType: "audio/mp4"))
    }
}
