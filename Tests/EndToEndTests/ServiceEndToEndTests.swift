import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake service install` and the daemon run as its unit runs it: the unit checked by `systemd-analyze verify`,
/// then its ExecStart started with systemd's environment (the passphrase as a credential or a private file, a
/// NOTIFY_SOCKET made here), heard saying READY=1, STATUS and STOPPING=1, and stopped by SIGTERM.
@Suite(.serialized) struct ServiceEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    struct Setup {
        var root: URL
        var folder: URL
        var library: String
        var passphraseFile: String
        var unitDir: String
        var unitPath: String { unitDir + "/keepsake.service" }
    }

    /// A library watching `root/Holiday`, and the passphrase in a file of `mode`.
    func makeSetup(mode: mode_t = 0o600) throws -> Setup {
        let root = try TestEnvironment.makeTempDirectory("keepsake-service")
        let folder = root.appendingPathComponent("Holiday")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let library = root.appendingPathComponent("lib").path
        let added = try Keepsake.run(["watch", "add", folder.path, "--library", library])
        #expect(added.status == 0, "\(added.stderrText)")
        let passphraseFile = root.appendingPathComponent("passphrase").path
        #expect(FileManager.default.createFile(atPath: passphraseFile, contents: Data("test passphrase\n".utf8)))
        #expect(chmod(passphraseFile, mode) == 0)
        return Setup(root: root, folder: folder.resolvingSymlinksInPath(), library: library,
                     passphraseFile: passphraseFile, unitDir: root.appendingPathComponent("units").path)
    }

    /// `service install`, run without $KEEPSAKE_PASSPHRASE: the file must unlock the library.
    func install(_ setup: Setup, user: Bool, extra: [String] = []) throws -> ProcessResult {
        try Keepsake.run(["service", "install", "--unit-dir", setup.unitDir, "--library", setup.library,
                          "--passphrase-file", setup.passphraseFile] + (user ? ["--user"] : []) + extra, passphrase: "")
    }

    /// The words of the unit's ExecStart, unquoted as systemd reads them (double quotes, `\\`, `\"`, `%%`, `$$`).
    func execStart(ofUnit text: String) throws -> [String] {
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        var words: [String] = [], word = "", quoted = false, escaped = false, started = false
        for character in line.dropFirst("ExecStart=".count) {
            if escaped { word.append(character == "n" ? "\n" : character); escaped = false; continue }
            switch character {
            case "\\" where quoted: escaped = true
            case "\"": quoted.toggle(); started = true
            case " " where !quoted:
                if started || !word.isEmpty { words.append(word) }
                word = ""; started = false
            default: word.append(character)
            }
        }
        if started || !word.isEmpty { words.append(word) }
        return words.map { $0.replacingOccurrences(of: "%%", with: "%").replacingOccurrences(of: "$$", with: "$") }
    }

    @Test(arguments: [false, true])
    func theUnitIsOneSystemdAccepts(user: Bool) throws {
        let setup = try makeSetup()
        defer { try? FileManager.default.removeItem(at: setup.root) }
        let installed = try install(setup, user: user, extra: ["--", "--jobs", "1", "--pull-interval", "30"])
        #expect(installed.status == 0, "\(installed.stderrText)")
        #expect(installed.stdoutText.contains("enable --now keepsake.service"), "\(installed.stdoutText)")
        let text = try String(contentsOfFile: setup.unitPath, encoding: .utf8)
        for line in ["Type=notify", "Restart=on-failure", "KillMode=mixed",
                     "WantedBy=" + (user ? "default.target" : "multi-user.target")] {
            #expect(text.contains("\n" + line + "\n"), "\(line) in\n\(text)")
        }
        let words = try execStart(ofUnit: text)
        let passphrase = user ? ["--passphrase-file", setup.passphraseFile] : []
        #expect(words == [Keepsake.binary, "daemon", "--library", setup.library, "--jobs", "1", "--pull-interval", "30"] + passphrase,
                "\(words)")
        #expect(text.contains("LoadCredential=keepsake-passphrase:\(setup.passphraseFile)\n") == !user,
                "the system unit hands the passphrase over as a credential")

        #expect(TestEnvironment.hasTool("systemd-analyze"), "systemd-analyze is missing: run scripts/setup --test")
        // A user manager needs a runtime directory of its own, which a test container has not.
        let runtime = setup.root.appendingPathComponent("runtime").path
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let verified = try runProcess("systemd-analyze", (user ? ["--user"] : []) + ["verify", setup.unitPath],
                                      environment: ["XDG_RUNTIME_DIR": runtime])
        #expect(verified.status == 0 && verified.stderrText.isEmpty, "systemd-analyze verify: \(verified.stderrText)\n\(text)")
    }

    @Test func aPassphraseFileOthersCanReadIsRefused() throws {
        let setup = try makeSetup(mode: 0o640)
        defer { try? FileManager.default.removeItem(at: setup.root) }
        let installed = try install(setup, user: false)
        #expect(installed.status == 2)
        #expect(installed.stderrText.contains("chmod 600 \(setup.passphraseFile)"), "\(installed.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: setup.unitPath), "no unit is written")
        // Under `timeout`: a daemon that took the file would run until stopped (status 124).
        let daemon = try runProcess("timeout", ["60", Keepsake.binary, "daemon", "--library", setup.library,
                                                "--passphrase-file", setup.passphraseFile], environment: ["KEEPSAKE_PASSPHRASE": ""])
        #expect(daemon.status == 2, "the daemon refuses the file too")
        #expect(daemon.stderrText.contains("open to others (mode 640)"), "\(daemon.stderrText)")

        #expect(chmod(setup.passphraseFile, 0o600) == 0)
        #expect(FileManager.default.createFile(atPath: setup.root.appendingPathComponent("wrong").path, contents: Data("wrong\n".utf8)))
        #expect(chmod(setup.root.appendingPathComponent("wrong").path, 0o600) == 0)
        let wrong = try Keepsake.run(["service", "install", "--unit-dir", setup.unitDir, "--library", setup.library,
                                      "--passphrase-file", setup.root.appendingPathComponent("wrong").path], passphrase: "")
        #expect(wrong.status == 3, "a file that does not unlock the library writes no unit: \(wrong.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: setup.unitPath))
    }

    @Test func uninstallRemovesTheUnitUnlessItIsEnabled() throws {
        let setup = try makeSetup()
        defer { try? FileManager.default.removeItem(at: setup.root) }
        #expect(try install(setup, user: true).status == 0)
        // As `systemctl --user enable` leaves it.
        let wants = setup.unitDir + "/default.target.wants"
        try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: wants + "/keepsake.service", withDestinationPath: setup.unitPath)
        let refused = try Keepsake.run(["service", "uninstall", "--user", "--unit-dir", setup.unitDir])
        #expect(refused.status == 2)
        #expect(refused.stderrText.contains("systemctl --user disable --now keepsake.service"), "\(refused.stderrText)")
        #expect(FileManager.default.fileExists(atPath: setup.unitPath))

        try FileManager.default.removeItem(atPath: wants + "/keepsake.service")
        let removed = try Keepsake.run(["service", "uninstall", "--user", "--unit-dir", setup.unitDir])
        #expect(removed.status == 0, "\(removed.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: setup.unitPath))
        #expect(try Keepsake.run(["service", "uninstall", "--user", "--unit-dir", setup.unitDir]).status == 2)
    }

    /// A unix datagram socket standing in for systemd's: a path, or an abstract name given as `@name`.
    final class NotifySocket {
        let fd: Int32
        let name: String
        private(set) var messages: [String] = []

        init(name: String) throws {
            self.name = name
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(name.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (bytes[0] == 0 ? 0 : 1))
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            guard fd >= 0, bound == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["errno": errno]) }
        }

        deinit { close(fd) }

        /// Receives until a message holds `line`, or `seconds` pass; true when it came.
        func waitFor(_ line: String, seconds: Double = 90) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if messages.contains(where: { $0.split(separator: "\n").contains { $0.hasPrefix(line) } }) { return true }
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 200) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 { messages.append(String(decoding: buffer[..<count], as: UTF8.self)) }
            }
            return false
        }
    }

    /// The system unit hands the passphrase as a credential, the user unit as a private file; the one over a socket
    /// path, the other over an abstract socket.
    @Test(arguments: [false, true])
    func theDaemonRunsAsItsUnitRunsIt(user: Bool) throws {
        let setup = try makeSetup()
        defer { try? FileManager.default.removeItem(at: setup.root) }
        #expect(try install(setup, user: user).status == 0)
        let words = try execStart(ofUnit: try String(contentsOfFile: setup.unitPath, encoding: .utf8))
        let socketName = user ? "@keepsake-test-\(UUID().uuidString.prefix(8))" : setup.root.appendingPathComponent("notify").path
        let notify = try NotifySocket(name: socketName)

        var environment = ProcessInfo.processInfo.environment.filter { !["KEEPSAKE_PASSPHRASE", "KEEPSAKE_LIBRARY"].contains($0.key) }
        environment["NOTIFY_SOCKET"] = socketName
        environment["KEEPSAKE_LOG_LEVEL"] = "info"
        if !user {
            // What systemd makes of LoadCredential=: a private folder holding a copy of the file.
            let credentials = setup.root.appendingPathComponent("credentials").path
            try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.copyItem(atPath: setup.passphraseFile, toPath: credentials + "/keepsake-passphrase")
            environment["CREDENTIALS_DIRECTORY"] = credentials
        }
        let log = setup.root.appendingPathComponent("daemon.log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: words[0])
        daemon.arguments = Array(words.dropFirst())
        daemon.environment = environment
        daemon.standardInput = FileHandle.nullDevice
        daemon.standardOutput = FileHandle(forWritingAtPath: log)
        daemon.standardError = FileHandle(forWritingAtPath: log)
        try daemon.run()
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL); daemon.waitUntilExit() } }
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        #expect(notify.waitFor("READY=1"), "\(notify.messages)\n\(logText())")
        #expect(notify.messages.contains { $0.contains("STATUS=watching 1 folder;") }, "\(notify.messages)")
        try FileManager.default.copyItem(atPath: samples + "/cameras/osxphotos__Tulips.jpg",
                                         toPath: setup.folder.appendingPathComponent("tulips.jpg").path)
        #expect(notify.waitFor("STATUS=watching 1 folder; 0 queued, 0 in flight, 1 done, 0 failed"), "\(notify.messages)\n\(logText())")

        daemon.terminate()
        #expect(notify.waitFor("STOPPING=1", seconds: 15), "\(notify.messages)")
        let deadline = Date().addingTimeInterval(30)
        while daemon.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!daemon.isRunning && daemon.terminationStatus == 0, "SIGTERM stops it cleanly\n\(logText())")
        let listed = try Keepsake.run(["ls", "--json", "--library", setup.library])
        #expect(listed.stdoutText.contains("tulips.jpg"), "\(listed.stdoutText)")
    }
}
