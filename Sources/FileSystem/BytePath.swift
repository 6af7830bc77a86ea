import Foundation

/// A file-system path as the exact bytes the kernel knows it by. Linux names are bytes, not text: a name from an
/// old camera, a Windows share or a Latin-1 archive need not be UTF-8, and a `String` made of it would name another
/// file (or none). Printed (`description`) with its control characters and invalid bytes escaped.
public struct BytePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }
    public init(_ string: String) { bytes = Array(string.utf8) }

    /// The path as text, when its bytes are valid UTF-8.
    public var string: String? { String(validating: bytes, as: UTF8.self) }
    /// The path as text with each invalid byte replaced by U+FFFD, for code that handles paths only as text (the
    /// daemon's watches); the same as `string` for a UTF-8 path.
    public var lossyText: String { String(decoding: bytes, as: UTF8.self) }
    public var isAbsolute: Bool { bytes.first == Self.slash }

    /// The non-empty components between slashes.
    public var components: [ArraySlice<UInt8>] { bytes.split(separator: Self.slash) }

    /// The last component (the file's name); the path itself when it has none ("/").
    public var lastComponent: BytePath { components.last.map { BytePath(bytes: $0) } ?? self }

    /// The folder the last component sits in ("." for a bare name).
    public var parent: BytePath {
        guard let end = bytes.lastIndex(where: { $0 != Self.slash }), let slash = bytes[...end].lastIndex(of: Self.slash) else {
            return BytePath(".")
        }
        let trimmed = bytes[..<slash].lastIndex(where: { $0 != Self.slash }).map { bytes[...$0] } ?? []
        return trimmed.isEmpty ? BytePath("/") : BytePath(bytes: trimmed)
    }

    public func appending(_ component: some Collection<UInt8>) -> BytePath {
        BytePath(bytes: bytes.last == Self.slash ? bytes + component : bytes + [Self.slash] + component)
    }

    public static func < (a: BytePath, b: BytePath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    static let slash = UInt8(ascii: "/")

    /// Valid UTF-8 as it is, except control characters (`\n`, `\t`, `\r`, else `\u{1B}`); each byte that is not part
    /// of valid UTF-8 as `\xFF`.
    public var description: String { Self.escaped(bytes) }

    public static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < bytes.count {
            let length = Self.sequenceLength(bytes[index])
            if length > 0, index + length <= bytes.count,
               let text = String(validating: bytes[index..<index + length], as: UTF8.self), let scalar = text.unicodeScalars.first {
                switch scalar {
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                case _ where scalar.properties.generalCategory == .control:
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                default: out.unicodeScalars.append(scalar)
                }
                index += length
            } else {
                out += "\\x" + (bytes[index] < 16 ? "0" : "") + String(bytes[index], radix: 16, uppercase: true)
                index += 1
            }
        }
        return out
    }

    /// How many bytes a UTF-8 sequence starting with `lead` has; 0 when `lead` cannot start one.
    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }
}

/// In JSON (the journal, the worker protocol): a string when the path is valid UTF-8, as Keepsake has always
/// written it; otherwise an object `{"base64": "..."}` with its exact bytes.
extension BytePath: Codable {
    private enum CodingKeys: String, CodingKey { case base64 }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            self.init(text)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let encoded = try container.decode(String.self, forKey: .base64)
        guard let bytes = Data(base64Encoded: encoded) else {
            throw DecodingError.dataCorruptedError(forKey: .base64, in: container, debugDescription: "not base64")
        }
        self.init(bytes: bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        if let string {
            var container = encoder.singleValueContainer()
            try container.encode(string)
        } else {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Data(bytes).base64EncodedString(), forKey: .base64)
        }
    }
}

extension BytePath: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}
