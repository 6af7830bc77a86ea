import ArgumentParser
import Daemon
import KeepsakeCrypto
import Foundation
import Logging
import MediaTypes
import MediaWorker
import Store
#if canImport(Glibc)
import Glibc
#endif

/// A configuration mistake the user can fix (exit status 2).
struct UsageError: KeepsakeError {
    var message: String
    var exitStatus: Int32 { 2 }
    var isRunFatal: Bool { true }
    var description: String { message }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Where the library is and how to unlock it; shared by every command that opens one.
struct LibraryOptions: ParsableArguments {
    @Option(name: .long, help: "The library folder (default: $KEEPSAKE_LIBRARY, else $XDG_DATA_HOME/keepsake).")
    var library: String?

    @Option(name: .long, help: "Read the passphrase from this file's first line (when $KEEPSAKE_PASSPHRASE is not set).")
    var passphraseFile: String?

    @Option(name: .long, help: ArgumentHelp("Keep the objects in S3 (default: $KEEPSAKE_STORE, else the library folder).",
                                            valueName: "s3://BUCKET/PREFIX"))
    var store: String?

    @Option(name: .customLong("s3-endpoint"), help: ArgumentHelp(
        "An S3-compatible server (default: $AWS_ENDPOINT_URL, else AWS in $AWS_REGION); implies path-style addressing.",
        valueName: "URL"))
    var s3Endpoint: String?

    @Flag(name: .customLong("s3-path-style"), help: "Address the bucket in the path, not the host name, on AWS too.")
    var s3PathStyle = false

    var libraryPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let library { return library }
        if let path = environment["KEEPSAKE_LIBRARY"], !path.isEmpty { return path }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/keepsake" }
        return NSHomeDirectory() + "/.local/share/keepsake"
    }

    /// SPEC 1: `$KEEPSAKE_PASSPHRASE`, else `--passphrase-file`, else a prompt on a terminal; never an argument.
    /// Under systemd, a service's `LoadCredential=keepsake-passphrase:FILE` is read when neither of those is given.
    func passphrase(confirmingNew: Bool) throws -> String {
        try Self.readPassphrase(environment: "KEEPSAKE_PASSPHRASE", file: passphraseFile ?? Self.passphraseCredential,
                                prompt: confirmingNew ? "New library passphrase: " : "Passphrase: ", confirm: confirmingNew)
    }

    /// `$CREDENTIALS_DIRECTORY/keepsake-passphrase`, when systemd handed the service that credential.
    static var passphraseCredential: String? {
        guard let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return nil }
        let path = directory + "/" + ServiceUnit.credentialName
        return access(path, F_OK) == 0 ? path : nil
    }

    static func readPassphrase(environment variable: String, file: String?, prompt text: String, confirm: Bool) throws -> String {
        if let value = ProcessSecrets.take(variable) { return value }
        if let file { return try passphrase(fromFile: file) }
        guard isatty(STDIN_FILENO) != 0 else { throw LibraryError.noPassphrase }
        let first = try prompt(text)
        if confirm, try prompt("Repeat the passphrase: ") != first {
            throw UsageError(message: "the passphrases do not match")
        }
        return first
    }

    /// The first line of `file`.
    static func passphrase(fromFile file: String) throws -> String { try firstLine(of: file, holding: "passphrase") }

    /// A passphrase file that a service reads unattended must be readable by its owner only, as ssh requires of a key.
    static func requirePrivate(passphraseFile file: String) throws {
        var info = stat()
        guard stat(file, &info) == 0 else {
            throw UsageError(message: "cannot read the passphrase file \(file): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw UsageError(message: "the passphrase file \(file) is not a regular file") }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw UsageError(message: "the passphrase file \(file) is open to others (mode \(String(mode, radix: 8))): "
                                + "run `chmod 600 \(file)` so that only its owner can read it")
        }
    }

    private static func prompt(_ text: String) throws -> String {
        guard let raw = getpass(text) else { throw LibraryError.noPassphrase }
        let value = String(cString: raw)
        guard !value.isEmpty else { throw UsageError(message: "an empty passphrase is not allowed") }
        return value
    }

    /// SPEC 1: `--store`, else `$KEEPSAKE_STORE`, else the library folder; credentials from the usual AWS variables.
    func storeLocation() throws -> StoreLocation {
        let environment = ProcessInfo.processInfo.environment
        guard let url = store ?? environment["KEEPSAKE_STORE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            if s3Endpoint != nil || s3PathStyle { throw UsageError(message: "--s3-endpoint and --s3-path-style need --store s3://BUCKET/PREFIX") }
            return .libraryFolder
        }
        let endpoint = s3Endpoint ?? environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            return .s3(try S3Configuration(url: url, endpoint: endpoint, pathStyle: s3PathStyle, environment: environment))
        } catch {
            throw UsageError(message: error.description)
        }
    }

    func open(create: Bool = false) throws -> Library {
        let location = try storeLocation()
        let exists = try Library.exists(at: libraryPath, store: location)
        if !exists && !create { throw LibraryError.notALibrary(location.describe(library: libraryPath)) }
        let library = try Library.open(at: libraryPath, store: location, passphrase: passphrase(confirmingNew: !exists),
                                       create: create, notice: { printError("keepsake: \($0)") })
        // Marks the end of the Argon2id unlock, whose 256 MiB are freed by now (the memory tests look for this line).
        Logger(label: "keepsake.library").debug("library unlocked")
        return library
    }
}

/// How much media work runs at once, and how videos are encoded; shared by `ingest` and `daemon`.
struct WorkOptions: ParsableArguments {
    @Option(help: "Files processed at once (default: the number of cores).")
    var jobs: Int?

    @Option(help: "x264 preset of the video streams.")
    var videoPreset = "veryfast"

    @Flag(help: ArgumentHelp("Store videos without their 720p stream (faster, for low-power machines).",
                             discussion: "Their thumbnail still comes from their first second. A video stored so keeps no stream: "
                                 + "it is unchanged at the next run, so it is not transcoded then."))
    var noStreams = false

    @Option(help: "Seconds a media worker may go without answering (plus one per MiB of the file) before it counts as hung and is killed.")
    var workerTimeout = 60

    @Option(help: ArgumentHelp("Upload at most this many KiB a second to the store, all uploads of the run together.", valueName: "KiB/s"))
    var limitUpload: Int?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if workerTimeout < 1 { throw ValidationError("--worker-timeout must be at least 1") }
        if let limitUpload, limitUpload < 1 { throw ValidationError("--limit-upload must be at least 1 KiB/s") }
        let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
        if !presets.contains(videoPreset) { throw ValidationError("--video-preset must be one of \(presets.joined(separator: ", "))") }
    }

    var jobCount: Int { jobs ?? ProcessInfo.processInfo.activeProcessorCount }

    /// Applies `--limit-upload` to what `library` uploads.
    func limitUploads(of library: Library) {
        if let limitUpload { library.limitUploads(UploadLimit(bytesPerSecond: limitUpload * 1024)) }
    }
    var stream: StreamOptions? { noStreams ? nil : StreamOptions(preset: videoPreset) }

    /// The media work in confined `keepsake-media` children, one for each request on a file.
    func mediaWork(shouldStop: @escaping @Sendable () -> Bool) throws -> OutOfProcessMediaWork {
        OutOfProcessMediaWork(executable: try Executables.mediaEngine(), timeoutFloor: .seconds(workerTimeout), shouldStop: shouldStop)
    }
}

/// Where this binary is, and the media engine installed beside it.
enum Executables {
    /// This process's binary, beside which the media engine lies.
    static func keepsake() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw UsageError(message: "cannot find the keepsake binary to start workers: \(String(cString: strerror(errno)))") }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `keepsake-media`, the media workers' binary: it must lie beside `keepsake` (both are built and installed
    /// together), so that a run never picks up another version's engine from the PATH.
    static func mediaEngine() throws -> String {
        let path = (try keepsake() as NSString).deletingLastPathComponent + "/keepsake-media"
        guard access(path, X_OK) == 0 else {
            throw UsageError(message: "the media engine \(path) is missing (\(String(cString: strerror(errno)))): "
                                + "install keepsake-media beside keepsake; `swift build` makes both")
        }
        return path
    }
}

/// The "failed:" block of a command's summary: each failure with its reason, or "none".
func failureLines(_ failures: [(what: String, reason: String?)]) -> [String] {
    guard !failures.isEmpty else { return ["  failed:      none"] }
    return ["  failed:      \(failures.count) files"] + failures.map { "    \($0.what): \($0.reason ?? "unknown")" }
}

/// Byte counts for people: 1.5 MB, 320 KB.
/// The first line of a file that holds a secret (a passphrase, a link's password); `what` names it in errors.
func firstLine(of file: String, holding what: String) throws -> String {
    guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
        throw UsageError(message: "cannot read the \(what) file \(file)")
    }
    let line = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    guard !line.isEmpty else { throw UsageError(message: "the \(what) file \(file) is empty") }
    return line
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

func printJSONLine<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    if let data = try? encoder.encode(value) {
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
