/// One HTTP byte range (RFC 9110 §14.1.2) of a resource of `size` bytes, resolved to offsets. Several ranges in one
/// header are answered with the whole resource, as the RFC allows.
enum ByteRange {
    case whole
    case part(Range<UInt64>)
    case unsatisfiable

    init(header: String?, size: UInt64) {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else {
            self = .whole
            return
        }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let sides = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard sides.count == 2 else {
            self = .whole
            return
        }
        let first = sides[0].isEmpty ? nil : UInt64(sides[0]), last = sides[1].isEmpty ? nil : UInt64(sides[1])
        switch (sides[0].isEmpty, sides[1].isEmpty) {
        case (true, false):  // the last N bytes
            guard let count = last else { self = .whole; return }
            self = count == 0 || size == 0 ? .unsatisfiable : .part(size - min(count, size)..<size)
        case (false, _):
            guard let start = first, sides[1].isEmpty || last != nil else { self = .whole; return }
            guard start < size else { self = .unsatisfiable; return }
            guard let last else { self = .part(start..<size); return }
            guard last >= start else { self = .whole; return }
            self = .part(start..<min(last, size - 1) + 1)
        case (true, true):
            self = .whole
        }
    }
}

import Foundation
