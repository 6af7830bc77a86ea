import Foundation

/// Where things are inside the export folder.
struct ExportPaths: Sendable {
    let target: String

    func absolute(_ relativePath: String) -> String { target + "/" + relativePath }

    /// `FOLDER/metadata/NAME.json` for `FOLDER/NAME`, absolute.
    func sidecar(of relativePath: String) -> String {
        let (folder, name) = Self.split(relativePath)
        return absolute(folder) + "/" + PortableName.metadataFolder + "/" + name + ".json"
    }

    /// `FOLDER/NAME` into its two parts (album folders are one level deep; the state file is checked for that).
    static func split(_ relativePath: String) -> (folder: String, name: String) {
        let slash = relativePath.firstIndex(of: "/") ?? relativePath.endIndex
        return (String(relativePath[..<slash]), String(relativePath[relativePath.index(after: slash)...]))
    }
}

/// The export folder and what its state file says is in it: which folder each album has, and where each
/// exported file is. Changes are made on disk first, then recorded in `state`; the caller logs them (`ExportLog`).
struct ExportFolder: Sendable {
    let paths: ExportPaths
    private(set) var state: ExportState
    private var position: [ExportKey: Int] = [:]
    /// Per album folder, the clash keys of the names the state has given out.
    private var claimed: [String: Set<String>] = [:]

    /// Where a file goes, and whether a complete copy from an interrupted run is already there.
    struct Placement {
        var relativePath: String
        var adopted: Bool
    }

    init(target: String, state: ExportState) {
        paths = ExportPaths(target: target)
        self.state = state
        reindex()
    }

    private var target: String { paths.target }
    private func absolute(_ relativePath: String) -> String { paths.absolute(relativePath) }

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
        let names = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
        for name in names where !name.hasPrefix(".") && DurableFile.content(at: absolute(name)) == .folder {
            removed += try DurableFile.removePartials(in: absolute(name))
            removed += try DurableFile.removePartials(in: absolute(name) + "/" + PortableName.metadataFolder)
        }
        return removed
    }

    /// Gives `album` a folder if it has none: its name made portable, with `(n)` when another album has it.
    /// Returns the folder given, nil when the album had one.
    @discardableResult
    mutating func assignFolder(to album: String?) -> ExportState.Folder? {
        guard folderName(of: album) == nil else { return nil }
        let taken = Set(state.folders.map { PortableName.clashKey($0.folder) })
        let name = PortableName.sanitise(album ?? Exporter.uncategorizedFolder, fallback: "Unnamed album")
        let folder = ExportState.Folder(album: album,
                                        folder: PortableName.firstFree(name, isFolder: true) { taken.contains(PortableName.clashKey($0)) })
        state.folders.append(folder)
        return folder
    }

    private func folderName(of album: String?) -> String? {
        state.folders.first { $0.album == album }?.folder
    }

    /// Where `file` goes: its recorded place when it was exported before (and has since gone missing), else its
    /// name made portable, with `(n)` when the folder already has that name for another file. A file found under
    /// a free name with exactly this original's bytes was put there by a run killed before it could record it:
    /// it is adopted rather than exported again. The name is reserved until `record` or `release`.
    mutating func place(_ file: PlannedFile) throws(ExportError) -> Placement {
        guard let folder = folderName(of: file.key.album) else { preconditionFailure("folders are assigned before placing") }
        let directory = absolute(folder)
        try DurableFile.makeDirectory(directory + "/" + PortableName.metadataFolder)
        if let index = position[file.key] { return Placement(relativePath: state.files[index].path, adopted: false) }
        let claimedHere = claimed[folder, default: []]
        var adopted = false
        let name = try PortableName.firstFree(PortableName.sanitise(String(decoding: file.original.name.bytes, as: UTF8.self), fallback: "unnamed"),
                                              isFolder: false) { (candidate) throws(ExportError) -> Bool in
            if claimedHere.contains(PortableName.clashKey(candidate)) { return true }
            switch DurableFile.content(at: directory + "/" + candidate) {
            case .nothing: return false
            case .file:
                adopted = try OriginalWriter.matches(directory + "/" + candidate, file.original)
                return !adopted
            case .folder, .other: return true
            }
        }
        claimed[folder, default: []].insert(PortableName.clashKey(name))
        return Placement(relativePath: folder + "/" + name, adopted: adopted)
    }

    /// Gives back the name `place` reserved for a file that could not be exported.
    mutating func release(_ placement: Placement, of key: ExportKey) {
        guard position[key] == nil else { return }
        let (folder, name) = ExportPaths.split(placement.relativePath)
        claimed[folder]?.remove(PortableName.clashKey(name))
    }

    /// Exported earlier and still there, but without its sidecar (lost, or deleted by the user).
    func lacksSidecar(_ key: ExportKey) -> Bool {
        guard isInPlace(key), let index = position[key] else { return false }
        return DurableFile.content(at: paths.sidecar(of: state.files[index].path)) == .nothing
    }

    /// Where the file of `key` was exported to, if it was.
    func recordedPath(of key: ExportKey) -> String? {
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
        let directory = absolute(folder)
        let trash = directory + "/" + PortableName.trashFolder
        let sidecar = paths.sidecar(of: file.path)
        var outcome: ExportOutcome?
        var trashedName = name
        if case .file = DurableFile.content(at: absolute(file.path)) {
            try DurableFile.makeDirectory(trash)
            trashedName = PortableName.firstFree(name, isFolder: false) { DurableFile.content(at: trash + "/" + $0) != .nothing }
            try DurableFile.rename(absolute(file.path), to: trash + "/" + trashedName)
            try DurableFile.syncDirectory(trash)
            outcome = ExportOutcome(path: folder + "/" + PortableName.trashFolder + "/" + trashedName, itemId: file.key.itemId,
                                    album: file.key.album, status: .trashed, bytes: file.size)
        }
        if DurableFile.content(at: sidecar) != .nothing {
            let trashedMetadata = trash + "/" + PortableName.metadataFolder
            try DurableFile.makeDirectory(trashedMetadata)
            let jsonName = PortableName.firstFree(trashedName + ".json", isFolder: false) {
                DurableFile.content(at: trashedMetadata + "/" + $0) != .nothing
            }
            try DurableFile.rename(sidecar, to: trashedMetadata + "/" + jsonName)
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
            claimed[folder, default: []].insert(PortableName.clashKey(name))
        }
    }
}
