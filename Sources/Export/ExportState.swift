import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One original of one item in one album: the unit that is exported once per album it is in.
/// `album` is nil for Uncategorized.
struct ExportKey: Hashable, Sendable, Codable {
    var itemId: String
    /// The original's role in its item (`main`, or `still` / `video` of a Live Photo).
    var role: String
    var album: String?
}

/// What was exported into a folder, so that a rerun exports only what is new and moves to Trash what is gone.
/// Kept in `DIR/.keepsake-export.json`, rewritten atomically after every file.
struct ExportState: Codable, Sendable {
    static let fileName = ".keepsake-export.json"

    struct Folder: Codable, Sendable {
        var album: String?
        /// The album's folder inside the export folder; once chosen it never changes.
        var folder: String
    }

    struct File: Codable, Sendable {
        var key: ExportKey
        /// Relative to the export folder: `FOLDER/NAME`.
        var path: String
        var size: Int64
        var blake2b: String
    }

    var version = 1
    var folders: [Folder] = []
    var files: [File] = []

    /// The state in `directory`, or an empty one when there is none yet.
    static func load(from directory: String) throws(ExportError) -> ExportState {
        let path = directory + "/" + fileName
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            guard errno == ENOENT else { throw .io(operation: "open", path: path, errno: errno) }
            return ExportState()
        }
        let data: Data
        do { data = try FileHandle(fileDescriptor: fd, closeOnDealloc: true).readToEnd() ?? Data() } catch {
            throw .stateDamaged(path: path, reason: "cannot be read: \(error)")
        }
        let state: ExportState
        do { state = try JSONDecoder().decode(ExportState.self, from: data) } catch {
            throw .stateDamaged(path: path, reason: "\(error)")
        }
        guard state.version == 1 else { throw .stateDamaged(path: path, reason: "unknown version \(state.version)") }
        // Paths are renamed into Trash later: anything but FOLDER/NAME inside the export folder is refused.
        for file in state.files {
            let parts = file.path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
                throw .stateDamaged(path: path, reason: "\(file.path) is not FOLDER/NAME")
            }
        }
        return state
    }

    func save(in directory: String) throws(ExportError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(self) } catch {
            throw .stateDamaged(path: directory + "/" + Self.fileName, reason: "cannot encode: \(error)")
        }
        try DurableFile.write(data, to: directory + "/" + Self.fileName)
        try DurableFile.syncDirectory(directory)
    }
}
