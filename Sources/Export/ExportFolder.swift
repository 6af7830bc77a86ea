import FileSystem
import Foundation

/// Where things are inside the export folder.
struct ExportPaths: Sendable {
    let target: BytePath

    func absolute(_ relativePath: BytePath) -> BytePath { target.appending(relativePath.bytes) }

    /// `FOLDER/metadata/NAME.json` for `FOLDER/NAME`, absolute.
    func sidecar(of relativePath: BytePath) -> BytePath {
        let (folder, name) = Self.split(relativePath)
        return absolute(BytePath(bytes: folder)).appending(PortableName.metadataFolder).appending(name + Array(".json".utf8))
    }

    /// `FOLDER/NAME` into its two parts (album folders are one level deep; the state file is checked for that).
    static func split(_ relativePath: BytePath) -> (folder: [UInt8], name: [UInt8]) {
        let bytes = relativePath.bytes
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return (bytes, []) }
        return (Array(bytes[..<slash]), Array(bytes[(slash + 1)...]))
    }
}

/// The export folder and what its state file says is in it: which folder each album has, and where each
/// exported file is. Changes are made on disk first, then recorded in `state`; the caller logs them (`ExportLog`).
struct ExportFolder: Sendable {
    let paths: ExportPaths
    /// What names the folder's file system takes, and how it compares them.
    let fileSystem: TargetFileSystem
    private(set) var state: ExportState
    private var position: [ExportKey: Int] = [:]
    /// Per album folder, the clash keys of the names the state has given out.
    private var claimed: [[UInt8]: Set<[UInt8]>] = [:]

    /// Where a file goes, whether a complete copy from an interrupted run is already there, and how its name differs
    /// from the original's (nil when it does not, or when it was named by an earlier run).
    struct Placement {
        var relativePath: BytePath
        var adopted: Bool
        var rename: ExportRename?
    }

    init(target: String, state: ExportState, fileSystem: TargetFileSystem) {
        paths = ExportPaths(target: BytePath(target))
        self.fileSystem = fileSystem
        self.state = state
        reindex()
    }

    private var target: BytePath { paths.target }
    private func absolute(_ relativePath: BytePath) -> BytePath { paths.absolute(relativePath) }
    private func clashKey(_ name: [UInt8]) -> [UInt8] { PortableName.clashKey(name, on: fileSystem) }

    /// Exported earlier and still there.
    func isInPlace(_ key: ExportKey) -> Bool {
        guard let index = position[key] else { return false }
        if case .file = DurableFile.content(at: absolute(state.files[index].path)) { return true }
        return false
    }

    /// Removes the temporary files of interrupted runs from the export folder, its album folders and their
    /// metadata folders (the only places where they are written).
    func removePartials() throws(ExportError) -> Int {
        var removed = try DurableFile.removePartials(in: target)
        for name in DurableFile.names(in: target) where name.first != UInt8(ascii: ".") {
            let folder = target.appending(name)
            guard DurableFile.content(at: folder) == .folder else { continue }
            removed += try DurableFile.removePartials(in: folder)
            removed += try DurableFile.removePartials(in: folder.appending(PortableName.metadataFolder))
        }
        return removed
    }

    /// Gives `album` a folder if it has none: its name as the file system can hold it, with `(n)` when another album
    /// has it. Returns the folder given and how its name differs from the album's; nil when the album had one.
    mutating func assignFolder(to album: String?) -> (folder: ExportState.Folder, rename: ExportRename?)? {
        guard folderName(of: album) == nil else { return nil }
        let taken = Set(state.folders.map { clashKey($0.folder.bytes) })
        let original = Array((album ?? Exporter.uncategorizedFolder).utf8)
        var fitted = PortableName.fitted(original, for: fileSystem, isFolder: true, fallback: "Unnamed album")
        let free = PortableName.firstFree(fitted.name, isFolder: true, on: fileSystem) { taken.contains(clashKey($0)) }
        if free != fitted.name {
            fitted.reasons.append("another album's folder, or the export's own, has that name")
        }
        let folder = ExportState.Folder(album: album, folder: BytePath(bytes: free))
        state.folders.append(folder)
        let rename = fitted.reasons.isEmpty ? nil : ExportRename(original: original, written: free,
                                                                  why: fitted.reasons, isAlbum: true)
        return (folder, rename)
    }

    private func folderName(of album: String?) -> BytePath? {
        state.folders.first { $0.album == album }?.folder
    }

    /// Where `file` goes: its recorded place when it was exported before (and has since gone missing), else its
    /// name as the file system can hold it, with `(n)` when the folder already has that name for another file. A
    /// file found under a free name with exactly this original's bytes was put there by a run killed before it could
    /// record it: it is adopted rather than exported again. The name is reserved until `record` or `release`.
    mutating func place(_ file: PlannedFile) throws(ExportError) -> Placement {
        guard let folder = folderName(of: file.key.album) else { preconditionFailure("folders are assigned before placing") }
        let directory = absolute(folder)
        try DurableFile.makeDirectory(directory.appending(PortableName.metadataFolder))
        if let index = position[file.key] { return Placement(relativePath: state.files[index].path, adopted: false) }
        let claimedHere = claimed[folder.bytes, default: []]
        var adopted = false
        var fitted = PortableName.fitted(file.name, for: fileSystem, isFolder: false, fallback: "unnamed")
        let name = try PortableName.firstFree(fitted.name, isFolder: false, on: fileSystem) { (candidate) throws(ExportError) -> Bool in
            if claimedHere.contains(clashKey(candidate)) { return true }
            let path = directory.appending(candidate)
            switch DurableFile.content(at: path) {
            case .nothing: return false
            case .file:
                adopted = try OriginalWriter.matches(path, file.original)
                return !adopted
            case .folder, .other: return true
            }
        }
        if name != fitted.name { fitted.reasons.append("another file in the folder has that name") }
        let key = clashKey(name)
        claimed[folder.bytes, default: []].insert(key)
        let relativePath = folder.appending(name)
        let rename = fitted.reasons.isEmpty ? nil : ExportRename(original: file.name, written: relativePath.bytes,
                                                                  why: fitted.reasons, isAlbum: false)
        return Placement(relativePath: relativePath, adopted: adopted, rename: rename)
    }

    /// Gives back the name `place` reserved for a file that could not be exported.
    mutating func release(_ placement: Placement, of key: ExportKey) {
        guard position[key] == nil else { return }
        let (folder, name) = ExportPaths.split(placement.relativePath)
        let clash = clashKey(name)
        claimed[folder]?.remove(clash)
    }

    /// Exported earlier and still there, but without its sidecar (lost, or deleted by the user).
    func lacksSidecar(_ key: ExportKey) -> Bool {
        guard isInPlace(key), let index = position[key] else { return false }
        return DurableFile.content(at: paths.sidecar(of: state.files[index].path)) == .nothing
    }

    /// Where the file of `key` was exported to, if it was.
    func recordedPath(of key: ExportKey) -> BytePath? {
        position[key].map { state.files[$0].path }
    }

    /// Records `file` as exported, its original and sidecar being in place. The folders are not fsynced: the log's
    /// line is, and a recorded file or sidecar that a power loss took away is written again by the next run.
    mutating func record(_ file: ExportState.File) {
        if let index = position[file.key] {
            state.files[index] = file
        } else {
            position[file.key] = state.files.count
            state.files.append(file)
        }
    }

    /// Moves an exported file and its sidecar into its album folder's Trash (never deletes them) and forgets it; the
    /// caller logs that. Nil when the file was no longer there (a killed run may have moved it already).
    mutating func moveToTrash(_ file: ExportState.File) throws(ExportError) -> ExportOutcome? {
        let (folder, name) = ExportPaths.split(file.path)
        let directory = absolute(BytePath(bytes: folder))
        let trash = directory.appending(PortableName.trashFolder)
        let sidecar = paths.sidecar(of: file.path)
        var outcome: ExportOutcome?
        var trashedName = name
        if case .file = DurableFile.content(at: absolute(file.path)) {
            try DurableFile.makeDirectory(trash)
            trashedName = PortableName.firstFree(name, isFolder: false, on: fileSystem) {
                DurableFile.content(at: trash.appending($0)) != .nothing
            }
            try DurableFile.rename(absolute(file.path), to: trash.appending(trashedName))
            try DurableFile.syncDirectory(trash)
            let trashedPath = BytePath(bytes: folder).appending(PortableName.trashFolder).appending(trashedName)
            outcome = ExportOutcome(path: trashedPath.description, itemId: file.key.itemId,
                                    album: file.key.album, status: .trashed, bytes: file.size)
        }
        if DurableFile.content(at: sidecar) != .nothing {
            let trashedMetadata = trash.appending(PortableName.metadataFolder)
            try DurableFile.makeDirectory(trashedMetadata)
            let jsonName = PortableName.firstFree(trashedName + Array(".json".utf8), isFolder: false, on: fileSystem) {
                DurableFile.content(at: trashedMetadata.appending($0)) != .nothing
            }
            try DurableFile.rename(sidecar, to: trashedMetadata.appending(jsonName))
            try DurableFile.syncDirectory(trashedMetadata)
        }
        try DurableFile.syncDirectory(directory)
        state.files.removeAll { $0.key == file.key }
        reindex()
        return outcome
    }

    private mutating func reindex() {
        position = [:]
        claimed = [:]
        for (index, file) in state.files.enumerated() {
            position[file.key] = index
            let (folder, name) = ExportPaths.split(file.path)
            let key = clashKey(name)
            claimed[folder, default: []].insert(key)
        }
    }
}
