import Foundation
import Pipeline
import Synchronization
import Testing

struct WorkerPoolTests {
    struct Record { var load = 0, maxLoad = 0, order: [Int] = [], heaviestRunning = 0, heaviestOverlap = false }

    /// Runs items 0..<weights.count through the pool, each doing `work(index)`, recording the load.
    func run(weights: [Int], workers: Int, capacity: Int, work: @escaping @Sendable (Int) -> Void) -> Record {
        let record = Mutex(Record())
        let heaviest = weights.max() ?? 0
        WorkerPool.run(Array(weights.indices), workers: workers, capacity: capacity, weight: { weights[$0] }) { index in
            let weight = weights[index]
            record.withLock { state in
                state.load += weight
                state.maxLoad = max(state.maxLoad, state.load)
                state.order.append(index)
                if weight == heaviest {
                    state.heaviestRunning += 1
                    if state.heaviestRunning > 1 { state.heaviestOverlap = true }
                }
            }
            work(index)
            record.withLock { state in
                state.load -= weight
                if weight == heaviest { state.heaviestRunning -= 1 }
            }
        }
        return record.withLock { $0 }
    }

    @Test func everyItemRunsOnceAndTheWeightsRunningTogetherStayWithinTheCapacity() {
        // Two heavy videos first (largest first), then small ones and two medium ones.
        let weights = [8, 8, 0, 0, 3, 0, 0, 3, 0, 0]
        // The first heavy item holds until the first light one has started (at most 30 s), so how busy the machine
        // is cannot change the order: a pool that waited at the second heavy item would time out here.
        let lightStarted = DispatchSemaphore(value: 0)
        let state = run(weights: weights, workers: 3, capacity: 12) { index in
            if index == 2 { lightStarted.signal() }
            if index == 0 { _ = lightStarted.wait(timeout: .now() + 30) }
            usleep(weights[index] == 8 ? 50_000 : 10_000)
        }
        #expect(state.order.sorted() == Array(weights.indices))
        #expect(state.maxLoad <= 12)
        #expect(!state.heaviestOverlap)
        // While the first heavy item ran, the other workers went past the second one to the light items.
        #expect(state.order.firstIndex(of: 1)! > state.order.firstIndex(of: 2)!)
    }

    @Test func anItemHeavierThanTheCapacityRunsWithoutOtherWeight() {
        let state = run(weights: [20, 5, 0, 5], workers: 3, capacity: 10) { _ in usleep(50_000) }
        #expect(state.order.sorted() == [0, 1, 2, 3])
        #expect(state.maxLoad == 20)
    }
}
