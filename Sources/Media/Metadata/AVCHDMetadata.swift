import Foundation
import MediaTypes

/// Recording date and camera of AVCHD clips (MTS/M2TS), which camcorders keep in "MDPM" records of an
/// H.264 SEI user-data message rather than in the container, so libavformat does not see them.
struct AVCHDMetadata: Equatable {
    var captureTime: CaptureTime?
    var make: String?
    var model: String?

    private static let signature: [UInt8] = [0x17, 0xEE, 0x8C, 0x60, 0xF8, 0x4D, 0x11, 0xD9,
                                             0x8C, 0xD6, 0x08, 0x00, 0x20, 0x0C, 0x9A, 0x66] + Array("MDPM".utf8)
    /// The first I-frame carries the records; a few hundred kilobytes of packets reach it.
    private static let scanLength = 2 << 20
    private static let makers: [UInt16: String] = [0x0103: "Panasonic", 0x0108: "Sony", 0x1011: "Canon", 0x1104: "JVC"]

    static func read(_ file: MediaFile, packetSize: Int, now: Int) -> AVCHDMetadata? {
        let bytes = file.read(at: 0, count: scanLength)
        let headerSkip = packetSize - 188
        // Reassemble each PID's payload so records split across packets are whole again.
        var streams: [UInt16: [UInt8]] = [:]
        var offset = 0
        while offset + packetSize <= bytes.count {
            let packet = offset + headerSkip
            offset += packetSize
            guard bytes[packet] == 0x47 else { continue }
            let pid = UInt16(bytes[packet + 1] & 0x1F) << 8 | UInt16(bytes[packet + 2])
            let adaptation = (bytes[packet + 3] >> 4) & 0x3
            var payload = packet + 4
            if adaptation == 2 { continue }
            if adaptation == 3 { payload += 1 + Int(bytes[packet + 4]) }
            guard payload < packet + 188 else { continue }
            streams[pid, default: []] += bytes[payload..<packet + 188]
        }
        for stream in streams.values {
            let view = ByteView(stream)
            guard let start = view.firstIndex(of: signature, below: stream.count) else { continue }
            let records = removingEmulationPrevention(Array(stream[(start + signature.count)...].prefix(1 + 255 * 5 + 64)))
            return parse(records, now: now)
        }
        return nil
    }

    /// `records`: an entry count, then entries of a tag byte and four data bytes.
    static func parse(_ records: [UInt8], now: Int) -> AVCHDMetadata? {
        guard let count = records.first else { return nil }
        var values: [UInt8: [UInt8]] = [:]
        for index in 0..<Int(count) {
            let at = 1 + index * 5
            guard at + 5 <= records.count else { break }
            values[records[at]] = Array(records[at + 1..<at + 5])
        }
        var result = AVCHDMetadata()
        if let first = values[0x18], let second = values[0x19] {
            let zone = first[0]
            let digits = (first[1...3] + second).map { bcd($0) }
            if !digits.contains(nil) {
                let d = digits.map { $0! }
                let clock = WallClock(year: d[0] * 100 + d[1], month: d[2], day: d[3], hour: d[4], minute: d[5], second: d[6])
                // Zone byte: 0x20 sign, 0x1E hours, 0x01 half hour (0x40 flags DST, already in the offset).
                let magnitude = Int((zone >> 1) & 0x0F) * 3_600 + (zone & 0x01 == 1 ? 1_800 : 0)
                let offset = zone & 0x20 != 0 ? -magnitude : magnitude
                result.captureTime = CaptureTimeParsing.plausible(clock, offset, source: .container, now: now)
            }
        }
        if let camera = values[0xE0] {
            result.make = makers[UInt16(camera[0]) << 8 | UInt16(camera[1])]
        }
        if result.make == "Sony" {
            let name = [0xE4, 0xE5, 0xE6].compactMap { values[$0] }.joined().prefix { $0 != 0 }
            let model = String(decoding: name, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if !model.isEmpty { result.model = model }
        }
        return result == AVCHDMetadata() ? nil : result
    }

    private static func bcd(_ byte: UInt8) -> Int? {
        let high = Int(byte >> 4), low = Int(byte & 0x0F)
        return high < 10 && low < 10 ? high * 10 + low : nil
    }

    /// H.264 inserts 0x03 after two zero bytes inside NAL units; take it out again.
    private static func removingEmulationPrevention(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var zeros = 0
        for byte in bytes {
            if zeros >= 2 && byte == 0x03 { zeros = 0; continue }
            zeros = byte == 0 ? zeros + 1 : 0
            result.append(byte)
        }
        return result
    }
}
