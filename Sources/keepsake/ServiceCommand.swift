import ArgumentParser
import Daemon
import FileSystem
import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Run the daemon as a systemd service, started at boot or login.",
        subcommands: [Install.self, Uninstall.self])

    /// Which unit: the user's or the system's, and where it lies.
    struct UnitOptions: ParsableArguments {
        @Flag(help: "A user service (~/.config/systemd/user), started at login; else a system service (/etc/systemd/system), started at boot.")
        var user = false

        @Option(help: ArgumentHelp("Write the unit into this folder instead.", valueName: "DIR"))
        var unitDir: String?

        var scope: ServiceUnit.Scope { user ? .user : .system }
        var directory: String { unitDir ?? ServiceUnit.directory(for: scope) }
        var path: String { directory + "/" + ServiceUnit.fileName }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write keepsake.service, which runs `keepsake daemon` for this library.",
            discussion: """
                The passphrase comes from --passphrase-file, which only its owner may read (chmod 600). The system unit
                hands it to the daemon as a systemd credential (LoadCredential=); the user unit passes the file.
                Daemon options go after --, as in `keepsake service install --user --passphrase-file F -- --jobs 2`.
                """)

        @OptionGroup var unit: UnitOptions

        @OptionGroup var libraryOptions: LibraryOptions

        @Argument(parsing: .postTerminator, help: ArgumentHelp("Options of `keepsake daemon`, after --.", valueName: "daemon options"))
        var daemonOptions: [String] = []

        func run() throws {
            guard let passphraseFile = libraryOptions.passphraseFile.map(absolute) else {
                throw UsageError(message: "a service has no terminal to ask for the passphrase: give --passphrase-file FILE (chmod 600)")
            }
            try LibraryOptions.requirePrivate(passphraseFile: passphraseFile)
            if passphraseFile.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                throw UsageError(message: "the passphrase file's path holds a control character, which a unit file cannot say")
            }
            // The service must be able to open the library unattended: the file's passphrase is tried now.
            let libraryPath = absolute(libraryOptions.libraryPath)
            let location = try libraryOptions.storeLocation()
            guard try Library.exists(at: libraryPath, store: location) else {
                throw LibraryError.notALibrary(location.describe(library: libraryPath))
            }
            _ = try Library.open(at: libraryPath, store: location, passphrase: try LibraryOptions.passphrase(fromFile: passphraseFile),
                                 create: false, notice: { printError("keepsake: \($0)") })
            let service = ServiceUnit(scope: unit.scope, executable: try Executables.keepsake(),
                                      daemonArguments: ["--library", libraryPath] + storeArguments + daemonOptions,
                                      passphraseFile: passphraseFile)
            try FileManager.default.createDirectory(atPath: unit.directory, withIntermediateDirectories: true)
            let existed = access(unit.path, F_OK) == 0
            do {
                try replaceFile(unit.path, with: service.text)
            } catch {
                throw UsageError(message: "cannot write \(unit.path): \(error)")
            }
            print("\(existed ? "replaced" : "wrote") \(unit.path)")
            print("start it now and at every \(unit.user ? "login" : "boot"): \(service.systemctl) daemon-reload && "
                  + "\(service.systemctl) enable --now \(ServiceUnit.fileName)")
            if unit.user { print("to keep it running when you are logged out: loginctl enable-linger \(NSUserName())") }
        }

        /// The store as the daemon must find it: the unit's environment has no $KEEPSAKE_STORE or $AWS_ENDPOINT_URL.
        private var storeArguments: [String] {
            let environment = ProcessInfo.processInfo.environment
            var arguments: [String] = []
            if let store = libraryOptions.store ?? environment["KEEPSAKE_STORE"].flatMap({ $0.isEmpty ? nil : $0 }) {
                arguments += ["--store", store]
                if let endpoint = libraryOptions.s3Endpoint ?? environment["AWS_ENDPOINT_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
                    arguments += ["--s3-endpoint", endpoint]
                }
                if libraryOptions.s3PathStyle { arguments.append("--s3-path-style") }
            }
            return arguments
        }
    }

    struct Uninstall: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove keepsake.service (disable it first).")

        @OptionGroup var unit: UnitOptions

        func run() throws {
            let systemctl = unit.user ? "systemctl --user" : "systemctl"
            guard access(unit.path, F_OK) == 0 else { throw UsageError(message: "\(unit.path) is not there: nothing to remove") }
            // Removing an enabled unit would leave systemd a link to nothing, and a daemon it can no longer stop by name.
            let wants = (try? FileManager.default.contentsOfDirectory(atPath: unit.directory)) ?? []
            if let enabled = wants.first(where: { $0.hasSuffix(".wants") && access(unit.directory + "/" + $0 + "/" + ServiceUnit.fileName, F_OK) == 0 }) {
                throw UsageError(message: "\(ServiceUnit.fileName) is enabled (\(unit.directory)/\(enabled)): run "
                                    + "`\(systemctl) disable --now \(ServiceUnit.fileName)` first, then `keepsake service uninstall` again")
            }
            guard unlink(unit.path) == 0 else {
                throw UsageError(message: "cannot remove \(unit.path): \(String(cString: strerror(errno)))")
            }
            print("removed \(unit.path); `\(systemctl) daemon-reload` makes systemd forget it")
        }
    }
}

/// Writes `text` to `path` whole or not at all: a temporary file beside it, fsync, rename, fsync of the folder.
private func replaceFile(_ path: String, with text: String) throws(Errno) {
    let temp = path + ".keepsake-partial"
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .current }
    do throws(Errno) {
        defer { close(fd) }
        let failure: Errno? = Array(text.utf8).withUnsafeBytes { bytes in
            do throws(Errno) { try FileIO.writeFully(fd, bytes) } catch { return error }
            return nil
        }
        if let failure { throw failure }
        guard fchmod(fd, 0o644) == 0, fsync(fd) == 0 else { throw .current }
    } catch {
        unlink(temp)
        throw error
    }
    guard rename(temp, path) == 0 else {
        let error = Errno.current
        unlink(temp)
        throw error
    }
    try FileIO.syncDirectory(BytePath(path).parent)
}

private func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
