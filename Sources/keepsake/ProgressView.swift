import Daemon
import Foundation
import Synchronization

/// The terminal progress bar (files, bytes, current file, ETA) on stderr, or one JSON line per file on stdout;
/// each command feeds it through its own observer protocol (see the extensions beside the commands).
final class ProgressView: Sendable {
    private struct State {
        var totalFiles = 0
        var totalBytes: Int64 = 0
        var filesDone = 0
        var bytesDone: Int64 = 0
        var current = ""
        var lastDraw = ContinuousClock.now - .seconds(1)
    }

    private let enabled: Bool
    private let jsonLines: Bool
    private let start = ContinuousClock.now
    private let state = Mutex(State())

    /// The library written to, to say who holds it when the run must wait.
    private let library: String?

    init(enabled: Bool, jsonLines: Bool, library: String? = nil) {
        self.enabled = enabled
        self.jsonLines = jsonLines
        self.library = library
    }

    func setTotal(files: Int, bytes: Int64) {
        update { $0.totalFiles = files; $0.totalBytes = bytes }
    }

    func started(file path: String) {
        update { $0.current = (path as NSString).lastPathComponent }
    }

    func advanced(bytes: Int64) {
        update { $0.bytesDone += bytes }
    }

    /// A file is done; with `--json` its line is printed.
    func finished(file line: some Encodable) {
        report(line)
        update(force: true) { $0.filesDone += 1 }
    }

    /// With `--json`, prints `line` about something that is not one of the files counted.
    func report(_ line: some Encodable) {
        if jsonLines { printJSONLine(line) }
    }

    func waitingForLock() {
        let daemonRuns = library.flatMap { DaemonState.current(library: $0) } != nil
        printError(daemonRuns ? "waiting for the daemon to finish its batch…" : "waiting for another keepsake process to finish writing to the library…")
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
        let fraction = s.totalBytes > 0 ? min(1, Double(s.bytesDone) / Double(s.totalBytes)) : 0
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let eta = fraction > 0.02 ? Int(seconds / fraction - seconds) : nil
        let etaText = eta.map { String(format: "ETA %d:%02d", $0 / 60, $0 % 60) } ?? "ETA --:--"
        let name = s.current.count > 30 ? "…" + s.current.suffix(29) : s.current
        return "\r\u{1B}[K[\(bar)] \(s.filesDone)/\(s.totalFiles) files  \(formatBytes(s.bytesDone))/\(formatBytes(s.totalBytes))  \(etaText)  \(name)"
    }
}
