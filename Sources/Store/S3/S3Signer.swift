import Crypto
import Foundation

/// AWS Signature Version 4 in the `Authorization` header, for the S3 service.
struct S3Signer: Sendable {
    let credentials: S3Credentials
    let region: String

    /// The `Authorization` value for a request. `headers` (lower-case names) are the headers to sign; they must
    /// include `host`, `x-amz-date` (equal to `date`) and `x-amz-content-sha256` (equal to `payloadHash`).
    /// `path` and `query` are already URI-encoded, exactly as they are sent.
    func authorization(method: String, path: String, query: String, headers: [String: String],
                       payloadHash: String, date: AmzDate) -> String {
        let names = headers.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(headers[$0]!.trimmingCharacters(in: .whitespaces))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [method, path, query, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let scope = "\(date.day)/\(region)/s3/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", date.timestamp, scope, Self.sha256Hex(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [date.day, region, "s3", "aws4_request"] { key = SymmetricKey(data: Self.hmac(part, key: key)) }
        let signature = Self.hmac(stringToSign, key: key).hexString
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String { Array(SHA256.hash(data: bytes)).hexString }
    static func sha256Hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { sha256Hex($0) } }

    private static func hmac(_ message: String, key: SymmetricKey) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when kept).
    static func uriEncode(_ text: String, keepingSlashes: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlashes:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// The canonical query string, which is also the one sent: pairs sorted by name, names and values encoded.
    static func canonicalQuery(_ items: [(String, String)]) -> String {
        items.map { (uriEncode($0.0), uriEncode($0.1)) }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }
}

/// A request's time as SigV4 writes it: `20130524T000000Z`, and its day `20130524`.
struct AmzDate: Sendable {
    let timestamp: String
    var day: String { String(timestamp.prefix(8)) }

    init(_ date: Date = Date()) {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        timestamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                           parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
