import KeepsakeCrypto
import Testing

@Suite struct IdentityKeyPairTests {
    let associatedData = Array("keepsake 2 identity library keys/identity".utf8)

    @Test func aPairSealedOpensWithItsKeyAndAssociatedDataOnly() throws {
        let pair = IdentityKeyPair()
        let key = SecretKey()
        #expect(pair.publicKey.count == 32 && pair.publicKey != [UInt8](repeating: 0, count: 32))
        #expect(IdentityKeyPair().publicKey != pair.publicKey, "each pair is new")
        let sealed = pair.sealedSecretKey(associatedData: associatedData, key: key)
        let opened = try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: sealed, associatedData: associatedData, key: key)
        #expect(opened.publicKey == pair.publicKey)
        // Sealed twice, the same secret key: both open to the pair (random nonces, so the bytes differ).
        let again = pair.sealedSecretKey(associatedData: associatedData, key: key)
        #expect(again != sealed)
        #expect(try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: again, associatedData: associatedData, key: key).publicKey == pair.publicKey)

        #expect(throws: CryptoError.unwrapFailed) {
            try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: sealed, associatedData: associatedData, key: SecretKey())
        }
        #expect(throws: CryptoError.unwrapFailed) {
            try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: sealed, associatedData: associatedData + [0], key: key)
        }
        for index in [0, 30, sealed.count - 1] {
            var flipped = sealed
            flipped[index] ^= 1
            #expect(throws: CryptoError.unwrapFailed) {
                try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: flipped, associatedData: associatedData, key: key)
            }
        }
        #expect(throws: CryptoError.self) {
            try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: Array(sealed.dropLast()), associatedData: associatedData, key: key)
        }
        #expect(throws: CryptoError.self) {
            try IdentityKeyPair(publicKey: Array(pair.publicKey.dropLast()), sealedSecretKey: sealed, associatedData: associatedData, key: key)
        }
    }

    /// The secret key of one pair with the public key of another (sealed with matching associated data, so only the
    /// pair check can tell) is refused.
    @Test func aSecretKeyOfAnotherPairIsRefused() {
        let pair = IdentityKeyPair(), other = IdentityKeyPair()
        let key = SecretKey()
        let sealed = other.sealedSecretKey(associatedData: associatedData, key: key)
        #expect(throws: CryptoError.keyPairMismatch) {
            try IdentityKeyPair(publicKey: pair.publicKey, sealedSecretKey: sealed, associatedData: associatedData, key: key)
        }
        #expect(throws: CryptoError.keyPairMismatch) {
            try IdentityKeyPair(publicKey: [UInt8](repeating: 0, count: 32), sealedSecretKey: sealed, associatedData: associatedData, key: key)
        }
    }

    /// Known answer, computed with Python's hashlib.blake2b (digest_size 64) over `keepsake verification 1` and the
    /// bytes 0…31, each group the big-endian 40-bit number of 5 digest bytes modulo 100,000.
    @Test func theVerificationPhraseIsFiveGroupsOfFiveDigitsFromThePublicKeyAlone() {
        #expect(IdentityKeyPair.verificationPhrase(of: Array(0..<32)) == "12176 96467 69957 06066 42755")
        let pair = IdentityKeyPair()
        #expect(pair.verificationPhrase == IdentityKeyPair.verificationPhrase(of: pair.publicKey))
        #expect(pair.verificationPhrase.wholeMatch(of: /[0-9]{5}( [0-9]{5}){4}/) != nil, "\(pair.verificationPhrase)")
        var flipped = pair.publicKey
        flipped[31] ^= 0x80
        #expect(IdentityKeyPair.verificationPhrase(of: flipped) != pair.verificationPhrase)
    }
}
