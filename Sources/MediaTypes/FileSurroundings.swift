import FileSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the capture-time fallbacks need from beside a file (SPEC 3): its name and the bytes of its XMP and Google
/// Takeout sidecars. Gathered by the process that may look around the file: a media worker sees the file alone.
public struct FileSurroundings: Codable, Sendable, Equatable {
    /// The file's own name (its last path component), for a date in it.
    public var name: BytePath
    public var xmpSidecar: Data?
    public var takeoutSidecar: Data?

    public init(name: BytePath, xmpSidecar: Data? = nil, takeoutSidecar: Data? = nil) {
        self.name = name
        self.xmpSidecar = xmpSidecar
        self.takeoutSidecar = takeoutSidecar
    }

    /// The surroundings of the file at `path`: the first sidecar of each kind found beside it.
    public init(beside path: BytePath) {
        let name = path.lastComponent
        let folder = path.parent
        self.init(name: name,
                  xmpSidecar: Self.xmpNames(for: name.bytes).lazy.compactMap { Self.smallFile(folder.appending($0)) }.first,
                  takeoutSidecar: Self.takeoutNames(for: name.bytes).lazy.compactMap { Self.smallFile(folder.appending($0)) }.first)
    }

    /// `NAME.EXT.xmp` as darktable writes it, or `NAME.xmp` as Lightroom does.
    public static func xmpNames(for name: [UInt8]) -> [[UInt8]] {
        let stem = name.lastIndex(of: UInt8(ascii: ".")).map { Array(name[..<$0]) } ?? name
        return [name + Array(".xmp".utf8), name + Array(".XMP".utf8), stem + Array(".xmp".utf8), stem + Array(".XMP".utf8)]
    }

    /// The Takeout JSON names for a file (`TakeoutMetadata.sidecarNames`). A name that is not
    /// UTF-8 is read as Latin-1 (one character a byte) and its sidecars' names turned back to the same bytes, so
    /// `caf\xE9.jpg` finds `caf\xE9.jpg.json`.
    public static func takeoutNames(for fileName: [UInt8]) -> [[UInt8]] {
        if let text = String(validating: fileName, as: UTF8.self) { return takeoutNames(for: text).map { Array($0.utf8) } }
        let latin1 = String(String.UnicodeScalarView(fileName.map { Unicode.Scalar($0) }))
        return takeoutNames(for: latin1).map { $0.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
    }

    public static func takeoutNames(for fileName: String) -> [String] { TakeoutMetadata.sidecarNames(for: fileName) }

    /// The contents of a sidecar-sized file (1 byte to 1 MiB), or nil.
    private static func smallFile(_ path: BytePath) -> Data? {
        guard let fd = try? PathOpener.open(path, flags: O_RDONLY | O_NONBLOCK) else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0, info.st_size <= 1 << 20 else { return nil }
        var data = Data(count: Int(info.st_size))
        var offset = 0
        while offset < data.count {
            let got = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            offset += got
        }
        return data
    }
}
