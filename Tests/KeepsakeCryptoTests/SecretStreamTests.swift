import Testing
@testable import KeepsakeCrypto

@Suite struct SecretStreamTests {
    /// Seals `plaintext` written in pieces of `pieceSize`, with a small chunk size so boundaries are exercised.
    func seal(_ plaintext: [UInt8], key: SecretKey, chunkSize: Int, pieceSize: Int) throws -> [UInt8] {
        var out = [UInt8]()
        let stream = try SealingStream(key: key, chunkSize: chunkSize) { out.append(contentsOf: $0) }
        var offset = 0
        while offset < plaintext.count {
            let end = min(offset + pieceSize, plaintext.count)
            try stream.write(Array(plaintext[offset..<end]))
            offset = end
        }
        try stream.finish()
        return out
    }

    func open(_ sealed: [UInt8], key: SecretKey, chunkSize: Int, pieceSize: Int = 1000) throws -> [UInt8] {
        var out = [UInt8]()
        let stream = try OpeningStream(key: key, chunkSize: chunkSize) { out.append(contentsOf: $0) }
        var offset = 0
        while offset < sealed.count {
            let end = min(offset + pieceSize, sealed.count)
            try stream.write(Array(sealed[offset..<end]))
            offset = end
        }
        try stream.finish()
        return out
    }

    @Test(arguments: [0, 1, 63, 64, 65, 128, 129, 1000])
    func roundTripAtChunkBoundaries(size: Int) throws {
        let key = SecretKey()
        let plaintext = randomBytes(size)
        for pieceSize in [1, 7, 64, 5000] {
            let sealed = try seal(plaintext, key: key, chunkSize: 64, pieceSize: pieceSize)
            #expect(sealed.count == SecretStreamFormat.sealedSize(plaintextSize: size, chunkSize: 64))
            #expect(try open(sealed, key: key, chunkSize: 64, pieceSize: pieceSize) == plaintext)
        }
    }

    /// Thumbnails and metadata documents are small: their streams must not cost a 4 MiB chunk's buffers each.
    @Test func aSmallObjectsBuffersAreItsOwnSize() throws {
        let key = SecretKey()
        var sealed = [UInt8]()
        let sealing = try SealingStream(key: key) { sealed.append(contentsOf: $0) }
        try sealing.write(randomBytes(3000))
        try sealing.finish()
        #expect(sealing.bufferByteCount < 16 << 10)
        var opened = [UInt8]()
        let opening = try OpeningStream(key: key) { opened.append(contentsOf: $0) }
        try opening.write(sealed)
        try opening.finish()
        #expect(opened.count == 3000)
        #expect(opening.bufferByteCount < 16 << 10)
    }

    @Test func defaultChunkSizeRoundTrip() throws {
        let key = SecretKey()
        let plaintext = randomBytes(SecretStreamFormat.chunkSize * 2 + 12345)
        let sealed = try SealingStream.seal(plaintext, key: key)
        #expect(try OpeningStream.open(sealed, key: key) == plaintext)
    }

    @Test func wrongKeyIsAnAuthenticationFailure() throws {
        let sealed = try SealingStream.seal(Array("hello".utf8), key: SecretKey())
        #expect(throws: CryptoError.authenticationFailed(chunk: 0)) { try OpeningStream.open(sealed, key: SecretKey()) }
    }

    @Test func everyFlippedByteIsDetected() throws {
        let key = SecretKey()
        let sealed = try seal(randomBytes(200), key: key, chunkSize: 64, pieceSize: 200)
        for index in sealed.indices {
            var damaged = sealed
            damaged[index] ^= 0x01
            #expect(throws: CryptoError.self) { try open(damaged, key: key, chunkSize: 64) }
        }
    }

    @Test func everyTruncationIsDetected() throws {
        let key = SecretKey()
        let sealed = try seal(randomBytes(200), key: key, chunkSize: 64, pieceSize: 200)
        for length in 0..<sealed.count {
            #expect(throws: CryptoError.self) { try open(Array(sealed.prefix(length)), key: key, chunkSize: 64) }
        }
        // Cut exactly at a chunk boundary: every remaining chunk authenticates, but FINAL is missing.
        let boundary = SecretStreamFormat.headerByteCount + 2 * (64 + SecretStreamFormat.chunkOverhead)
        #expect(throws: CryptoError.truncated) { try open(Array(sealed.prefix(boundary)), key: key, chunkSize: 64) }
    }

    @Test func appendedBytesAreRejected() throws {
        let key = SecretKey()
        let sealed = try SealingStream.seal([1, 2, 3], key: key)
        // The extra byte lengthens the last chunk, which then fails authentication.
        #expect(throws: CryptoError.authenticationFailed(chunk: 0)) { try OpeningStream.open(sealed + [0], key: key) }
        // A whole extra chunk after FINAL is trailing data.
        let twoChunks = try seal(randomBytes(10), key: key, chunkSize: 64, pieceSize: 10)
        let extra = [UInt8](repeating: 0, count: 64 + SecretStreamFormat.chunkOverhead)
        #expect(throws: CryptoError.self) { try open(twoChunks + extra, key: key, chunkSize: 64) }
    }

    @Test func sealingTwiceGivesDifferentCiphertext() throws {
        let key = SecretKey()
        #expect(try SealingStream.seal([1, 2, 3], key: key) != SealingStream.seal([1, 2, 3], key: key))
    }
}

@Suite struct KeyTests {
    @Test func wrapAndUnwrap() throws {
        let master = SecretKey(), fileKey = SecretKey()
        let wrapped = KeyWrap.wrap(fileKey, with: master)
        #expect(wrapped.count == KeyWrap.wrappedByteCount)
        let unwrapped = try KeyWrap.unwrap(wrapped, with: master)
        #expect(unwrapped.withUnsafeBytes { Array($0) } == fileKey.withUnsafeBytes { Array($0) })
    }

    @Test func unwrapWithWrongKeyOrDamagedBytesFails() throws {
        let master = SecretKey(), fileKey = SecretKey()
        let wrapped = KeyWrap.wrap(fileKey, with: master)
        #expect(throws: CryptoError.unwrapFailed) { try KeyWrap.unwrap(wrapped, with: SecretKey()) }
        var damaged = wrapped
        damaged[30] ^= 0x80
        #expect(throws: CryptoError.unwrapFailed) { try KeyWrap.unwrap(damaged, with: master) }
        #expect(throws: CryptoError.self) { try KeyWrap.unwrap(Array(wrapped.dropLast()), with: master) }
    }

    @Test func argon2idIsDeterministicPerSaltAndPassphrase() throws {
        // Interactive limits keep the test fast; the library uses the moderate ones.
        let kdf = PassphraseKDF(salt: randomBytes(PassphraseKDF.saltByteCount), opsLimit: 2, memLimit: 8 << 20)
        let a = try kdf.deriveKey(from: "correct horse").withUnsafeBytes { Array($0) }
        let b = try kdf.deriveKey(from: "correct horse").withUnsafeBytes { Array($0) }
        let c = try kdf.deriveKey(from: "correct horsf").withUnsafeBytes { Array($0) }
        var other = kdf
        other.salt = randomBytes(PassphraseKDF.saltByteCount)
        let d = try other.deriveKey(from: "correct horse").withUnsafeBytes { Array($0) }
        #expect(a == b)
        #expect(a != c)
        #expect(a != d)
        #expect(try kdf.deriveKey(from: "").withUnsafeBytes { $0.count } == SecretKey.byteCount)
    }

    @Test func moderateLimitsAreLibsodiumsModerate() {
        let kdf = PassphraseKDF.moderate()
        #expect(kdf.opsLimit == 3)
        #expect(kdf.memLimit == 256 << 20)
    }

    @Test func wipeZeroes() {
        var bytes: [UInt8] = [1, 2, 3]
        wipe(&bytes)
        #expect(bytes == [0, 0, 0])
    }
}

@Suite struct Blake2bTests {
    @Test func knownVectors() {
        #expect(Blake2b.hash([]).hexString == "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce")
        #expect(Blake2b.hash(Array("abc".utf8)).hexString == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test func streamingEqualsOneShot() {
        let data = randomBytes(100_000)
        let hasher = Blake2b()
        var offset = 0
        for piece in [1, 10, 1000, 33333, 65536] where offset < data.count {
            let end = min(offset + piece, data.count)
            hasher.update(Array(data[offset..<end]))
            offset = end
        }
        hasher.update(Array(data[offset...]))
        #expect(hasher.finalize() == Blake2b.hash(data))
    }
}
