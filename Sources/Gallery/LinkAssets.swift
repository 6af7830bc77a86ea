/// The public link page's files, embedded in the binary from Sources/Gallery/Links (served under `/l/assets/`).
public enum LinkAssets {
    /// link-crypto.js: libsodium's secretstream (pull) and BLAKE2b for the page, which WebCrypto lacks.
    public static let crypto: [UInt8] = PackageResources.link_crypto_js
}
