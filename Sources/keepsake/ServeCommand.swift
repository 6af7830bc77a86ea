import ArgumentParser
import Dispatch
import Foundation
import Gallery
import Sharing
import Store

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "See and play the library in a web browser.",
        discussion: """
            Prints a one-time login link; the login page also takes the library's passphrase. Listens on loopback unless \
            told otherwise: on another address, give --tls-cert and --tls-key, or anyone on the network sees what you see.
            """)

    @Option(help: ArgumentHelp("The address and port to listen on.", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:8080"

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Serve HTTPS with this PEM certificate (chain).", valueName: "FILE"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "FILE"))
    var tlsKey: String?

    @Flag(name: .customLong("links-only"), help: "Serve public links only (keepsake share link): no passphrase, and this process holds no key.")
    var linksOnly = false

    @OptionGroup var libraryOptions: LibraryOptions

    func run() throws {
        let address = try ListenAddress(listen)
        guard (tlsCert == nil) == (tlsKey == nil) else { throw UsageError(message: "--tls-cert and --tls-key go together") }
        let tls = try tlsCert.map { cert in
            do { return try Gallery.tlsConfiguration(certificateFile: cert, keyFile: tlsKey!) }
            catch { throw UsageError(message: "cannot use --tls-cert \(cert) / --tls-key \(tlsKey!): \(error)") }
        }
        if !address.isLoopback && tls == nil {
            printError(linksOnly
                ? "keepsake: warning: listening on \(address.host) without TLS: browsers decrypt a link's album only on HTTPS "
                    + "pages (or on localhost), so links will not open; give --tls-cert and --tls-key"
                : "keepsake: warning: listening on \(address.host) without TLS: anyone on the network can read what you "
                    + "see and your passphrase as you type it; give --tls-cert and --tls-key")
        }
        let scheme = tls == nil ? "http" : "https"
        let serve: @Sendable (_ onRunning: @escaping @Sendable (String, Int) -> Void) async throws -> Void
        let greeting: @Sendable (String) -> String
        if linksOnly {
            let location = try libraryOptions.storeLocation()
            guard let shelf = try LinkShelf.open(library: libraryOptions.libraryPath, store: location) else {
                throw LibraryError.notALibrary(location.describe(library: libraryOptions.libraryPath))
            }
            let links = LinkServer(host: LinkHost(shelf: shelf), secureCookies: tls != nil)
            serve = { try await links.run(host: address.host, port: address.port, tls: tls, onRunning: $0) }
            let path = libraryOptions.libraryPath
            greeting = { base in "Serving the public links of \(path) at \(base)/l/…\nStop with Ctrl-C.\n" }
        } else {
            let library = try libraryOptions.open()
            let links = LinkServer(host: LinkHost(shelf: library.linkShelf), secureCookies: tls != nil)
            let gallery = Gallery(library: library, links: links, secureCookies: tls != nil)
            serve = { try await gallery.run(host: address.host, port: address.port, tls: tls, onRunning: $0) }
            let token = gallery.loginToken ?? ""
            greeting = { base in
                "Serving \(library.path) at \(base)/\nLog in with this link (it works once): \(base)/login?token=\(token)\n"
                    + "Public links: \(base)/l/…\nStop with Ctrl-C.\n"
            }
        }
        let done = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        Task {
            do {
                try await serve { host, port in
                    let base = "\(scheme)://\(ListenAddress.urlHost(host)):\(port)"
                    FileHandle.standardOutput.write(Data(greeting(base).utf8))
                }
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw ServeError(reason: "\(error)") }
    }
}

/// The server could not start or stopped on an error (the port is taken, say).
struct ServeError: KeepsakeError {
    var reason: String
    var exitStatus: Int32 { 3 }
    var isRunFatal: Bool { true }
    var description: String { "the web server stopped: \(reason)" }
}

private final class ErrorBox: @unchecked Sendable {
    // Written by the server task before it signals, read after the wait.
    var error: (any Error)?
}

/// `HOST:PORT`, `[IPv6]:PORT`.
struct ListenAddress {
    var host: String
    var port: Int

    init(_ text: String) throws {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            throw UsageError(message: "--listen \(text): give HOST:PORT, e.g. 127.0.0.1:8080")
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else {
            throw UsageError(message: "--listen \(text): give HOST:PORT with a port from 0 to 65535")
        }
        self.host = String(host)
        self.port = number
    }

    var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    static func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
