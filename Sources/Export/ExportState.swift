import FileSystem
import Foundation

/// One original of one item in one album: the unit that is exported once per album it is in.
/// `album` is nil for Uncategorized.
struct ExportKey: Hashable, Sendable, Codable {
    var itemId: String
    /// The original's role in its item (`main`, or `still` / `video` of a Live Photo).
    var role: String
    var album: String?
}

/// What was exported into a folder, so that a rerun exports only what is new and moves to Trash what is gone.
/// Kept as a snapshot, `DIR/.keepsake-export.json`, and the changes made since it was written, `ExportLog`.
struct ExportState: Codable, Sendable, Equatable {
    static let fileName = ".keepsake-export.json"

    struct Folder: Codable, Sendable, Equatable {
        var album: String?
        /// The album's folder inside the export folder; once chosen it never changes.
        var folder: BytePath
    }

    struct File: Codable, Sendable, Equatable {
        var key: ExportKey
        /// Relative to the export folder: `FOLDER/NAME`.
        var path: BytePath
        var size: Int64
        var blake2b: String
    }

    var version = 1
    var folders: [Folder] = []
    var files: [File] = []

    /// The state in `directory`: its snapshot with the changes of its log applied; an empty one when there is neither.
    static func load(from directory: String) throws(ExportError) -> ExportState {
        let path = directory + "/" + fileName
        var state = ExportState()
        if let data = try DurableFile.contents(of: BytePath(path)) {
            do { state = try JSONDecoder().decode(ExportState.self, from: data) } catch {
                throw .stateDamaged(path: path, reason: "\(error)")
            }
            guard state.version == 1 else { throw .stateDamaged(path: path, reason: "unknown version \(state.version)") }
            for file in state.files { try file.checkPath(in: path) }
        }
        state.apply(try ExportLog.changes(in: directory))
        return state
    }

    /// Applies `changes` in order. Applying changes that the state already holds leaves it as it is: a log that a
    /// killed compaction left beside the snapshot made from it is replayed harmlessly.
    mutating func apply(_ changes: [ExportChange]) {
        guard !changes.isEmpty else { return }
        var slots: [File?] = files
        var position = Dictionary(files.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { $1 })
        for change in changes {
            switch change {
            case .assigned(let folder):
                if !folders.contains(where: { $0.album == folder.album }) { folders.append(folder) }
            case .recorded(let file):
                if let index = position[file.key] {
                    slots[index] = file
                } else {
                    position[file.key] = slots.count
                    slots.append(file)
                }
            case .forgotten(let key):
                if let index = position.removeValue(forKey: key) { slots[index] = nil }
            }
        }
        files = slots.compactMap { $0 }
    }

    /// Replaces the snapshot in `directory` atomically (temporary file, fsync, rename, fsync of the folder).
    func writeSnapshot(in directory: String) throws(ExportError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(self) } catch {
            throw .stateDamaged(path: directory + "/" + Self.fileName, reason: "cannot encode: \(error)")
        }
        try DurableFile.write(data, to: BytePath(directory).appending(Self.fileName))
        try DurableFile.syncDirectory(BytePath(directory))
    }
}

extension ExportState.File {
    /// Paths are renamed into Trash later: anything but FOLDER/NAME inside the export folder is refused.
    func checkPath(in stateFile: String) throws(ExportError) {
        let dot = UInt8(ascii: ".")
        let parts = path.bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.elementsEqual([dot]) && !$0.elementsEqual([dot, dot]) }),
              !path.bytes.contains(0) else {
            throw .stateDamaged(path: stateFile, reason: "\(path) is not FOLDER/NAME")
        }
    }
}

/// One change to the export state: one line of `ExportLog`.
enum ExportChange: Sendable, Equatable {
    /// An album was given its folder.
    case assigned(ExportState.Folder)
    /// A file was put in place (its original and its sidecar).
    case recorded(ExportState.File)
    /// A file was moved to Trash, or found gone from the export folder.
    case forgotten(ExportKey)
}

extension ExportChange: Codable {
    private enum CodingKeys: String, CodingKey {
        case folder, file, forgotten
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let folder = try container.decodeIfPresent(ExportState.Folder.self, forKey: .folder) {
            self = .assigned(folder)
        } else if let file = try container.decodeIfPresent(ExportState.File.self, forKey: .file) {
            self = .recorded(file)
        } else if let key = try container.decodeIfPresent(ExportKey.self, forKey: .forgotten) {
            self = .forgotten(key)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "none of folder, file, forgotten"))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .assigned(let folder): try container.encode(folder, forKey: .folder)
        case .recorded(let file): try container.encode(file, forKey: .file)
        case .forgotten(let key): try container.encode(key, forKey: .forgotten)
        }
    }
}
