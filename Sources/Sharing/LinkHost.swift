import Foundation
import KeepsakeCrypto
import Store
import Synchronization

/// What a server needs to answer for public links, without any key (docs/public-links.md): which links are live,
/// which objects each may read, password checks with attempt limits, expiry (the record becomes a tombstone and the
/// link's manifest and pictures are deleted at the first request after it), and open counts.
/// Calls block on the store: make them from threads of your own.
public final class LinkHost: Sendable {
    public enum State: Sendable {
        case live(LiveLink)
        /// Revoked or expired: 410.
        case gone
        case unknown
    }

    /// A live link's record with its object list as a set.
    public struct LiveLink: Sendable {
        public let record: LinkRecord
        public let objects: Set<String>
        public var token: String { record.token }
        public var hasPassword: Bool { record.password != nil }
        public func mayRead(_ name: String) -> Bool { objects.contains(name) }
    }

    public enum Unlock: Sendable, Equatable {
        /// The password is right: the session that lets this client read the link's objects.
        case opened(session: String)
        case wrong
        case tooMany(retryAfter: Int)
    }

    /// Failed password checks allowed per link in `attemptWindow` (whoever makes them: only holders of the link can).
    public static let attemptLimit = 5
    static let attemptWindow: TimeInterval = 60
    /// How long a record read from the store is trusted: a revocation reaches a running server within this.
    static let recordTTL: TimeInterval = 5
    static let sessionLifetime: TimeInterval = 12 * 3600

    let shelf: LinkShelf
    /// Names this process's open counts (`links/<token>/opens/<server>`).
    let serverId = randomBytes(8).hexString
    private let records = Mutex<[String: (read: Date, state: State)]>([:])
    private let failures = Mutex<[String: [Date]]>([:])
    private let sessions = Mutex<[String: (token: String, expires: Date)]>([:])
    private let opens = Mutex<[String: Int]>([:])

    public init(shelf: LinkShelf) { self.shelf = shelf }

    /// The link `token` as the store has it now (within `recordTTL`). An expired live link is retired here.
    public func state(of token: String, now: Date = Date()) throws -> State {
        guard LinkShelfNames.isToken(token) else { return .unknown }
        if let cached = records.withLock({ $0[token] }), now.timeIntervalSince(cached.read) < Self.recordTTL {
            if case .live(let link) = cached.state, let expires = link.record.expires, expires <= now {
                return try retire(link.record, now: now)
            }
            return cached.state
        }
        let state: State
        if let bytes = try shelf.read(LinkShelfNames.record(token), upTo: LinkRecord.byteCap) {
            let record = try LinkRecord.decode(bytes)
            guard record.token == token else { throw LinkHostError.recordMismatch(token) }
            if record.isTombstone {
                state = .gone
            } else if let expires = record.expires, expires <= now {
                return try retire(record, now: now)
            } else {
                state = .live(LiveLink(record: record, objects: Set(record.objects)))
            }
        } else {
            state = .unknown
        }
        records.withLock { $0[token] = (now, state) }
        return state
    }

    /// An expired link: its record becomes a tombstone, then its manifest and pictures go.
    private func retire(_ record: LinkRecord, now: Date) throws -> State {
        try shelf.put(LinkShelfNames.record(record.token), try record.tombstone(at: now).encoded())
        records.withLock { $0[record.token] = (now, .gone) }
        try LinkShelfCleanup.removeContent(of: record.token, from: shelf)
        return .gone
    }

    /// Checks a password's check key for `link`, counting failures per link.
    public func unlock(_ link: LiveLink, checkKey: [UInt8], now: Date = Date()) -> Unlock {
        guard let password = link.record.password else { return .opened(session: openSession(for: link.token, now: now)) }
        let key = link.token
        let recent = failures.withLock { table in
            table[key] = (table[key] ?? []).filter { now.timeIntervalSince($0) < Self.attemptWindow }
            return table[key]!
        }
        if recent.count >= Self.attemptLimit {
            let wait = Int((Self.attemptWindow - now.timeIntervalSince(recent[0])).rounded(.up))
            return .tooMany(retryAfter: max(1, wait))
        }
        guard LinkCipher.matches(checkKey: checkKey, verifier: password.verifier) else {
            failures.withLock { $0[key, default: []].append(now) }
            return .wrong
        }
        return .opened(session: openSession(for: link.token, now: now))
    }

    private func openSession(for token: String, now: Date) -> String {
        let session = randomBytes(32).hexString
        sessions.withLock { table in
            table = table.filter { $0.value.expires > now }
            table[session] = (token, now.addingTimeInterval(Self.sessionLifetime))
        }
        return session
    }

    /// Whether `session` (the link's cookie) was opened for `token` and is still good.
    public func isSession(_ session: String?, for token: String, now: Date = Date()) -> Bool {
        guard let session else { return false }
        return sessions.withLock { $0[session].map { $0.token == token && $0.expires > now } ?? false }
    }

    /// Counts one answered manifest, and stores this process's count for the link.
    public func countOpen(_ token: String, now: Date = Date()) throws {
        let count = opens.withLock { table in
            table[token, default: 0] += 1
            return table[token]!
        }
        let bytes = Array(try LinkJSON.encoder.encode(LinkOpens(count: count, updated: now)))
        try shelf.put(LinkShelfNames.opensPrefix(token) + serverId, bytes)
    }

    /// The bytes of a small link object (the manifest).
    public func read(_ name: String) throws -> [UInt8]? {
        try shelf.read(name, upTo: LinkRecord.byteCap)
    }

    public func size(of name: String) throws -> UInt64? { try shelf.size(of: name) }

    public func read(_ name: String, range: Range<UInt64>, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try shelf.read(name, range: range, into: sink)
    }
}

public enum LinkHostError: Error, CustomStringConvertible {
    case recordMismatch(String)
    public var description: String {
        switch self {
        case .recordMismatch(let token): "the store's record for link \(token) names another link"
        }
    }
}
