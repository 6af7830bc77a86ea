/// The public link page's files (Sources/Gallery/Links/), embedded in the binary: the page fetches nothing from
/// elsewhere, and the server needs no key to serve it.
public enum LinkAssets {
    public static let page: [UInt8] = PackageResources.link_html
    public static let script: [UInt8] = PackageResources.link_js
    public static let style: [UInt8] = PackageResources.link_css
    public static let crypto: [UInt8] = PackageResources.link_crypto_js
}
