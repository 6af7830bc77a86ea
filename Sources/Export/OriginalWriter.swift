import FileSystem
import KeepsakeCrypto
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Decrypts one original into place, streaming (one chunk in memory at a time), and checks it against the
/// size and BLAKE2b recorded at ingest before it is renamed to its name.
struct OriginalWriter {
    let library: Library

    func write(_ original: OriginalRecord, key: SecretKey, to path: BytePath, modified: Instant?,
               progress: @escaping (Int64) -> Void) throws {
        let temp = DurableFile.temporaryPath(for: path)
        let fd = try DurableFile.create(temp)
        do {
            let hasher = Blake2b()
            var total: Int64 = 0
            try library.readDecrypted(ObjectName(original.objectName), key: key) { chunk in
                try DurableFile.writeAll(fd, chunk, path: temp)
                hasher.update(chunk)
                total += Int64(chunk.count)
                progress(Int64(chunk.count))
            }
            guard total == original.size else {
                throw ExportError.sizeMismatch(name: original.name.description, expected: original.size, actual: total)
            }
            let digest = hasher.finalize().hexString
            guard digest == original.blake2b else {
                throw ExportError.checksumMismatch(name: original.name.description, expected: original.blake2b, actual: digest)
            }
            if let modified {
                let time = timespec(tv_sec: Int(modified.seconds), tv_nsec: Int(modified.nanoseconds))
                // Best effort: some filesystems refuse some dates (FAT before 1980); the bytes matter more.
                _ = [time, time].withUnsafeBufferPointer { futimens(fd, $0.baseAddress) }
            }
            try DurableFile.sync(fd, path: temp)
        } catch {
            close(fd)
            _ = temp.withCString { unlink($0) }
            throw error
        }
        close(fd)
        try DurableFile.rename(temp, to: path)
    }

    /// True when the file at `path` has exactly `original`'s bytes.
    static func matches(_ path: BytePath, _ original: OriginalRecord) throws(ExportError) -> Bool {
        guard DurableFile.content(at: path) == .file(size: original.size) else { return false }
        let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw .io(operation: "open", path: "\(path)", errno: errno) }
        defer { close(fd) }
        let hasher = Blake2b()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let got = read(fd, buffer.baseAddress, buffer.count)
            if got < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: "\(path)", errno: errno)
            }
            if got == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
        }
        return hasher.finalize().hexString == original.blake2b
    }
}
