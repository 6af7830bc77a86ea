import CSodium

/// A 32-byte symmetric key held in libsodium's guarded memory (`sodium_malloc`: guard pages, locked, left out of core
/// dumps with `MADV_DONTDUMP`), zeroed when the key is released.
public final class SecretKey: Sendable {
    public static let byteCount = 32

    // Written once in init, zeroed in deinit; never shared mutably.
    private nonisolated(unsafe) let storage: UnsafeMutableRawBufferPointer

    /// A fresh random key.
    public convenience init() {
        self.init(filledBy: { randombytes_buf($0.baseAddress!, $0.count) })
    }

    /// A key from raw bytes; the caller should `wipe` its copy.
    public convenience init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else { throw .malformed("a key must be \(Self.byteCount) bytes, got \(bytes.count)") }
        self.init(filledBy: { out in bytes.withUnsafeBytes { out.copyMemory(from: $0) } })
    }

    init(filledBy fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition((try? requireSodium()) != nil, "libsodium unavailable")
        guard let memory = sodium_malloc(Self.byteCount) else { fatalError("out of memory for a key") }
        storage = UnsafeMutableRawBufferPointer(start: memory, count: Self.byteCount)
        fill(storage)
    }

    deinit {
        sodium_free(storage.baseAddress)  // zeroes it first
    }

    /// Calls `body` with the key's bytes, which must not escape it.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    func withPointer<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        body(storage.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }
}
