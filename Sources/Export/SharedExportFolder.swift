import Synchronization

/// An `ExportFolder` shared by the export's workers: names are given out and files recorded under a lock, and
/// the state file is saved after every recorded file, saves that would overlap being merged into one that
/// follows them all (each file is still in a save made after it was in place).
final class SharedExportFolder: Sendable {
    private struct Guarded {
        var folder: ExportFolder
        var saving = false
        var changedWhileSaving = false
    }

    let paths: ExportPaths
    private let guarded: Mutex<Guarded>

    init(_ folder: ExportFolder) {
        paths = folder.paths
        guarded = Mutex(Guarded(folder: folder))
    }

    func place(_ file: PlannedFile) throws(ExportError) -> ExportFolder.Placement {
        try guarded.withLock { (guarded) throws(ExportError) in try guarded.folder.place(file) }
    }

    func release(_ placement: ExportFolder.Placement, of key: ExportKey) {
        guarded.withLock { $0.folder.release(placement, of: key) }
    }

    /// Records `file` and saves the state file; when another worker is saving, that worker saves again after
    /// its save, with this file in it.
    func record(_ file: PlannedFile, placement: ExportFolder.Placement) throws(ExportError) {
        var pending: ExportState? = guarded.withLock { guarded in
            guarded.folder.record(file, placement: placement)
            if guarded.saving {
                guarded.changedWhileSaving = true
                return nil
            }
            guarded.saving = true
            return guarded.folder.state
        }
        while let state = pending {
            do throws(ExportError) {
                try state.save(in: paths.target)
            } catch {
                guarded.withLock { $0.saving = false }
                throw error
            }
            pending = guarded.withLock { guarded in
                guard guarded.changedWhileSaving else {
                    guarded.saving = false
                    return nil
                }
                guarded.changedWhileSaving = false
                return guarded.folder.state
            }
        }
    }
}
