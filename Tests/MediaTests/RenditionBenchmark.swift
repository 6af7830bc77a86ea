import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// What making a rendition adds to a HEIC photo's media work: the thumbnail alone (as before renditions) against the
/// thumbnail and rendition from one decode, per corpus HEIC/HEIF file, one thread, best of N rounds. A measurement,
/// not a test: it runs only with KEEPSAKE_RENDITION_BENCH=1 and prints its table.
@Suite struct RenditionBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEEPSAKE_RENDITION_BENCH"] == "1"))
    func thumbnailAloneAgainstThumbnailAndRendition() throws {
        guard TestEnvironment.corpus != nil else { return }
        let rounds = Int(ProcessInfo.processInfo.environment["KEEPSAKE_RENDITION_ROUNDS"] ?? "3") ?? 3
        let files = try TestEnvironment.corpusFiles().filter { ["heic", "heif"].contains($0.pathExtension.lowercased()) }
            .filter { (try? Thumbnailer.pictures(fileAt: $0.path, format: .heic, orientation: nil)) != nil }
        print("file  thumbnail ms  thumbnail+rendition ms  rendition KB")
        var totals = (0.0, 0.0)
        for file in files {
            var best = (Double.infinity, Double.infinity)
            var renditionBytes = 0
            for _ in 0..<rounds {
                best.0 = min(best.0, try milliseconds { _ = try Thumbnailer.thumbnail(fileAt: file.path, format: .heic, orientation: nil) })
                best.1 = min(best.1, try milliseconds {
                    renditionBytes = try Thumbnailer.pictures(fileAt: file.path, format: .heic, orientation: nil).rendition?.count ?? 0
                })
            }
            totals.0 += best.0
            totals.1 += best.1
            print("\(file.lastPathComponent)  \(String(format: "%.0f", best.0))  \(String(format: "%.0f", best.1))  \(renditionBytes / 1024)")
        }
        print("total (\(files.count) files)  \(String(format: "%.0f", totals.0))  \(String(format: "%.0f", totals.1))")
    }

    private func milliseconds(_ work: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try work()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
    }
}
