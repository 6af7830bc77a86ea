import Foundation
import Pipeline
import Synchronization
import Testing

struct WorkerPoolTests {
    struct Record { var load = 0, maxLoad = 0, order: [Int] = [], heavyRunning = 0, heavyOverlap = false }

    @Test func everyItemRunsOnceAndTheWeightsRunningTogetherStayWithinTheCapacity() {
        // Two heavy videos first (largest first), then small ones and two medium ones.
        let weights = [8, 8, 0, 0, 3, 0, 0, 3, 0, 0]
        let record = Mutex(Record())
        WorkerPool.run(Array(weights.indices), workers: 3, capacity: 12, weight: { weights[$0] }) { index in
            record.withLock { state in
                state.load += weights[index]
                state.maxLoad = max(state.maxLoad, state.load)
                state.order.append(index)
                if weights[index] == 8 {
                    state.heavyRunning += 1
                    if state.heavyRunning > 1 { state.heavyOverlap = true }
                }
            }
            usleep(weights[index] == 8 ? 150_000 : 10_000)
            record.withLock { state in
                state.load -= weights[index]
                if weights[index] == 8 { state.heavyRunning -= 1 }
            }
        }
        let state = record.withLock { $0 }
        #expect(state.order.sorted() == Array(weights.indices))
        #expect(state.maxLoad <= 12)
        #expect(!state.heavyOverlap)
        // While the first heavy item ran, the other workers went past the second one to the light items.
        #expect(state.order.firstIndex(of: 1)! > state.order.firstIndex(of: 2)!)
    }

    @Test func anItemHeavierThanTheCapacityRunsWithoutOtherWeight() {
        let weights = [20, 5, 0, 5]
        let record = Mutex(Record())
        WorkerPool.run(Array(weights.indices), workers: 3, capacity: 10, weight: { weights[$0] }) { index in
            record.withLock { state in
                state.load += weights[index]
                state.maxLoad = max(state.maxLoad, state.load)
                state.order.append(index)
            }
            usleep(50_000)
            record.withLock { $0.load -= weights[index] }
        }
        let state = record.withLock { $0 }
        #expect(state.order.sorted() == [0, 1, 2, 3])
        #expect(state.maxLoad == 20)
    }
}
