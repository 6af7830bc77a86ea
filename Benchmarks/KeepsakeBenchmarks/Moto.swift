import Foundation
import Store
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// moto's S3 server on a free loopback port, started as the tests start it (`TestSupport.MotoServer`): one per
/// benchmark process, gone with it. Its request log says how many GETs and LISTs a measured step sent.
final class Moto: Sendable {
    private let server: MotoServer
    var endpoint: String { server.endpoint }
    private var log: String { server.log }

    init() throws {
        server = try MotoServer.dedicated()
    }

    /// The store `s3://bench/<prefix>` on this server.
    func location(prefix: String) throws -> StoreLocation {
        .s3(try S3Configuration(url: "s3://bench/\(prefix)", endpoint: endpoint, environment: MotoServer.environment))
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
}
