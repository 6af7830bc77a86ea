import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the daemon is doing (`Type=notify`): the few lines of `sd_notify(3)`, without libsystemd.
/// Datagrams of `KEY=VALUE` lines go to the unix socket named by `$NOTIFY_SOCKET` (a path, or an abstract name
/// written with a leading `@`). Sending never blocks and never fails the daemon: systemd that is not listening
/// costs nothing.
public final class SystemdNotifier: Sendable {
    private let fd: Int32
    /// The `sockaddr_un` bytes and their length (an abstract name is not NUL-terminated: its length says where it ends).
    private let address: [UInt8]

    /// The notifier of `$NOTIFY_SOCKET`, nil when systemd did not set one (or set one that cannot be used). The variable
    /// is removed, so that the media workers this process starts do not speak for the service.
    public static func fromEnvironment() -> SystemdNotifier? {
        guard let name = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !name.isEmpty else { return nil }
        unsetenv("NOTIFY_SOCKET")
        return SystemdNotifier(socketName: name)
    }

    /// `socketName`: a path, or `@name` for an abstract socket.
    public init?(socketName: String) {
        var bytes = Array(socketName.utf8)
        guard bytes.first == UInt8(ascii: "/") || bytes.first == UInt8(ascii: "@") else { return nil }
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        guard bytes.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return nil }
        var address = [UInt8](repeating: 0, count: pathOffset)
        withUnsafeBytes(of: sa_family_t(AF_UNIX)) { address.replaceSubrange(0..<$0.count, with: $0) }
        address += bytes
        // A path is NUL-terminated (the kernel accepts either); an abstract name is exactly its bytes.
        if bytes[0] != 0 { address.append(0) }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.address = address
    }

    deinit { close(fd) }

    /// Sends `lines` (`READY=1`, `STATUS=…`, `STOPPING=1`) as one datagram.
    public func send(_ lines: String...) {
        let message = Array(lines.joined(separator: "\n").utf8)
        _ = address.withUnsafeBytes { address in
            message.withUnsafeBytes { message in
                sendto(fd, message.baseAddress, message.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT),
                       address.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
            }
        }
    }

    public func ready(status: String) { send("READY=1", "STATUS=" + Self.oneLine(status)) }
    public func status(_ status: String) { send("STATUS=" + Self.oneLine(status)) }
    public func stopping(status: String) { send("STOPPING=1", "STATUS=" + Self.oneLine(status)) }

    /// A status is one line: a newline would start another assignment.
    private static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ")
    }
}
