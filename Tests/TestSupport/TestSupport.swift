import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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

    /// True when python3 is on the PATH and imports `module`.
    public static func hasPython(module: String) -> Bool {
        hasTool("python3") && (try? runProcess("python3", ["-c", "import \(module)"]).status) == 0
    }
}

/// Debian's chromium and chromedriver, and python3's selenium, which the browser tests drive (Tests/Browser).
public enum Chromium {
    /// Why the browser tests cannot run here (said in the test summary), or nil.
    public static let missing: String? = {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "SKIPPED: \(tool) is missing (apt packages chromium, chromium-driver): run scripts/setup --test"
        }
        if (try? runProcess("python3", ["-c", "import selenium"]))?.status != 0 {
            return "SKIPPED: python3's selenium is missing: run scripts/setup --test"
        }
        return nil
    }()
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

    /// Starts `keepsake ingest FOLDER --library LIBRARY` and SIGKILLs it after `delay` seconds, or as soon as `now`
    /// holds (asked every 5 ms). Returns nil when it was killed, else how long the run took (it ended first).
    public static func ingestKilled(after delay: Double, folder: String, library: String,
                                    orWhen now: () -> Bool = { false }) throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["ingest", folder, "--library", library]
        process.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": "test passphrase"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = Date()
        try process.run()
        while process.isRunning && Date().timeIntervalSince(start) < delay && !now() { usleep(5_000) }
        guard process.isRunning else { return Date().timeIntervalSince(start) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
    }
}

/// moto's S3 server on a free loopback port: started once per test process, on first use. It watches the test
/// process and exits as soon as that is gone, however it ended.
public final class MotoServer: Sendable {
    public let endpoint: String
    /// The server's process, for tests that stall (`suspend`) or kill it.
    public let pid: pid_t
    /// Where the server writes its output, one line per request it answered (the benchmarks count them).
    public let log: String
    private let port: UInt16
    /// Credentials and region for moto (which accepts any).
    public static let environment = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"]

    private static let started = Result { () throws(MotoUnavailable) -> MotoServer in try MotoServer(checkingCredentials: false) }
    private static let startedChecking = Result { () throws(MotoUnavailable) -> MotoServer in
        try MotoServer(checkingCredentials: true)
    }

    /// The running server; fails with what to install when moto is missing.
    public static func shared() throws -> MotoServer { try started.get() }

    /// A second server that checks credentials against its IAM, which knows none: it refuses every request (403).
    public static func refusingEveryKey() throws -> MotoServer { try startedChecking.get() }

    /// A server of the caller's own, to stall or kill; `terminate` it when done (a stalled server cannot notice
    /// that the test process is gone).
    public static func dedicated() throws -> MotoServer { try MotoServer(checkingCredentials: false) }

    /// Stalls the server (SIGSTOP): connections are still accepted into its backlog, and never answered.
    public func suspend() { kill(pid, SIGSTOP) }
    public func resume() { kill(pid, SIGCONT) }
    /// Kills the server: connections are refused from now on.
    public func terminate() {
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while Self.accepts(port: port) && Date() < deadline { usleep(50_000) }
    }

    private init(checkingCredentials: Bool) throws(MotoUnavailable) {
        guard let probe = try? runProcess("python3", ["-c", "import moto.server"]), probe.status == 0 else {
            throw MotoUnavailable(reason: "python3 cannot import moto.server: run scripts/setup --test")
        }
        port = try Self.freePort()
        endpoint = "http://127.0.0.1:\(port)"
        log = FileManager.default.temporaryDirectory.appendingPathComponent("moto-\(port).log").path
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", """
            import os, threading, time
            def watch(owner):
                while True:
                    try: os.kill(owner, 0)
                    except OSError: os._exit(0)
                    time.sleep(0.5)
            threading.Thread(target=watch, args=(\(getpid()),), daemon=True).start()
            from moto.server import main
            main(["-H", "127.0.0.1", "-p", "\(port)"])
            """]
        server.standardInput = FileHandle.nullDevice
        if checkingCredentials {
            server.environment = ProcessInfo.processInfo.environment.merging(["INITIAL_NO_AUTH_ACTION_COUNT": "0"]) { $1 }
        }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        server.standardOutput = FileHandle(forWritingAtPath: log) ?? FileHandle.nullDevice
        server.standardError = server.standardOutput
        do { try server.run() } catch { throw MotoUnavailable(reason: "cannot start python3: \(error)") }
        pid = server.processIdentifier
        let deadline = Date().addingTimeInterval(60)
        while !Self.accepts(port: port) {
            guard Date() < deadline, server.isRunning else {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw MotoUnavailable(reason: "moto did not answer on port \(port): \(output.suffix(2000))")
            }
            usleep(100_000)
        }
    }

    /// Runs the AWS CLI against the server.
    public func aws(_ arguments: [String]) throws -> ProcessResult {
        try runProcess("aws", ["--endpoint-url", endpoint] + arguments, environment: Self.environment)
    }

    private static func freePort() throws(MotoUnavailable) -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw MotoUnavailable(reason: "no free loopback port") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func accepts(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

public struct MotoUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "moto S3 server unavailable: \(reason)" }
}

/// The resident memory of one `keepsake` run: the kernel's peak of its largest process, and the resident sets of
/// `keepsake` and its `keepsake worker` children added up, sampled every 20 ms: over the whole run, and after the
/// library was unlocked, that is without the passphrase's Argon2id transient.
public struct MemoryProfile: Sendable {
    public let result: ProcessResult
    /// `/usr/bin/time`'s maximum resident set size, in KiB: the peak of `keepsake` or of one of its workers, whichever
    /// is larger (the kernel's exact figure; the sums below are samples).
    public let peakKiB: Int
    /// The largest sum over `keepsake` and its workers sampled during the run, in KiB.
    public let treePeakKiB: Int
    /// The largest such sum sampled after the "library unlocked" log line, in KiB (0 when none was sampled).
    public let afterUnlockPeakKiB: Int
    public let afterUnlockSamples: Int

    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/time") }

    /// Runs `keepsake ARGUMENTS` under `/usr/bin/time` with debug logging, sampling its VmRSS.
    public static func measure(_ arguments: [String], passphrase: String = "test passphrase") throws -> MemoryProfile {
        let timeFile = try TestEnvironment.makeTempDirectory("keepsake-time").appendingPathComponent("maxrss").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M", "-o", timeFile, Keepsake.binary] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["KEEPSAKE_PASSPHRASE": passphrase, "KEEPSAKE_LOG_LEVEL": "debug"]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let unlocked = Mutex(false), errData = Mutex(Data())
        err.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            errData.withLock { data in
                data.append(chunk)
                if !unlocked.withLock({ $0 }), String(decoding: data, as: UTF8.self).contains("library unlocked") {
                    unlocked.withLock { $0 = true }
                }
            }
        }
        nonisolated(unsafe) var outData = Data()
        let group = DispatchGroup()
        try process.run()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        var whole: [Int] = [], afterUnlock: [Int] = []
        while process.isRunning {
            // The one child of /usr/bin/time is keepsake.
            // A keepsake that has exited but is not yet reaped has no resident set: that is no sample, not a 0.
            if let keepsake = children(of: process.processIdentifier).first, let own = residentKiB(of: keepsake) {
                let rss = own + descendants(of: keepsake).compactMap(residentKiB(of:)).reduce(0, +)
                whole.append(rss)
                if unlocked.withLock({ $0 }) { afterUnlock.append(rss) }
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        group.wait()
        err.fileHandleForReading.readabilityHandler = nil
        let rest = err.fileHandleForReading.readDataToEndOfFile()
        let stderr = errData.withLock { $0 + rest }
        let peak = Int((try? String(contentsOfFile: timeFile, encoding: .utf8))?.split(separator: "\n").last ?? "") ?? 0
        return MemoryProfile(result: ProcessResult(status: process.terminationStatus, stdout: outData, stderr: stderr),
                             peakKiB: peak, treePeakKiB: whole.max() ?? 0,
                             afterUnlockPeakKiB: afterUnlock.max() ?? 0, afterUnlockSamples: afterUnlock.count)
    }

    /// The children of every thread of `pid` (a child is listed under the thread that started it).
    private static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
    }

    private static func descendants(of pid: Int32) -> [Int32] {
        children(of: pid).flatMap { [$0] + descendants(of: $0) }
    }

    private static func residentKiB(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}

/// Systematic damage to an ISO-BMFF file's `ftyp` box, which must not stop a photo or video from being stored.
public enum FtypDamage: String, CaseIterable, Sendable {
    case size0, size1, size7, size8, sizeBeyondTheFile, truncatedAfterFtyp, majorBrandZeroed

    public func apply(to original: [UInt8]) -> [UInt8] {
        var bytes = original
        func setSize(_ size: UInt32) { bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: size.bigEndian, Array.init)) }
        switch self {
        case .size0: setSize(0)
        case .size1: setSize(1)
        case .size7: setSize(7)
        case .size8: setSize(8)
        case .sizeBeyondTheFile: setSize(UInt32(min(Int(UInt32.max), original.count + 1000)))
        case .truncatedAfterFtyp:
            let size = Int(original[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            bytes = Array(original.prefix(size))
        case .majorBrandZeroed: bytes.replaceSubrange(8..<12, with: [0, 0, 0, 0])
        }
        return bytes
    }

    /// One HEIC, AVIF, MOV, MP4 and 3GP (from samples/ and the corpus) with the kind each is: five sources,
    /// 35 variants with `allCases`.
    public static func sources() throws -> [(path: String, kind: String)] {
        guard let corpus = TestEnvironment.corpus?.path else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the AVIF and 3GP sources are in the corpus, which is missing"])
        }
        let samples = TestEnvironment.samples.appendingPathComponent("media").path
        return [(samples + "/iphone/osxphotos__IMG_0102.HEIC", "image"),
                (corpus + "/libheif__example.avif", "image"),
                (samples + "/android/androidx-media__dolbyVision-hdr.MOV", "video"),
                (samples + "/android/androidx-media__sample_sef_slow_motion.mp4", "video"),
                (corpus + "/metadata-extractor-images__ftyp3gp5.mp4", "video")]
    }
}
