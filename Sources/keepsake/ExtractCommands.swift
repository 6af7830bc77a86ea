import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MediaTypes
import Store

struct ThumbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "thumb", abstract: "Write an item's decrypted thumbnail (JPEG).")

    @Argument(help: "The item id (from `keepsake ls`).")
    var id: String

    @Option(help: "The JPEG file to write.")
    var to: String

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let (library, item) = try libraryOptions.openItem(id)
        guard let thumbnail = item.thumbnailObject else { throw UsageError(message: "item \(id) has no thumbnail") }
        try writeDecrypted(library: library, itemId: id, object: thumbnail, to: to)
    }
}

struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Write a video's decrypted HLS playlist and its (AES-128) segment file into a folder, for any player.")

    @Argument(help: "The item id (from `keepsake ls`).")
    var id: String

    @Option(help: "The folder to write playlist.m3u8 and \(StreamOptions.segmentFileName) into.")
    var to: String

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let (library, item) = try libraryOptions.openItem(id)
        guard let playlist = item.playlistObject, let stream = item.streamObject else { throw UsageError(message: "item \(id) has no stream") }
        try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
        let playlistPath = to + "/playlist.m3u8"
        try writeDecrypted(library: library, itemId: id, object: playlist, to: playlistPath)
        // The segments stay AES-128 encrypted as HLS expects; the playlist carries their key. Without its segments
        // the playlist is of no use: it goes too.
        do {
            try writeAtomically(to: to + "/" + StreamOptions.segmentFileName) { sink in
                try library.readStored(ObjectName(stream), into: sink)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: playlistPath)
            throw error
        }
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

/// Writes to a temporary name beside `path` and renames it into place only when `produce` succeeded.
private func writeAtomically(to path: String, _ produce: (@escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    let temp = path + ".keepsake-partial"
    guard FileManager.default.createFile(atPath: temp, contents: nil), let handle = FileHandle(forWritingAtPath: temp) else {
        throw UsageError(message: "cannot write \(path)")
    }
    do {
        try produce { handle.write(Data($0)) }
        try handle.synchronize()
        try handle.close()
        guard rename(temp, path) == 0 else { throw UsageError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    } catch {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: temp)
        throw error
    }
}
