import CSodium
import Foundation
import Gallery
import KeepsakeCrypto
import Testing
import TestSupport

/// link-crypto.js, the exact bytes the binary serves (`LinkAssets.crypto`), run in headless Chromium
/// (Tests/Browser/link_crypto_browser.py and link_crypto_check.js) against what libsodium made: secretstream chunks
/// and whole objects of every chunk-boundary size, at a 64-byte chunk size and keepsake's 4 MiB, tampered objects it
/// must refuse, BLAKE2b digests, base64url. A 20 MB original measures its speed.
@Suite(.serialized, .enabled(if: Chromium.missing == nil, "\(Chromium.missing ?? "")"))
struct LinkCryptoTests {
    /// init_pull and pull against libsodium's push, chunk by chunk: messages, every tag, additional data, the
    /// automatic rekey when the counter wraps; a forged chunk is refused and leaves the state as it was.
    @Test func secretstreamChunksMatchLibsodium() throws { try LinkCryptoBrowser.run(["chunks"]) }

    /// openSecretStream on objects of 0, 1, c-1, c, c+1, 2c-1, 2c, 2c+1, 3c and random sizes, c = 64 and 4 MiB.
    @Test func wholeObjectsOpenToLibsodiumsPlaintext() throws { try LinkCryptoBrowser.run(["open-whole"]) }

    /// The same objects fed to createOpener in random pieces, single bytes, one push, and through a TransformStream.
    @Test func objectsArrivingInPiecesOpen() throws { try LinkCryptoBrowser.run(["open-streaming"]) }

    /// A wrong key, every flipped byte, every truncation, a missing final chunk, data after it, chunks reordered,
    /// dropped, repeated or taken from another object: refused, whole and in pieces.
    @Test func everyTamperedObjectIsRefused() throws { try LinkCryptoBrowser.run(["refuse-tampered"]) }

    /// RFC 7693's "abc", every length 0...300 and 1 MiB, whole and in pieces, against libsodium's crypto_generichash.
    @Test func blake2bMatchesLibsodium() throws { try LinkCryptoBrowser.run(["blake2b"]) }

    @Test func base64urlAndHexMatchFoundation() throws { try LinkCryptoBrowser.run(["encoding"]) }

    /// A 20 MB original opened and hashed in Chromium, with its speed printed.
    @Test func aTwentyMegabyteOriginalOpensAndHashes() throws { try LinkCryptoBrowser.run(["throughput"]) }

    /// The vectors are what they claim: libsodium (through KeepsakeCrypto) opens every object to its plaintext and
    /// refuses every tampered one.
    @Test func libsodiumAgreesWithTheVectors() throws {
        let directory = try LinkCryptoBrowser.vectors.get()
        func read(_ name: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: directory.appendingPathComponent(name))) }
        func open(_ sealed: [UInt8], key: String, chunkSize: Int) throws -> [UInt8] {
            var plain: [UInt8] = []
            let stream = try OpeningStream(key: try SecretKey(bytes: try #require(LinkCryptoVectors.bytes(hex: key))), chunkSize: chunkSize) {
                plain.append(contentsOf: $0)
            }
            try stream.write(sealed)
            try stream.finish()
            return plain
        }
        let vectors = try JSONDecoder().decode(LinkCryptoVectors.self, from: Data(contentsOf: directory.appendingPathComponent("vectors.json")))
        #expect(vectors.streams.count > 20 && vectors.tampered.count > 400)
        for stream in vectors.streams {
            #expect(try open(read(stream.sealed), key: stream.key, chunkSize: stream.chunkSize) == read(stream.plain), "\(stream.name)")
        }
        for tampered in vectors.tampered {
            let sealed = try read(tampered.sealed)
            #expect(throws: (any Error).self, "\(tampered.name)") { try open(sealed, key: tampered.key, chunkSize: tampered.chunkSize) }
        }
    }
}

enum LinkCryptoBrowser {
    /// The vectors (about 250 MB), written once per test process to a folder the next run replaces.
    static let vectors = Result { () throws -> URL in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-link-crypto-vectors")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try LinkCryptoVectors.write(to: directory)
        return directory
    }

    static func run(_ checks: [String]) throws {
        let directory = try vectors.get()
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/link_crypto_browser.py").path
        let result = try runProcess("python3", [script, directory.path] + checks)
        let lines = result.stdoutText.split(separator: "\n")
        print(lines.joined(separator: "\n"))
        for check in checks {
            #expect(lines.contains { $0 == "PASS \(check)" },
                    "\(lines.first { $0.hasPrefix("FAIL \(check)") } ?? "\(check): no result; \(result.stderrText.suffix(2000))")")
        }
        #expect(result.status == 0)
    }
}

/// What vectors.json holds (file names are relative to its folder).
struct LinkCryptoVectors: Codable {
    struct Stream: Codable { var name, key: String; var chunkSize: Int; var sealed, plain: String }
    /// `kind`: the SecretStreamError kind the page must report, when only one is right.
    struct Tampered: Codable { var name, key: String; var chunkSize: Int; var sealed: String; var kind: String? }
    struct Chunk: Codable { var sealed, ad, message: String; var tag: UInt8 }
    /// `counter`: the message counter libsodium's state was set to after init_push (to reach the wrap), or nil.
    struct ChunkStream: Codable { var name, key, header: String; var counter: UInt32?; var chunks: [Chunk] }
    struct Hash: Codable { var name, input: String; var offset, length: Int; var digest: String }
    struct Encoding: Codable { var hex, base64url: String }
    struct Throughput: Codable { var key, sealed: String; var size: Int; var plainDigest: String }

    var streams: [Stream] = []
    var tampered: [Tampered] = []
    var chunks: [ChunkStream] = []
    var hashes: [Hash] = []
    var encodings: [Encoding] = []
    var invalidBase64url = ["A", "AAAAA", "AA==", "AA=", "AB", "AAB", "+AAA", "/AAA", "AA A", "AA\n", "ÀAAA"]
    var invalidHex = ["0", "abc", "zz", "0g", " 00", "00 "]
    var throughput: Throughput?

    static let rfc7693abc = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for start in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[start..<start + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }

    /// Writes link-crypto.js (the shipped bytes), vectors.json and the files it names into `directory`.
    static func write(to directory: URL) throws {
        _ = sodium_init()
        var vectors = LinkCryptoVectors()
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
            return name
        }
        try Data(LinkAssets.crypto).write(to: directory.appendingPathComponent("link-crypto.js"))

        // Whole objects, as keepsake seals them.
        for chunk in [64, SecretStreamFormat.chunkSize] {
            var sizes = [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk - 1, 2 * chunk, 2 * chunk + 1, 3 * chunk]
            sizes += (0..<(chunk == 64 ? 6 : 2)).map { _ in Int.random(in: 0..<(3 * chunk + 100)) }
            for size in sizes {
                let key = SecretKey(), plain = randomBytes(size)
                let name = "c = \(chunk), \(size) bytes", fileName = "s-\(vectors.streams.count)"  // a random size may repeat one
                vectors.streams.append(Stream(name: name, key: try hex(key), chunkSize: chunk,
                                              sealed: try file(fileName + ".sealed", try seal(plain, key: key, chunkSize: chunk)),
                                              plain: try file(fileName + ".plain", plain)))
            }
        }
        // A final chunk of full size (libsodium allows it; keepsake's writer adds an empty one instead) opens.
        let fullFinalKey = randomBytes(32), fullFinalPlain = randomBytes(64)
        let fullFinal = pushStream(key: fullFinalKey, messages: [(fullFinalPlain, UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL))])
        vectors.streams.append(Stream(name: "c = 64, a full-size final chunk", key: fullFinalKey.hexString, chunkSize: 64,
                                      sealed: try file("c64-full-final.sealed", fullFinal.header + fullFinal.chunks.flatMap { $0 }),
                                      plain: try file("c64-full-final.plain", fullFinalPlain)))

        try addTampered(to: &vectors, file: file)
        vectors.tampered.append(contentsOf: [
            Tampered(name: "full-size final + 1 byte", key: fullFinalKey.hexString, chunkSize: 64,
                     sealed: try file("t-full-final-1.sealed", fullFinal.header + fullFinal.chunks[0] + [0]), kind: "trailing"),
            Tampered(name: "full-size final + itself", key: fullFinalKey.hexString, chunkSize: 64,
                     sealed: try file("t-full-final-again.sealed", fullFinal.header + fullFinal.chunks[0] + fullFinal.chunks[0]), kind: "trailing"),
        ])
        vectors.chunks = chunkStreams()
        try addHashes(to: &vectors, file: file)
        vectors.encodings = (0...40).map { length in
            let bytes = randomBytes(length)
            let base64url = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            return Encoding(hex: length % 2 == 0 ? bytes.hexString : bytes.hexString.uppercased(), base64url: base64url)
        }

        let key = SecretKey(), size = 20_000_000, plain = randomBytes(size)
        vectors.throughput = Throughput(key: try hex(key), sealed: try file("throughput.sealed", try seal(plain, key: key, chunkSize: SecretStreamFormat.chunkSize)),
                                        size: size, plainDigest: Blake2b.hash(plain).hexString)
        try JSONEncoder().encode(vectors).write(to: directory.appendingPathComponent("vectors.json"))
    }

    private static func addTampered(to vectors: inout LinkCryptoVectors, file: (String, [UInt8]) throws -> String) throws {
        // c = 64: a plaintext of 2c + 10 (chunks of 81, 81, 27 bytes); every byte flipped, every truncation.
        let key = SecretKey(), other = SecretKey()
        let plain = randomBytes(2 * 64 + 10)
        let sealed = try seal(plain, key: key, chunkSize: 64)
        let keyHex = try hex(key)
        func add(_ name: String, _ bytes: [UInt8], kind: String?, chunkSize: Int = 64, key: String? = nil) throws {
            let fileName = "t-\(vectors.tampered.count).sealed"
            vectors.tampered.append(Tampered(name: name, key: key ?? keyHex, chunkSize: chunkSize, sealed: try file(fileName, bytes), kind: kind))
        }
        try add("wrong key", sealed, kind: "authentication", key: try hex(other))
        for index in sealed.indices {
            var flipped = sealed
            flipped[index] ^= 1 << (index % 8)
            try add("bit \(index % 8) of byte \(index) flipped", flipped, kind: "authentication")
        }
        for length in 0..<sealed.count {
            // At a chunk boundary the final chunk is missing; inside one, that chunk fails to open.
            try add("truncated to \(length) bytes", Array(sealed.prefix(length)), kind: nil)
        }
        let chunkStarts = Array(stride(from: 24, to: sealed.count, by: 81))
        func chunk(_ i: Int) -> [UInt8] { Array(sealed[chunkStarts[i]..<min(chunkStarts[i] + 81, sealed.count)]) }
        let header = Array(sealed.prefix(24))
        try add("chunks 0 and 1 swapped", header + chunk(1) + chunk(0) + chunk(2), kind: "authentication")
        try add("chunk 1 dropped", header + chunk(0) + chunk(2), kind: "authentication")
        try add("chunk 0 repeated", header + chunk(0) + chunk(0) + chunk(1) + chunk(2), kind: "authentication")
        try add("final chunk dropped", header + chunk(0) + chunk(1), kind: "truncated")
        try add("1 byte after the final chunk", sealed + [0], kind: "authentication")
        try add("the final chunk twice", sealed + chunk(2), kind: "authentication")
        let another = try seal(plain, key: key, chunkSize: 64)  // same key and plaintext, another header
        try add("chunk 1 from another object", header + chunk(0) + Array(another[(24 + 81)..<(24 + 162)]) + chunk(2), kind: "authentication")
        try add("another object's header", Array(another.prefix(24)) + sealed.dropFirst(24), kind: "authentication")
        try add("header only", header, kind: "truncated")
        // 2c exactly: header, two full chunks, an empty final chunk; without it, the object is truncated.
        let exact = try seal(randomBytes(128), key: key, chunkSize: 64)
        try add("2c without its empty final chunk", Array(exact.prefix(24 + 162)), kind: "truncated")

        // c = 4 MiB: a plaintext of 2c + 1.
        let big = SecretStreamFormat.chunkSize, bigSealed = try seal(randomBytes(2 * big + 1), key: key, chunkSize: big)
        let full = big + 17
        try add("4 MiB: wrong key", bigSealed, kind: "authentication", chunkSize: big, key: try hex(other))
        for (what, index) in [("header", 3), ("chunk 0's tag byte", 24), ("chunk 1's ciphertext", 24 + full + big / 2),
                              ("chunk 1's MAC", 24 + 2 * full - 1), ("the final chunk", bigSealed.count - 5)] {
            var flipped = bigSealed
            flipped[index] ^= 0x10
            try add("4 MiB: \(what) flipped", flipped, kind: "authentication", chunkSize: big)
        }
        let bigHeader = Array(bigSealed.prefix(24))
        let bigChunk0 = Array(bigSealed[24..<(24 + full)]), bigChunk1 = Array(bigSealed[(24 + full)..<(24 + 2 * full)])
        try add("4 MiB: chunks 0 and 1 swapped", bigHeader + bigChunk1 + bigChunk0 + bigSealed.dropFirst(24 + 2 * full), kind: "authentication", chunkSize: big)
        try add("4 MiB: final chunk dropped", Array(bigSealed.prefix(24 + 2 * full)), kind: "truncated", chunkSize: big)
        try add("4 MiB: 1 byte after the final chunk", bigSealed + [0], kind: "authentication", chunkSize: big)
        try add("4 MiB: cut inside chunk 1", Array(bigSealed.prefix(24 + full + 1000)), kind: nil, chunkSize: big)
    }

    /// Streams made with libsodium's push directly: random lengths (0 to 300), tags MESSAGE, PUSH and REKEY, then
    /// FINAL, with and without additional data; and one whose counter wraps (set to 2^32 - 1 after init_push).
    private static func chunkStreams() -> [ChunkStream] {
        let lengths = [0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 127, 128, 129, 300]
        var streams: [ChunkStream] = []
        for index in 0..<12 {
            let wraps = index >= 10
            let key = randomBytes(32)
            var messages: [(plain: [UInt8], ad: [UInt8], tag: UInt8)] = []
            for m in 0..<(wraps ? 4 : 9) {
                let length = m < 4 ? lengths[(index * 4 + m) % lengths.count] : Int.random(in: 0...300)
                let tag = m == (wraps ? 3 : 8) ? UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL) : UInt8.random(in: 0...2)
                messages.append((randomBytes(length), index % 2 == 1 ? randomBytes(Int.random(in: 0...40)) : [], tag))
            }
            let counter: UInt32? = wraps ? .max : nil
            let pushed = pushStream(key: key, messages: messages.map { ($0.plain, $0.tag) }, ads: messages.map(\.ad), counter: counter)
            streams.append(ChunkStream(
                name: wraps ? "stream \(index) (counter wraps)" : "stream \(index)", key: key.hexString, header: pushed.header.hexString,
                counter: counter,
                chunks: zip(messages, pushed.chunks).map { Chunk(sealed: $1.hexString, ad: $0.ad.hexString, message: $0.plain.hexString, tag: $0.tag) }))
        }
        return streams
    }

    private static func addHashes(to vectors: inout LinkCryptoVectors, file: (String, [UInt8]) throws -> String) throws {
        let abc = Array("abc".utf8)
        guard Blake2b.hash(abc).hexString == rfc7693abc else { throw VectorError("libsodium disagrees with RFC 7693's BLAKE2b-512 of \"abc\"") }
        vectors.hashes.append(Hash(name: "RFC 7693 abc", input: try file("abc.bin", abc), offset: 0, length: 3, digest: rfc7693abc))
        let short = randomBytes(300), long = randomBytes(1 << 20)
        let shortFile = try file("hash-300.bin", short)
        for length in 0...300 {
            // Offsets 0 and 1 alternate, so that inputs start unaligned too.
            let offset = length < 300 ? length % 2 : 0
            vectors.hashes.append(Hash(name: "\(length) bytes", input: shortFile, offset: offset, length: length,
                                       digest: Blake2b.hash(Array(short[offset..<(offset + length)])).hexString))
        }
        vectors.hashes.append(Hash(name: "1 MiB", input: try file("hash-1m.bin", long), offset: 0, length: long.count, digest: Blake2b.hash(long).hexString))
    }

    private static func seal(_ plain: [UInt8], key: SecretKey, chunkSize: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        let stream = try SealingStream(key: key, chunkSize: chunkSize) { out.append(contentsOf: $0) }
        try stream.write(plain)
        try stream.finish()
        return out
    }

    private static func hex(_ key: SecretKey) throws -> String { key.withUnsafeBytes { Array($0) }.hexString }

    /// libsodium's init_push and push: the header and each sealed chunk.
    private static func pushStream(key: [UInt8], messages: [([UInt8], UInt8)], ads: [[UInt8]]? = nil,
                                   counter: UInt32? = nil) -> (header: [UInt8], chunks: [[UInt8]]) {
        var state = crypto_secretstream_xchacha20poly1305_state()
        var header = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES))
        _ = crypto_secretstream_xchacha20poly1305_init_push(&state, &header, key)
        if let counter {
            // The first 4 bytes of the nonce are the little-endian message counter.
            withUnsafeMutableBytes(of: &state.nonce) { $0.storeBytes(of: counter.littleEndian, toByteOffset: 0, as: UInt32.self) }
        }
        var chunks: [[UInt8]] = []
        for (index, (message, tag)) in messages.enumerated() {
            let ad = ads?[index] ?? []
            var out = [UInt8](repeating: 0, count: message.count + Int(crypto_secretstream_xchacha20poly1305_ABYTES))
            var length: UInt64 = 0
            ad.withUnsafeBufferPointer { ad in
                _ = crypto_secretstream_xchacha20poly1305_push(&state, &out, &length, message, UInt64(message.count),
                                                               ad.baseAddress, UInt64(ad.count), tag)
            }
            chunks.append(Array(out.prefix(Int(length))))
        }
        return (header, chunks)
    }
}

struct VectorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
