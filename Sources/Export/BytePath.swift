import Foundation

/// A path as the bytes the kernel takes: the names in it need not be UTF-8 (old cameras, Latin-1 archives, Windows
/// shares). Printed escaped (`printable`); kept in the state file as text when it is UTF-8, else as base64.
struct BytePath: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    var bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { bytes = Array(string.utf8) }
    init(stringLiteral string: String) { self.init(string) }

    static func < (left: BytePath, right: BytePath) -> Bool { left.bytes.lexicographicallyPrecedes(right.bytes) }

    /// `self/name`.
    func appending(_ name: [UInt8]) -> BytePath { BytePath(bytes: bytes + [UInt8(ascii: "/")] + name) }
    func appending(_ name: String) -> BytePath { appending(Array(name.utf8)) }

    /// Up to the last `/` (the folder), and after it (the name).
    var parent: BytePath {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return BytePath(".") }
        return BytePath(bytes: slash == 0 ? [UInt8(ascii: "/")] : Array(bytes[..<slash]))
    }
    var lastName: [UInt8] {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return bytes }
        return Array(bytes[(slash + 1)...])
    }

    /// Calls `body` with the path NUL-terminated, for a system call.
    func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try (bytes.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    var description: String { PrintableName.escaped(bytes) }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            bytes = Array(text.utf8)
        } else {
            let raw = try container.decode(Raw.self)
            guard let data = Data(base64Encoded: raw.base64) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "base64 expected")
            }
            bytes = Array(data)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let text = String(validating: bytes, as: UTF8.self) {
            try container.encode(text)
        } else {
            try container.encode(Raw(base64: Data(bytes).base64EncodedString()))
        }
    }

    /// A path that is not UTF-8, in JSON.
    private struct Raw: Codable {
        var base64: String
    }
}

/// Names as they are printed: UTF-8 as it is, but every byte that is not UTF-8 as `\xNN`, control characters as
/// `\n`, `\t` or `\xNN`, and a backslash as `\\` (so that the printed form says which is which).
enum PrintableName {
    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        for unit in Utf8Units(bytes) {
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
}

/// The bytes of a name as its characters: each well-formed UTF-8 sequence is one scalar, and each byte that is not
/// part of one is on its own.
struct Utf8Units: Sequence {
    enum Unit: Equatable {
        case scalar(Unicode.Scalar)
        case invalid(UInt8)

        /// Its bytes in the name.
        var width: Int {
            switch self {
            case .invalid: 1
            case .scalar(let scalar): UTF8.width(scalar)
            }
        }
    }

    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func makeIterator() -> AnyIterator<Unit> {
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
