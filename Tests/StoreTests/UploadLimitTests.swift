import Foundation
@testable import Store
import Synchronization
import Testing

/// `--limit-upload`'s token bucket, on an injected clock: each wait is exact, so the tests are deterministic.
struct UploadLimitTests {
    @Test func aFullBucketLetsOneSecondThroughThenTakersWaitForTheirBytes() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 1000, now: .seconds(10))
        #expect(bucket.take(1000, now: .seconds(10)) == .zero)
        #expect(bucket.take(500, now: .seconds(10)) == .milliseconds(500))
        // The next taker queues behind the debt: 500 owed, 500 more asked, 250 ms of refill.
        #expect(bucket.take(500, now: .milliseconds(10_250)) == .milliseconds(750))
        // Idle for a minute: the bucket refills only up to its burst.
        #expect(bucket.take(1000, now: .seconds(80)) == .zero)
        #expect(bucket.take(1, now: .seconds(80)) == .milliseconds(1))
        // A take larger than the burst is allowed, and paid for in full.
        var large = TokenBucket(bytesPerSecond: 1000, burst: 1000, now: .zero)
        #expect(large.take(5000, now: .zero) == .seconds(4))
    }

    /// A clock that only the sleeps move.
    final class FakeClock: Sendable {
        let now = Mutex<Duration>(.seconds(100))
        let sleeps = Mutex<[Duration]>([])
        func read() -> Duration { now.withLock { $0 } }
        func sleep(_ duration: Duration) {
            sleeps.withLock { $0.append(duration) }
            now.withLock { $0 += duration }
        }
    }

    @Test func theAverageStaysAtTheLimitOverALongUpload() throws {
        let clock = FakeClock()
        let limit = UploadLimit(bytesPerSecond: 100 * 1024, clock: { clock.read() }, sleep: { clock.sleep($0) })
        let start = clock.read()
        let total = 3 << 20
        // Through the writer every object of the library goes through: pieces of any size, sliced.
        let sink = CountingWriter()
        let writer = LimitedWriter(sink, limit: limit)
        var sent = 0
        for size in [1, 300_000, 64 << 10, 1 << 20, 7, 200_000] + Array(repeating: 100_000, count: 20) where sent < total {
            let count = min(size, total - sent)
            try writer.write([UInt8](repeating: 0, count: count))
            sent += count
        }
        #expect(sink.count == sent)
        let seconds = TokenBucket.seconds(clock.read() - start)
        // One second of burst, then exactly the rate.
        let expected = Double(sent - 100 * 1024) / Double(100 * 1024)
        #expect(abs(seconds - expected) < 0.001, "\(seconds) s for \(sent) bytes at 100 KiB/s")
        #expect(clock.sleeps.withLock { $0 }.allSatisfy { $0 <= .seconds(1) }, "64 KiB slices: no long debt for one writer")
    }

    @Test func everyThreadTakesFromTheOneBucket() {
        // On the real clock: four threads of 256 KiB at 512 KiB/s (a burst of 512 KiB) cannot end in under a second.
        let limit = UploadLimit(bytesPerSecond: 512 * 1024)
        let start = ContinuousClock.now
        let done = DispatchGroup()
        for _ in 0..<4 {
            done.enter()
            Thread.detachNewThread {
                for _ in 0..<16 { limit.waitToSend(16 << 10) }
                done.leave()
            }
        }
        done.wait()
        #expect(ContinuousClock.now - start >= .milliseconds(990))
    }
}

final class CountingWriter: ObjectWriter {
    var count = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) { count += bytes.count }
    func commit() throws(StoreError) {}
    func abort() {}
}
