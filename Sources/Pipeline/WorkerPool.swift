import Foundation
import Synchronization

/// Runs blocking work (file I/O, decoders, encoders) on threads of its own, so long C calls never occupy
/// Swift's cooperative thread pool. `workers` bounds how many items run at once.
public enum WorkerPool {
    public static func run<Item: Sendable>(_ items: [Item], workers: Int, _ body: @escaping @Sendable (Item) -> Void) {
        let next = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)
        let count = max(1, min(workers, items.count))
        for index in 0..<count {
            let thread = Thread {
                while true {
                    let position = next.add(1, ordering: .relaxed).oldValue
                    guard position < items.count else { break }
                    body(items[position])
                }
                finished.signal()
            }
            thread.name = "keepsake-worker-\(index)"
            thread.stackSize = 8 << 20  // decoders recurse deeper than the 512 KiB default allows
            thread.start()
        }
        for _ in 0..<count { finished.wait() }
    }
}
