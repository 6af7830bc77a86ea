import Synchronization

/// An `ExportFolder` shared by the export's workers: names are given out and files recorded under a lock, and each
/// recorded file is appended to the log (which serialises the appends).
final class SharedExportFolder: Sendable {
    let paths: ExportPaths
    private let folder: Mutex<ExportFolder>
    private let log: ExportLog

    init(_ folder: ExportFolder, log: ExportLog) {
        paths = folder.paths
        self.folder = Mutex(folder)
        self.log = log
    }

    func place(_ file: PlannedFile) throws(ExportError) -> ExportFolder.Placement {
        try folder.withLock { (folder) throws(ExportError) in try folder.place(file) }
    }

    func release(_ placement: ExportFolder.Placement, of key: ExportKey) {
        folder.withLock { $0.release(placement, of: key) }
    }

    /// Records `file` as exported; the record is durable when this returns.
    func record(_ file: ExportState.File) throws(ExportError) {
        folder.withLock { $0.record(file) }
        try log.append(.recorded(file))
    }

    /// What is recorded so far.
    var state: ExportState { folder.withLock { $0.state } }
}
