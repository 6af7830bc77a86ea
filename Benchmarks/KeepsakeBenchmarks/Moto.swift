import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

/// moto's S3 server on a free loopback port, as the tests start it (`Tests/TestSupport` MotoServer): one per
/// benchmark process, gone with it. Its request log says how many GETs and LISTs a measured step sent.
final class Moto: Sendable {
    let endpoint: String
    private let log: String

    init() throws {
        let port = Self.freePort()
        endpoint = "http://127.0.0.1:\(port)"
        log = BenchmarkData.temporaryDirectory("moto") + "/requests.log"
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
        FileManager.default.createFile(atPath: log, contents: nil)
        server.standardOutput = FileHandle(forWritingAtPath: log)
        server.standardError = server.standardOutput
        try server.run()
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOfFile: log, encoding: .utf8))?.contains("Running on") != true {
            precondition(Date() < deadline && server.isRunning, "moto did not start: run scripts/setup --test")
            usleep(100_000)
        }
    }

    /// The store `s3://bench/<prefix>` on this server.
    func location(prefix: String) throws -> StoreLocation {
        .s3(try S3Configuration(url: "s3://bench/\(prefix)", endpoint: endpoint,
                                environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"]))
    }

    struct Requests {
        var gets = 0, lists = 0, others = 0
    }

    /// The requests logged so far (moto logs each one as it answers: `"GET /bench?list-type=2&… HTTP/1.1" 200`).
    func requests() -> Requests {
        var requests = Requests()
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            guard let start = line.firstRange(of: "] \"")?.upperBound else { continue }
            let request = line[start...]
            if request.hasPrefix("GET /bench?") || request.hasPrefix("GET /bench/?") {
                requests.lists += 1
            } else if request.hasPrefix("GET ") {
                requests.gets += 1
            } else {
                requests.others += 1
            }
        }
        return requests
    }

    /// The requests logged since `before` was (moto logs a request once it has answered it, so this waits a little).
    func requests(since before: Requests) -> Requests {
        usleep(300_000)
        let now = requests()
        return Requests(gets: now.gets - before.gets, lists: now.lists - before.lists, others: now.others - before.others)
    }

    private static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        precondition(bound, "no free loopback port")
        return UInt16(bigEndian: address.sin_port)
    }
}
