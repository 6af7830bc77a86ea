import Foundation

/// The export folder and what its state file says is in it: which folder each album has, and where each
/// exported file is. Changes here are made durable on disk first, then recorded in `state`, which the caller saves.
struct ExportFolder {
    let target: String
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
        self.target = target
        self.state = state
        reindex()
    }

    func absolute(_ relativePath: String) -> String { target + "/" + relativePath }

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
    mutating func assignFolder(to album: String?) {
        guard folderName(of: album) == nil else { return }
        let taken = Set(state.folders.map { PortableName.clashKey($0.folder) })
        let name = PortableName.sanitise(album ?? Exporter.uncategorizedFolder, fallback: "Unnamed album")
        let folder = PortableName.firstFree(name, isFolder: true) { taken.contains(PortableName.clashKey($0)) }
        state.folders.append(ExportState.Folder(album: album, folder: folder))
    }

    private func folderName(of album: String?) -> String? {
        state.folders.first { $0.album == album }?.folder
    }

    /// Where `file` goes: its recorded place when it was exported before (and has since gone missing), else its
    /// name made portable, with `(n)` when the folder already has that name for another file. A file found under
    /// a free name with exactly this original's bytes was put there by a run killed before it could record it:
    /// it is adopted rather than exported again.
    func place(_ file: PlannedFile) throws(ExportError) -> Placement {
        guard let folder = folderName(of: file.key.album) else { preconditionFailure("folders are assigned before placing") }
        let directory = absolute(folder)
        try DurableFile.makeDirectory(directory + "/" + PortableName.metadataFolder)
        if let index = position[file.key] { return Placement(relativePath: state.files[index].path, adopted: false) }
        let claimedHere = claimed[folder, default: []]
        var adopted = false
        let name = try PortableName.firstFree(PortableName.sanitise(file.original.name, fallback: "unnamed"),
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
        return Placement(relativePath: folder + "/" + name, adopted: adopted)
    }

    /// Exported earlier and still there, but without its sidecar (lost, or deleted by the user).
    func lacksSidecar(_ key: ExportKey) -> Bool {
        guard isInPlace(key), let index = position[key] else { return false }
        return DurableFile.content(at: sidecarPath(of: state.files[index].path)) == .nothing
    }

    /// Writes the sidecar of a file exported earlier.
    func restoreSidecar(_ key: ExportKey, sidecar: Data) throws(ExportError) {
        guard let index = position[key] else { return }
        try DurableFile.write(sidecar, to: sidecarPath(of: state.files[index].path))
    }

    /// `FOLDER/metadata/NAME.json` for `FOLDER/NAME`, absolute.
    private func sidecarPath(of relativePath: String) -> String {
        let (folder, name) = Self.split(relativePath)
        return absolute(folder) + "/" + PortableName.metadataFolder + "/" + name + ".json"
    }

    /// Writes `file`'s sidecar and records the file as exported. The folders are not fsynced: the state file's
    /// own rename is, and a recorded file or sidecar that a power loss took away is written again by the next run.
    mutating func commit(_ file: PlannedFile, placement: Placement, sidecar: Data) throws(ExportError) {
        let (folder, name) = Self.split(placement.relativePath)
        try DurableFile.write(sidecar, to: sidecarPath(of: placement.relativePath))
        let record = ExportState.File(key: file.key, path: placement.relativePath, size: file.original.size,
                                      blake2b: file.original.blake2b)
        if let index = position[file.key] {
            state.files[index] = record
        } else {
            position[file.key] = state.files.count
            state.files.append(record)
        }
        claimed[folder, default: []].insert(PortableName.clashKey(name))
    }

    /// Moves an exported file and its sidecar into its album folder's Trash (never deletes them), forgets it,
    /// and saves the state. Nil when the file was no longer there (a killed run may have moved it already).
    mutating func moveToTrash(_ file: ExportState.File) throws(ExportError) -> ExportOutcome? {
        let (folder, name) = Self.split(file.path)
        let directory = absolute(folder)
        let trash = directory + "/" + PortableName.trashFolder
        let sidecar = sidecarPath(of: file.path)
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
        try state.save(in: target)
        return outcome
    }

    private mutating func reindex() {
        position = [:]
        claimed = [:]
        for (index, file) in state.files.enumerated() {
            position[file.key] = index
            let (folder, name) = Self.split(file.path)
            claimed[folder, default: []].insert(PortableName.clashKey(name))
        }
    }

    /// `FOLDER/NAME` into its two parts (album folders are one level deep).
    private static func split(_ relativePath: String) -> (folder: String, name: String) {
        let slash = relativePath.firstIndex(of: "/") ?? relativePath.endIndex
        return (String(relativePath[..<slash]), String(relativePath[relativePath.index(after: slash)...]))
    }
}
