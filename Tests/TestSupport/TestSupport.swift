import Foundation

/// Where the test media lives, and small helpers the test targets share.
public enum TestEnvironment {
    /// The package root (the folder holding Package.swift), found from this source file's path.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `$KEEPSAKE_CORPUS`, else `../shared/corpus` beside the package; nil (with a message) when absent.
    public static let corpus: URL? = {
        let env = ProcessInfo.processInfo.environment["KEEPSAKE_CORPUS"]
        let url = env.map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("expected.json").path) else {
            FileHandle.standardError.write(Data(
                "NOTE: test corpus not found at \(url.path); set KEEPSAKE_CORPUS. Corpus tests are skipped.\n".utf8))
            return nil
        }
        return url
    }()

    /// The repository's `samples/` folder (always present).
    public static var samples: URL { packageRoot.appendingPathComponent("samples") }

    /// A fresh, empty temporary folder.
    public static func makeTempDirectory(_ label: String = "keepsake-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The files of the corpus, sorted by name, leaving out its documentation.
    public static func corpusFiles() throws -> [URL] {
        guard let corpus else { return [] }
        return try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
            .filter { !["SOURCES.md", "MANIFEST.tsv", "expected.json"].contains($0.lastPathComponent) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// True when `tool` is on the PATH (the oracles: exiftool, ffprobe, ffmpeg).
    public static func hasTool(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }
}

/// The outcome of running a program to completion.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs `executable` with `arguments`, capturing both outputs (read concurrently so neither pipe fills).
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       stdin: Data? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: outData, stderr: errData)
}

/// Runs the `keepsake` binary built beside the test bundle.
public enum Keepsake {
    public static let binary: String = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("keepsake").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let fallback = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/keepsake").path
        precondition(FileManager.default.isExecutableFile(atPath: fallback), "build keepsake first: swift build --build-tests")
        return fallback
    }()

    /// Runs `keepsake ARGUMENTS` with `passphrase` in `$KEEPSAKE_PASSPHRASE`.
    public static func run(_ arguments: [String], passphrase: String = "test passphrase",
                           environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(binary, arguments, environment: ["KEEPSAKE_PASSPHRASE": passphrase].merging(environment) { $1 })
    }
}
