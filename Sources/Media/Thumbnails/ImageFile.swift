import CFFmpeg
import Glibc

/// A file read by offset (`pread`), so a HEIF's tiles or a RAW's preview are read without the rest.
final class ImageFile {
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws(MediaError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw MediaError(.thumbnail, .io("cannot open \(path): \(String(cString: strerror(errno)))")) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            close(descriptor)
            throw MediaError(.thumbnail, .io("cannot stat \(path): \(String(cString: strerror(errno)))"))
        }
        size = Int(info.st_size)
    }
    deinit { close(descriptor) }

    /// `count` bytes at `offset`, as a packet ready for a decoder; fails when the file ends first.
    func read(at offset: Int, count: Int) throws(MediaError) -> Packet {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw MediaError(.thumbnail, .corrupt("\(count) bytes at \(offset) lie beyond the end of the file (\(size) bytes)"))
        }
        let packet = try Packet(size: count)
        try fill(packet.bytes, from: offset)
        return packet
    }

    /// `count` bytes at `offset` as an array (for headers and boxes).
    func bytes(at offset: Int, count: Int) throws(MediaError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw MediaError(.thumbnail, .corrupt("\(count) bytes at \(offset) lie beyond the end of the file (\(size) bytes)"))
        }
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { (buffer) throws(MediaError) in try fill(buffer, from: offset) }
        return out
    }

    private func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>, from offset: Int) throws(MediaError) {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw MediaError(.thumbnail, .io("cannot read \(path) at \(offset + done): \(n == 0 ? "end of file" : String(cString: strerror(errno)))"))
            }
            done += n
        }
    }
}
