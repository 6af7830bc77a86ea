import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A token bucket of bytes: `rate` a second, holding at most `burst`. A take may leave it in debt; the taker waits
/// until the debt is paid back, so takers queue behind each other in the order they came and, over any stretch
/// of time `t`, at most `burst + rate × t` bytes go through, whatever the sizes of the takes.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: Duration

    /// Starts full at `now`.
    public init(bytesPerSecond rate: Double, burst: Double, now: Duration) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        last = now
    }

    /// Takes `bytes` at `now`; returns how long the taker must wait before sending them.
    public mutating func take(_ bytes: Int, now: Duration) -> Duration {
        if now > last {
            tokens = min(burst, tokens + rate * Self.seconds(now - last))
            last = now
        }
        tokens -= Double(bytes)
        return tokens >= 0 ? .zero : .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// `--limit-upload`: one bucket for every upload of the process, taken from by each object writer before it passes
/// bytes to the store, the local folder and S3 alike. Takers sleep on their own thread (the pipeline's workers,
/// never the cooperative pool); `clock` and `sleep` are injected by tests.
public final class UploadLimit: Sendable {
    private let bucket: Mutex<TokenBucket>
    private let clock: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) -> Void

    /// About one second's worth of bytes may go at once; the average stays at `bytesPerSecond`.
    public init(bytesPerSecond: Int, clock: @escaping @Sendable () -> Duration = UploadLimit.monotonicNow,
                sleep: @escaping @Sendable (Duration) -> Void = UploadLimit.sleepThread) {
        self.clock = clock
        self.sleep = sleep
        bucket = Mutex(TokenBucket(bytesPerSecond: Double(bytesPerSecond), burst: Double(bytesPerSecond), now: clock()))
    }

    public var bytesPerSecond: Double { bucket.withLock { $0.rate } }

    /// Blocks the calling thread until `bytes` may be sent.
    public func waitToSend(_ bytes: Int) {
        let wait = bucket.withLock { $0.take(bytes, now: clock()) }
        if wait > .zero { sleep(wait) }
    }

    @Sendable public static func monotonicNow() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return .seconds(Int64(now.tv_sec)) + .nanoseconds(Int64(now.tv_nsec))
    }

    /// `nanosleep` until the whole wait has passed, through interruptions.
    @Sendable public static func sleepThread(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// An object writer that takes from the upload limit before each piece reaches the store's writer.
final class LimitedWriter: ObjectWriter {
    private let base: any ObjectWriter
    private let limit: UploadLimit
    /// Pieces are taken in slices this small, so that one large write does not leave a long debt for the others.
    private static let slice = 64 << 10

    init(_ base: any ObjectWriter, limit: UploadLimit) {
        self.base = base
        self.limit = limit
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let count = min(Self.slice, bytes.count - offset)
            limit.waitToSend(count)
            try base.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            offset += count
        }
    }

    func commit() throws(StoreError) { try base.commit() }
    func abort() { base.abort() }
}
