import Foundation

/// The systemd unit of `keepsake service install`: `keepsake daemon` started at boot (system) or login (user),
/// `Type=notify`, restarted on failure, stopped with SIGTERM to the daemon alone so that it finishes what is in
/// flight and ends its workers itself.
public struct ServiceUnit: Sendable, Equatable {
    public enum Scope: Sendable, Equatable {
        /// `systemctl --user`: runs while the user is logged in (or always, with `loginctl enable-linger`).
        case user
        /// A system service, started at boot.
        case system
    }

    public static let fileName = "keepsake.service"
    /// The name of the passphrase among the service's systemd credentials (`$CREDENTIALS_DIRECTORY/keepsake-passphrase`).
    public static let credentialName = "keepsake-passphrase"

    public var scope: Scope
    /// The absolute path of the keepsake binary (keepsake-media lies beside it).
    public var executable: String
    /// What follows `keepsake daemon`: the library, the store, and the user's own daemon options.
    public var daemonArguments: [String]
    /// Absolute. The system unit hands it to the daemon as a systemd credential (`LoadCredential=`); the user unit as
    /// `--passphrase-file`.
    public var passphraseFile: String

    public init(scope: Scope, executable: String, daemonArguments: [String], passphraseFile: String) {
        self.scope = scope
        self.executable = executable
        self.daemonArguments = daemonArguments
        self.passphraseFile = passphraseFile
    }

    /// Where systemd looks for the unit: `$XDG_CONFIG_HOME/systemd/user` (`~/.config/systemd/user`), or
    /// `/etc/systemd/system`.
    public static func directory(for scope: Scope, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        switch scope {
        case .system: return "/etc/systemd/system"
        case .user:
            let config = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory() + "/.config"
            return config + "/systemd/user"
        }
    }

    /// `systemctl` or `systemctl --user`.
    public var systemctl: String { scope == .user ? "systemctl --user" : "systemctl" }

    public var execStart: [String] {
        [executable, "daemon"] + daemonArguments + (scope == .user ? ["--passphrase-file", passphraseFile] : [])
    }

    public var text: String {
        var unit = ["# Written by `keepsake service install`; `keepsake service uninstall` removes it.",
                    "[Unit]",
                    "Description=Keepsake: back up the watched folders (keepsake daemon)"]
        if scope == .system { unit += ["Wants=network-online.target", "After=network-online.target"] }
        unit += ["",
                 "[Service]",
                 "Type=notify",
                 "NotifyAccess=main",
                 "ExecStart=" + execStart.map(Self.quoted).joined(separator: " ")]
        if scope == .system { unit.append("LoadCredential=\(Self.credentialName):\(Self.escapedSpecifiers(passphraseFile))") }
        unit += ["Restart=on-failure",
                 "RestartSec=10s",
                 // Exit status 2 is a configuration mistake (a passphrase file others can read, a bad option): restarting
                 // cannot mend it.
                 "RestartPreventExitStatus=2",
                 // SIGTERM to the daemon only: it lets the files in flight finish and stops its workers itself.
                 "KillMode=mixed",
                 "TimeoutStopSec=120s",
                 "UMask=0077",
                 "",
                 "[Install]",
                 "WantedBy=" + (scope == .user ? "default.target" : "multi-user.target"),
                 ""]
        return unit.joined(separator: "\n")
    }

    /// One word of a command line as systemd reads it (systemd.syntax(7), systemd.service(5) "Command lines"):
    /// double quotes around a word with spaces, quotes, backslashes or control characters, C escapes inside them;
    /// `%` doubled against specifier expansion, `$` doubled against variable expansion.
    static func quoted(_ word: String) -> String {
        let plain = escapedSpecifiers(word).replacingOccurrences(of: "$", with: "$$")
        let needsQuotes = plain.isEmpty || plain.unicodeScalars.contains { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F || " \"'\\;".unicodeScalars.contains(scalar)
        }
        guard needsQuotes else { return plain }
        var result = "\""
        for scalar in plain.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: result += String(format: "\\x%02x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private static func escapedSpecifiers(_ text: String) -> String { text.replacingOccurrences(of: "%", with: "%%") }
}
