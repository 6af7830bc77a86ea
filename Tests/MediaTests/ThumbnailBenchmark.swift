import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// Thumbnails per second by format, ours against vipsthumbnail on the same files. A measurement, not a test:
/// it runs only with KEEPSAKE_THUMB_BENCH=1 and prints its table.
@Suite struct ThumbnailBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["KEEPSAKE_THUMB_BENCH"] == "1"

    @Test(.enabled(if: enabled), .needsCorpus, .needs("vipsthumbnail")) func throughputAgainstVipsthumbnail() throws {
        let groups: [(String, MediaFormat, [String])] = [
            ("JPEG", .jpeg, ["jpg", "jpeg", "JPG"]), ("HEIC", .heic, ["heic", "HEIC"]),
            ("PNG", .png, ["png", "PNG"]), ("WebP", .webp, ["webp"]),
        ]
        let rounds = Int(ProcessInfo.processInfo.environment["KEEPSAKE_THUMB_ROUNDS"] ?? "3") ?? 3
        let files = try TestEnvironment.corpusFiles()
        let out = try TestEnvironment.makeTempDirectory("thumb-bench")
        // The machine is shared, so the four ways are timed in turn, round after round, and each keeps its best round.
        print("format  files  ours 1 thread  ours 2 threads  vips 1 thread  vips default  (thumbnails/s, best of \(rounds))")
        for (name, format, extensions) in groups {
            // Files of the format that decode (the damaged ones would time error paths).
            let paths = files.filter { extensions.contains($0.pathExtension) }.map(\.path)
                .filter { (try? Thumbnailer.thumbnail(fileAt: $0, format: format, orientation: nil)) != nil }
            let vipsArguments = ["--size", "720", "-o", out.path + "/%s.jpg[Q=70,strip]"] + paths
            let ways: [() throws -> Void] = [
                { for path in paths { _ = try Thumbnailer.thumbnail(fileAt: path, format: format, orientation: nil) } },
                {
                    DispatchQueue.concurrentPerform(iterations: 2) { worker in
                        for (index, path) in paths.enumerated() where index % 2 == worker {
                            _ = try? Thumbnailer.thumbnail(fileAt: path, format: format, orientation: nil)
                        }
                    }
                },
                { _ = try runProcess("vipsthumbnail", vipsArguments, environment: ["VIPS_CONCURRENCY": "1"]) },
                { _ = try runProcess("vipsthumbnail", vipsArguments) },
            ]
            var best = [Double](repeating: 0, count: ways.count)
            for _ in 0..<rounds {
                for (index, way) in ways.enumerated() { best[index] = max(best[index], try rate(count: paths.count, way)) }
            }
            let rates = best.map { String(format: "%13.1f", $0) }.joined(separator: "  ")
            print("\(name.padding(toLength: 6, withPad: " ", startingAt: 0))  \(String(format: "%5d", paths.count))  \(rates)")
        }
    }

    private func rate(count: Int, _ work: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try work()
        let elapsed = ContinuousClock.now - start
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
}

extension ThumbnailBenchmark {
    /// Writes every corpus thumbnail to $KEEPSAKE_THUMB_OUT for looking at and comparing with other tools.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEEPSAKE_THUMB_OUT"] != nil), .needsCorpus) func writeThumbnails() throws {
        let out = URL(fileURLWithPath: ProcessInfo.processInfo.environment["KEEPSAKE_THUMB_OUT"]!)
        let corpus = try #require(TestEnvironment.corpus)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("expected.json"))) as! [[String: Any]]
        for entry in expected where entry["kind"] as? String == "image" {
            let name = entry["file"] as! String
            guard let format = MediaFormat.allCases.first(where: { $0.mimeType == entry["mime"] as? String }) else { continue }
            if let bytes = try? Thumbnailer.thumbnail(fileAt: corpus.appendingPathComponent(name).path, format: format, orientation: nil) {
                try Data(bytes).write(to: out.appendingPathComponent(name + ".jpg"))
            }
        }
    }
}
