#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MediaTypes

/// A file opened for positioned reads (`pread`): every stage seeks to the headers, boxes, previews or tiles
/// it needs and never reads more. The errors it throws carry the stage that opened it.
final class MediaFile {
    /// The most one tolerant `read` may ask for; callers read boxes and segments far smaller than this.
    static let maximumRead = 32 << 20

    let path: String
    let size: UInt64
    let modificationTime: Int
    let stage: MediaError.Stage
    private let descriptor: Int32

    init(path: String, stage: MediaError.Stage) throws(MediaError) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw MediaError(stage, .io("cannot open \(path): \(Self.lastError())")) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let why = Self.lastError()
            close(fd)
            throw MediaError(stage, .io("cannot stat \(path): \(why)"))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw MediaError(stage, .io("\(path) is not a regular file"))
        }
        self.path = path
        self.stage = stage
        self.descriptor = fd
        self.size = UInt64(max(0, info.st_size))
        self.modificationTime = Int(info.st_mtim.tv_sec)
    }

    deinit { close(descriptor) }

    /// Up to `count` bytes at `offset`: fewer at the end of the file, none past it.
    func read(at offset: UInt64, count: Int) -> [UInt8] {
        guard offset < size, count > 0 else { return [] }
        let wanted = Int(min(UInt64(min(count, Self.maximumRead)), size - offset))
        var buffer = [UInt8](repeating: 0, count: wanted)
        let (done, _) = buffer.withUnsafeMutableBufferPointer { fillPartially($0, from: offset) }
        if done < wanted { buffer.removeLast(wanted - done) }
        return buffer
    }

    func view(at offset: UInt64, count: Int) -> ByteView { ByteView(read(at: offset, count: count)) }

    /// Exactly `count` bytes at `offset`; throws when the file ends first.
    func bytes(at offset: Int, count: Int) throws(MediaError) -> [UInt8] {
        try checkRange(offset, count)
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { (buffer) throws(MediaError) in try fill(buffer, from: offset) }
        return out
    }

    /// Throws unless `count` bytes at `offset` lie inside the file.
    func checkRange(_ offset: Int, _ count: Int) throws(MediaError) {
        guard offset >= 0, count >= 0, UInt64(offset) <= size, UInt64(count) <= size - UInt64(offset) else {
            throw MediaError(stage, .corrupt("\(count) bytes at \(offset) lie beyond the end of the file (\(size) bytes)"))
        }
    }

    /// Fills `buffer` from `offset` on; throws when the file ends first.
    func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>, from offset: Int) throws(MediaError) {
        let (done, failure) = fillPartially(buffer, from: UInt64(offset))
        guard done == buffer.count else {
            let why = failure == 0 ? "end of file" : String(cString: strerror(failure))
            throw MediaError(stage, .io("cannot read \(path) at \(offset + done): \(why)"))
        }
    }

    /// How many bytes of `buffer` it could fill from `offset` on, and the `errno` of the read that stopped
    /// short (0 at the end of the file).
    private func fillPartially(_ buffer: UnsafeMutableBufferPointer<UInt8>, from offset: UInt64) -> (Int, failure: Int32) {
        var done = 0
        while done < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if got < 0 && errno == EINTR { continue }
            if got < 0 { return (done, errno) }
            if got == 0 { return (done, 0) }
            done += got
        }
        return (done, 0)
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
