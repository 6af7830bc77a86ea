import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// Not a test of speed: prints sniff + metadata throughput over the corpus next to `exiftool -j` on the same
/// files, when KEEPSAKE_TIMING is set (the benchmark proper belongs in Benchmarks/).
@Suite struct MetadataTiming {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEEPSAKE_TIMING"] != nil), .needsCorpus)
    func sniffAndMetadataThroughput() throws {
        let files = try TestEnvironment.corpusFiles()
        var groups: [MediaKind: [(String, MediaFormat)]] = [:]
        for url in files {
            if case .media(let format) = sniffFile(url.path) { groups[format.kind, default: []].append((url.path, format)) }
        }
        let passes = 5
        for kind in [MediaKind.image, .video] {
            let group = groups[kind] ?? []
            let started = Date()
            for _ in 0..<passes {
                for (path, _) in group {
                    guard case .media(let format) = sniffFile(path) else { continue }
                    _ = try? MetadataReader.read(fileAt: path, format: format)
                }
            }
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "keepsake sniff+metadata, %@s: %d files × %d passes in %.2f s = %.0f files/s",
                         kind.rawValue, group.count, passes, seconds, Double(group.count * passes) / seconds))
            if TestEnvironment.hasTool("exiftool") {
                let exifStarted = Date()
                _ = try runProcess("exiftool", ["-j", "-q", "-q"] + group.map(\.0))
                let exifSeconds = Date().timeIntervalSince(exifStarted)
                print(String(format: "exiftool -j (one process), %@s: %d files in %.2f s = %.0f files/s",
                             kind.rawValue, group.count, exifSeconds, Double(group.count) / exifSeconds))
            }
        }
    }
}
