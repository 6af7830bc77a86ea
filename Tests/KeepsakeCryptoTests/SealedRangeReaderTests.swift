import Testing
@testable import KeepsakeCrypto

@Suite struct SealedRangeReaderTests {
    static let chunkSize = 64

    func seal(_ plaintext: [UInt8], key: SecretKey) throws -> [UInt8] {
        var out = [UInt8]()
        let stream = try SealingStream(key: key, chunkSize: Self.chunkSize) { out.append(contentsOf: $0) }
        try stream.write(plaintext)
        try stream.finish()
        return out
    }

    /// A reader over `sealed` that records every range it was asked for.
    func reader(_ sealed: [UInt8], key: SecretKey, log: Log = Log()) throws -> SealedRangeReader {
        try SealedRangeReader(key: key, sealedSize: UInt64(sealed.count), chunkSize: Self.chunkSize) { range in
            log.ranges.append(range)
            let end = min(Int(range.upperBound), sealed.count)
            return Array(sealed[min(Int(range.lowerBound), end)..<end])
        }
    }

    final class Log { var ranges: [Range<UInt64>] = [] }

    func read(_ reader: SealedRangeReader, _ range: Range<UInt64>) throws -> [UInt8] {
        var out = [UInt8]()
        try reader.read(range) { out.append(contentsOf: $0) }
        return out
    }

    @Test(arguments: [0, 1, 63, 64, 65, 128, 129, 200])
    func everyRangeMatchesThePlaintext(size: Int) throws {
        let key = SecretKey()
        let plaintext = randomBytes(size)
        let sealed = try seal(plaintext, key: key)
        #expect(SecretStreamFormat.plaintextSize(sealedSize: UInt64(sealed.count), chunkSize: Self.chunkSize) == UInt64(size))
        let reader = try reader(sealed, key: key)
        #expect(reader.plaintextSize == UInt64(size))
        // One reader for every range, in an order that moves both forward and back.
        for start in stride(from: size, through: 0, by: -1) {
            for end in start...size + 2 {
                #expect(try read(reader, UInt64(start)..<UInt64(end)) == Array(plaintext[start..<min(end, size)]),
                        "range \(start)..<\(end) of \(size)")
            }
        }
    }

    @Test func aRangeNearTheEndReadsOnlyTagsOfTheChunksBeforeIt() throws {
        let key = SecretKey()
        let plaintext = randomBytes(Self.chunkSize * 10 + 5)
        let sealed = try seal(plaintext, key: key)
        let log = Log()
        let reader = try reader(sealed, key: key, log: log)
        log.ranges.removeAll()
        let start = UInt64(Self.chunkSize * 9 + 3)
        #expect(try read(reader, start..<UInt64(plaintext.count)) == Array(plaintext[Int(start)...]))
        // Nine 16-byte tags, then chunks 9 and 10 whole.
        #expect(log.ranges.filter { $0.count == 16 }.count == 9)
        #expect(log.ranges.filter { $0.count > 16 }.count == 2)
        let chunk9 = UInt64(SecretStreamFormat.headerByteCount + 9 * (Self.chunkSize + SecretStreamFormat.chunkOverhead))
        #expect(log.ranges.allSatisfy { $0.count == 16 || $0.lowerBound >= chunk9 })
    }

    @Test func aChangedTagBeforeTheRangeFailsAuthentication() throws {
        let key = SecretKey()
        let plaintext = randomBytes(Self.chunkSize * 4)
        var sealed = try seal(plaintext, key: key)
        // The last byte of chunk 1's tag: only the first 8 tag bytes enter the state, so change one of those.
        let chunk1TagStart = SecretStreamFormat.headerByteCount + 2 * (Self.chunkSize + SecretStreamFormat.chunkOverhead) - 16
        sealed[chunk1TagStart] ^= 1
        let reader = try reader(sealed, key: key)
        #expect(throws: CryptoError.authenticationFailed(chunk: 2)) { try read(reader, UInt64(Self.chunkSize * 2)..<UInt64(Self.chunkSize * 3)) }
        #expect(try read(reader, 0..<UInt64(Self.chunkSize)) == Array(plaintext[0..<Self.chunkSize]))
    }

    @Test func aStreamCutAtAChunkEdgeIsRefused() throws {
        let key = SecretKey()
        let sealed = try seal(randomBytes(Self.chunkSize * 3 + 10), key: key)
        // Without its final chunk the stream has a size no stream has (its last chunk would be full).
        let cut = Array(sealed.prefix(SecretStreamFormat.headerByteCount + 3 * (Self.chunkSize + SecretStreamFormat.chunkOverhead)))
        #expect(throws: CryptoError.self) { _ = try reader(cut, key: key) }
        // Cut inside the final chunk instead: the size fits a shorter stream, whose last chunk fails to open.
        let short = try reader(Array(sealed.dropLast(3)), key: key)
        #expect(throws: CryptoError.self) { try read(short, 0..<short.plaintextSize) }
        #expect(try read(short, 0..<UInt64(Self.chunkSize)).count == Self.chunkSize)
    }

    @Test func sizesNoStreamHasAreRefused() throws {
        #expect(SecretStreamFormat.plaintextSize(sealedSize: 10, chunkSize: Self.chunkSize) == nil)
        let oneFullChunk = UInt64(SecretStreamFormat.headerByteCount + Self.chunkSize + SecretStreamFormat.chunkOverhead)
        #expect(SecretStreamFormat.plaintextSize(sealedSize: oneFullChunk + 3, chunkSize: Self.chunkSize) == nil)
        #expect(throws: CryptoError.self) { try SealedRangeReader(key: SecretKey(), sealedSize: 30, readSealed: { _ in [] }) }
    }
}
