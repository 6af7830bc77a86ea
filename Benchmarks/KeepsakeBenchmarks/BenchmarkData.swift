import Foundation

/// Where the benchmark media comes from: `$KEEPSAKE_CORPUS`, else `../shared/corpus` beside the package;
/// and `samples/media` in the package.
enum BenchmarkData {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static var corpus: URL {
        ProcessInfo.processInfo.environment["KEEPSAKE_CORPUS"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    }

    static var samples: String { packageRoot.appendingPathComponent("samples/media").path }

    /// Corpus files whose names end with one of `extensions` (case-insensitive), leaving out the damaged ones.
    static func corpusFiles(_ extensions: [String]) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []
        return names.filter { name in
            !name.hasPrefix("derived-") && !name.hasPrefix("synthetic__") && !name.contains("badimage") && !name.contains("crash-")
                && extensions.contains { name.lowercased().hasSuffix("." + $0) }
        }.sorted().map { corpus.appendingPathComponent($0).path }
    }

    /// The videos of the benchmark set (`../shared/bench/make-bench-set.sh`, into `$BENCH_SET` or
    /// `/tmp/keepsake-bench-set` as `compare.sh` makes it), made first when missing.
    static func benchVideos() -> [String] {
        let set = ProcessInfo.processInfo.environment["BENCH_SET"] ?? "/tmp/keepsake-bench-set"
        let script = corpus.deletingLastPathComponent().appendingPathComponent("bench/make-bench-set.sh")
        let make = Process()
        make.executableURL = script
        make.arguments = [set]
        make.standardOutput = FileHandle.nullDevice
        if (try? make.run()) != nil { make.waitUntilExit() }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: set)) ?? []
        return names.filter { $0.hasPrefix("bench_") }.sorted().map { set + "/" + $0 }
    }

    static func temporaryDirectory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "keepsake-bench-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func totalSize(_ files: [String]) -> Int {
        files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }
}
