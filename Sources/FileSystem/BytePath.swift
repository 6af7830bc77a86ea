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

    /// Valid UTF-8 as it is, except that control characters and every byte that is not part of valid UTF-8 are
    /// `\xNN` (`\n`, `\t`, `\r` for the usual three), and a backslash is `\\`: the printed form names each byte.
    public var description: String { Self.escaped(bytes) }

    /// `bytes` printed as `description` prints a path.
    public static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        for unit in UTF8Units(bytes) {
            switch unit {
            case .invalid(let byte):
                text += hex(byte)
            case .scalar(let scalar):
                switch scalar {
                case "\n": text += "\\n"
                case "\t": text += "\\t"
                case "\r": text += "\\r"
                case "\\": text += "\\\\"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7F {
                        text += hex(UInt8(scalar.value))
                    } else {
                        text.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        return text
    }

    private static func hex(_ byte: UInt8) -> String {
        "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
    }

    /// `self/name`.
    public func appending(_ name: String) -> BytePath { appending(Array(name.utf8)) }

    /// Calls `body` with the path NUL-terminated, for a system call.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try PathOpener.withCString(bytes, body)
    }
}

/// The bytes of a name as its characters: each well-formed UTF-8 sequence is one scalar, and each byte that is not
/// part of one is on its own.
public struct UTF8Units: Sequence {
    public enum Unit: Equatable, Sendable {
        case scalar(Unicode.Scalar)
        case invalid(UInt8)

        /// Its bytes in the name.
        public var width: Int {
            switch self {
            case .invalid: 1
            case .scalar(let scalar): UTF8.width(scalar)
            }
        }
    }

    let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func makeIterator() -> AnyIterator<Unit> {
        var offset = 0
        return AnyIterator {
            guard offset < bytes.count else { return nil }
            let lead = bytes[offset]
            let width = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0
            if width > 0, offset + width <= bytes.count,
               let text = String(validating: bytes[offset..<(offset + width)], as: UTF8.self),
               let scalar = text.unicodeScalars.first, text.unicodeScalars.count == 1 {
                offset += width
                return .scalar(scalar)
            }
            offset += 1
            return .invalid(lead)
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
