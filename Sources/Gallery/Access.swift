import Foundation
import KeepsakeCrypto
import Synchronization

/// Who may see the library: the one-time token printed at start, the sessions it and the passphrase login open, and
/// the rate limit on login attempts. Sessions live in this process only: a restart logs everyone out.
final class Access: Sendable {
    static let cookieName = "keepsake_session"
    /// A session unused this long is forgotten.
    static let idleTimeout: TimeInterval = 12 * 3600
    /// Login attempts (token or passphrase, right or wrong) allowed per `attemptWindow`.
    static let attemptsPerWindow = 5
    static let attemptWindow: TimeInterval = 60

    private struct State {
        var token: String?
        var sessions: [String: Date] = [:]
        var attempts: [Date] = []
    }

    private let state: Mutex<State>
    private let now: @Sendable () -> Date

    init(token: String = Access.randomSecret(), now: @escaping @Sendable () -> Date = Date.init) {
        state = Mutex(State(token: token))
        self.now = now
    }

    /// The token of the login URL, until it is used.
    var oneTimeToken: String? { state.withLock { $0.token } }

    static func randomSecret() -> String { randomBytes(32).map { String(format: "%02x", $0) }.joined() }

    enum Attempt: Equatable {
        case allowed
        /// Too many attempts: the next is allowed after this many seconds.
        case tooMany(retryAfter: Int)
    }

    /// Counts a login attempt against the limit.
    func attempt() -> Attempt {
        let now = now()
        return state.withLock { state in
            state.attempts.removeAll { now.timeIntervalSince($0) >= Self.attemptWindow }
            if state.attempts.count >= Self.attemptsPerWindow {
                let wait = Self.attemptWindow - now.timeIntervalSince(state.attempts[0])
                return .tooMany(retryAfter: max(1, Int(wait.rounded(.up))))
            }
            state.attempts.append(now)
            return .allowed
        }
    }

    /// Opens a session when `token` is the one-time token, which is then spent.
    func redeem(token: String) -> String? {
        state.withLock { state in
            guard let expected = state.token, constantTimeEqual(expected, token) else { return nil }
            state.token = nil
            return Self.open(&state, at: now())
        }
    }

    /// A new session (after a passphrase that unlocks the library).
    func openSession() -> String { state.withLock { Self.open(&$0, at: now()) } }

    private static func open(_ state: inout State, at time: Date) -> String {
        let id = randomSecret()
        state.sessions[id] = time
        return id
    }

    /// Whether `session` is open; using it keeps it open.
    func isValid(session: String) -> Bool {
        let now = now()
        return state.withLock { state in
            guard let lastUse = state.sessions[session] else { return false }
            guard now.timeIntervalSince(lastUse) < Self.idleTimeout else {
                state.sessions[session] = nil
                return false
            }
            state.sessions[session] = now
            return true
        }
    }

    func close(session: String) { _ = state.withLock { $0.sessions.removeValue(forKey: session) } }
}

/// Compares secrets without stopping at the first difference.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let a = Array(a.utf8), b = Array(b.utf8)
    guard a.count == b.count else { return false }
    return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
}
