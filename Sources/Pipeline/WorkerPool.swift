import Foundation
import Synchronization

/// Runs blocking work (file I/O, decoders, encoders) on threads of its own, so long C calls never occupy
/// Swift's cooperative thread pool. `workers` bounds how many items run at once.
public enum WorkerPool {
    /// Runs `body` once for each item, taking them in order. An item whose `weight` does not fit in what `capacity`
    /// leaves beside the running items waits, and the next items that fit go first; an item heavier than
    /// `capacity` runs when nothing else weighs anything.
    public static func run<Item: Sendable>(_ items: [Item], workers: Int, capacity: Int = .max,
                                           weight: (Item) -> Int = { _ in 0 }, _ body: @escaping @Sendable (Item) -> Void) {
        let queue = WeightedQueue(weights: items.map(weight), capacity: capacity)
        let finished = DispatchSemaphore(value: 0)
        let count = max(1, min(workers, items.count))
        for index in 0..<count {
            let thread = Thread {
                while let position = queue.take() {
                    body(items[position])
                    queue.finish(position)
                }
                finished.signal()
            }
            thread.name = "keepsake-worker-\(index)"
            thread.stackSize = threadStackSize
            thread.start()
        }
        for _ in 0..<count { finished.wait() }
    }
}

/// Decoders recurse deeper than the 512 KiB default allows.
private let threadStackSize = 8 << 20

/// One value made on a thread of its own (not the cooperative pool) while the caller does something else. Whoever
/// starts one joins it on every path, so that nothing it does outlives the job that started it.
final class ThreadedValue<Value: Sendable>: Sendable {
    private let made = DispatchSemaphore(value: 0)
    private let value = Mutex<Value?>(nil)

    init(name: String, _ make: @escaping @Sendable () -> Value) {
        let thread = Thread { [self] in
            let result = make()
            value.withLock { $0 = result }
            made.signal()
        }
        thread.name = name
        thread.stackSize = threadStackSize
        thread.start()
    }

    /// Waits for the value (at once when it is made); may be called again.
    @discardableResult
    func join() -> Value {
        made.wait()
        defer { made.signal() }
        return value.withLock { $0! }
    }
}

/// Which item a worker takes next: the first not yet taken whose weight fits beside the running ones.
private final class WeightedQueue: @unchecked Sendable {  // all state is guarded by `condition`
    private let weights: [Int]
    private let capacity: Int
    private let condition = NSCondition()
    private var taken: [Bool]
    /// Every item before it is taken.
    private var firstUntaken = 0
    private var load = 0

    init(weights: [Int], capacity: Int) {
        self.weights = weights
        self.capacity = capacity
        taken = Array(repeating: false, count: weights.count)
    }

    /// The next item's position, waiting while none fits; nil when every item is taken.
    func take() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while firstUntaken < taken.count && taken[firstUntaken] { firstUntaken += 1 }
            guard firstUntaken < taken.count else { return nil }
            if let position = (firstUntaken..<taken.count).first(where: { !taken[$0] && fits(weights[$0]) }) {
                taken[position] = true
                load += weights[position]
                return position
            }
            condition.wait()
        }
    }

    func finish(_ position: Int) {
        condition.lock()
        load -= weights[position]
        condition.broadcast()
        condition.unlock()
    }

    private func fits(_ weight: Int) -> Bool { weight == 0 || load == 0 || load + weight <= capacity }
}
