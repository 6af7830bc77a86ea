import Foundation
import Pipeline
import Synchronization

/// The terminal progress bar (files, bytes, current file, ETA) on stderr, or one JSON line per file on stdout.
final class ProgressView: IngestObserver {
    private struct State {
        var filesDone = 0
        var bytesDone: Int64 = 0
        var current = ""
        var lastDraw = ContinuousClock.now - .seconds(1)
    }

    private let totalFiles: Int
    private let totalBytes: Int64
    private let enabled: Bool
    private let jsonLines: Bool
    private let start = ContinuousClock.now
    private let state = Mutex(State())

    init(totalFiles: Int, totalBytes: Int64, enabled: Bool, jsonLines: Bool) {
        self.totalFiles = totalFiles
        self.totalBytes = totalBytes
        self.enabled = enabled
        self.jsonLines = jsonLines
    }

    func started(_ file: DiscoveredFile) {
        update { $0.current = (file.path as NSString).lastPathComponent }
    }

    func read(bytes: Int64) {
        update { $0.bytesDone += bytes }
    }

    func finished(_ outcome: FileOutcome) {
        if jsonLines { printJSONLine(outcome) }
        update(force: true) { $0.filesDone += 1 }
    }

    func waitingForLock() {
        printError("waiting for the daemon to finish its batch…")
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func update(force: Bool = false, _ change: (inout State) -> Void) {
        let line: String? = state.withLock { state in
            change(&state)
            let now = ContinuousClock.now
            guard enabled, force || now - state.lastDraw > .milliseconds(100) else { return nil }
            state.lastDraw = now
            return render(state, elapsed: now - start)
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    private func render(_ s: State, elapsed: Duration) -> String {
        let fraction = totalBytes > 0 ? min(1, Double(s.bytesDone) / Double(totalBytes)) : 0
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let eta = fraction > 0.02 ? Int(seconds / fraction - seconds) : nil
        let etaText = eta.map { String(format: "ETA %d:%02d", $0 / 60, $0 % 60) } ?? "ETA --:--"
        let name = s.current.count > 30 ? "…" + s.current.suffix(29) : s.current
        return "\r\u{1B}[K[\(bar)] \(s.filesDone)/\(totalFiles) files  \(formatBytes(s.bytesDone))/\(formatBytes(totalBytes))  \(etaText)  \(name)"
    }
}
