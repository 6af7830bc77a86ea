import Foundation
import Testing
@testable import KeepsakeCrypto

/// The unlock lets go of the process's clean code pages before Argon2id's 256 MiB, and the process runs on.
struct MappedCodeTests {
    @Test func cleanCodePagesAreLetGoAndComeBackOnUse() throws {
        let before = MappedCode.residentKiB()
        let released = MappedCode.letGo()
        let after = MappedCode.residentKiB()
        // Other tests run beside this one in this process and bring code back at once (a full run once measured more
        // after than before): what the resident set does is measured on the `keepsake` process alone, by
        // BoundedMemoryTests (the unlock's peak). Here: mappings were let go, and the process runs on.
        #expect(released > 0)
        // Everything still runs: code comes back from the page cache as it is used.
        let kdf = PassphraseKDF(salt: Array(repeating: 7, count: PassphraseKDF.saltByteCount), opsLimit: 1, memLimit: 8192)
        let first = try kdf.deriveKey(from: "correct horse"), second = try kdf.deriveKey(from: "correct horse")
        let same = first.withPointer { a in second.withPointer { b in memcmp(a, b, SecretKey.byteCount) == 0 } }
        #expect(same)
        print("resident code: \(before) KiB, \(after) KiB after letting go of \(released / 1024) KiB of mappings")
    }
}
