#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for positioned reads of bounded size: the metadata stage seeks to headers and boxes
/// and never reads a file whole.
final class MediaFile {
    /// The most one read may ask for; callers read boxes and segments far smaller than this.
    static let maximumRead = 32 << 20

    let path: String
    let size: UInt64
    let modificationTime: Int
    private let descriptor: Int32

    init(path: String) throws(MediaError) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw MediaError(.metadata, .io("cannot open \(path): \(Self.lastError())")) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let why = Self.lastError()
            close(fd)
            throw MediaError(.metadata, .io("cannot stat \(path): \(why)"))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw MediaError(.metadata, .io("\(path) is not a regular file"))
        }
        self.path = path
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
        var done = 0
        buffer.withUnsafeMutableBytes { raw in
            while done < wanted {
                let got = pread(descriptor, raw.baseAddress! + done, wanted - done, off_t(offset) + off_t(done))
                if got <= 0 { break }
                done += got
            }
        }
        if done < wanted { buffer.removeLast(wanted - done) }
        return buffer
    }

    func view(at offset: UInt64, count: Int) -> ByteView { ByteView(read(at: offset, count: count)) }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
