import CSodium

/// libsodium is initialised once per process, on first use.
private let sodiumInitialised: Bool = sodium_init() >= 0

func requireSodium() throws(CryptoError) {
    guard sodiumInitialised else { throw .sodiumUnavailable }
}

/// Cryptographically secure random bytes.
public func randomBytes(_ count: Int) -> [UInt8] {
    precondition(sodiumInitialised, "libsodium unavailable")
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { randombytes_buf(base, $0.count) } }
    return bytes
}

/// Overwrites `bytes` with zeros in a way the compiler cannot optimise away.
public func wipe<T: FixedWidthInteger>(_ bytes: inout [T]) {
    bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
}
