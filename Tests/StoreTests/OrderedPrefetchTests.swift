import Foundation
@testable import Store
import Synchronization
import Testing

/// `forEachPrefetched`: what the rebuild and the pull count on when they read ahead of what they apply.
struct OrderedPrefetchTests {
    private struct Stop: Error {}

    /// Counts values made and not yet used, and the most there were at once.
    private final class Ahead: Sendable {
        private let state = Mutex((now: 0, most: 0, started: 0, ended: 0))
        func started() { state.withLock { $0.started += 1 } }
        func made() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now); $0.ended += 1 } }
        func used() { state.withLock { $0.now -= 1 } }
        var snapshot: (now: Int, most: Int, started: Int, ended: Int) { state.withLock { $0 } }
    }

    @Test func valuesMadeOutOfOrderAreUsedInOrderWithABoundedNumberAhead() {
        let ahead = Ahead()
        var used: [Int] = []
        forEachPrefetched(count: 200, window: 4, make: { index in
            ahead.started()
            // Later ones often finish first.
            usleep(UInt32((index * 7919) % 13) * 100)
            ahead.made()
            return index * 3
        }) { index, value in
            #expect(value == index * 3)
            used.append(index)
            ahead.used()
        }
        #expect(used == Array(0..<200))
        // `window` made ahead of the one in use, plus the one just taken.
        #expect(ahead.snapshot.most <= 5)
        #expect(ahead.snapshot.most >= 2, "nothing was made ahead")
    }

    @Test func aThrowingUseEndsTheLoopOnlyAfterEveryStartedMakeEnded() {
        let ahead = Ahead()
        var used = 0
        #expect(throws: Stop.self) {
            try forEachPrefetched(count: 1_000, window: 8, make: { index in
                ahead.started()
                usleep(2_000)
                ahead.made()
                return index
            }) { index, _ in
                used += 1
                if index == 10 { throw Stop() }
            }
        }
        let counts = ahead.snapshot
        #expect(used == 11)
        #expect(counts.started == counts.ended, "a make still ran after the loop returned")
        #expect(counts.started <= 11 + 8, "made far past where the loop stopped: \(counts.started)")
    }

    @Test func nothingToMakeIsNoWork() {
        var calls = 0
        forEachPrefetched(count: 0, window: 3, make: { $0 }) { _, _ in calls += 1 }
        #expect(calls == 0)
    }
}
