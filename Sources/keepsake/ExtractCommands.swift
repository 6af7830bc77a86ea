import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import FileSystem
import MediaTypes
import Store

struct ThumbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "thumb", abstract: "Write an item's decrypted thumbnail (JPEG).")

    @Argument(help: "The item id (from `keepsake ls`).")
    var id: String

    @Option(help: "The JPEG file to write.")
    var to: String

    @Flag(help: "Write the photo's large rendition (made for HEIC, RAW and TIFF photos) instead.")
    var rendition = false

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let (library, item) = try libraryOptions.openItem(id)
        guard let object = rendition ? item.renditionObject : item.thumbnailObject else {
            throw UsageError(message: "item \(id) has no \(rendition ? "rendition" : "thumbnail")")
        }
        try writeDecrypted(library: library, itemId: id, object: object, to: to)
    }
}

struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Write a video's HLS playlist, its (AES-128) segment file and their key into a folder, for any player.")

    @Argument(help: "The item id (from `keepsake ls`).")
    var id: String

    @Option(help: "The folder to write playlist.m3u8, \(StreamOptions.segmentFileName) and \(StreamOptions.keyFileName) into.")
    var to: String

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let (library, item) = try libraryOptions.openItem(id)
        guard let playlist = item.playlistObject, let stream = item.streamObject else { throw UsageError(message: "item \(id) has no stream") }
        try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
        // The segments stay AES-128 encrypted as HLS expects; their key goes into a file of its own (readable by its
        // owner only) that the playlist names by a relative URI, which every player opens without options. The
        // playlist is written last: without its segments and key it would be of no use.
        var stored: [UInt8] = []
        try library.readDecrypted(ObjectName(playlist), key: try library.fileKey(of: id)) { stored += $0 }
        let (text, key) = try HLSPlaylistKey.separate(String(decoding: stored, as: UTF8.self), keyURI: StreamOptions.keyFileName)
        try writeAtomically(to: to + "/" + StreamOptions.segmentFileName) { sink in
            try library.readStored(ObjectName(stream), into: sink)
        }
        try writeAtomically(to: to + "/" + StreamOptions.keyFileName, mode: 0o600) { sink in try key.withUnsafeBytes(sink) }
        try writeAtomically(to: to + "/playlist.m3u8") { sink in try Array(text.utf8).withUnsafeBytes(sink) }
    }
}

extension LibraryOptions {
    /// Opens the library and finds item `id` in it.
    func openItem(_ id: String) throws -> (Library, ItemRecord) {
        let library = try open()
        guard let item = try library.index.item(id: id) else { throw UsageError(message: "no item \(id)") }
        return (library, item)
    }
}

private func writeDecrypted(library: Library, itemId: String, object: String, to path: String) throws {
    let key = try library.fileKey(of: itemId)
    try writeAtomically(to: path) { sink in try library.readDecrypted(ObjectName(object), key: key, into: sink) }
}

/// Writes to a temporary name beside `path` (created with `mode`) and renames it into place only when `produce`
/// succeeded.
private func writeAtomically(to path: String, mode: mode_t = 0o644,
                             _ produce: (@escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    let temp = path + ".keepsake-partial"
    unlink(temp)
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw UsageError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    do {
        try produce { bytes in
            do throws(Errno) { try FileIO.writeFully(fd, bytes) } catch {
                throw UsageError(message: "cannot write \(path): \(String(cString: strerror(error.code)))")
            }
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            throw UsageError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        guard rename(temp, path) == 0 else { throw UsageError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    } catch {
        close(fd)
        unlink(temp)
        throw error
    }
}
