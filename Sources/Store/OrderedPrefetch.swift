import Dispatch
import Synchronization

/// Makes `count` values on GCD's threads, at most `window` of them ahead of the one in use, and hands them to `use`
/// in order on the calling thread. It overlaps the part of a sequential job that may run anywhere (reading and
/// opening sealed objects: store round trips, decryption, decoding) with the part that must stay on one thread in
/// order (applying them in one SQLite transaction). Returns, or throws, only after every `make` it started ended.
func forEachPrefetched<Value: Sendable>(count: Int, window: Int, make: @escaping @Sendable (Int) -> Value,
                                        use: (Int, Value) throws -> Void) rethrows {
    guard count > 0 else { return }
    let slots = (0..<count).map { _ in PrefetchSlot<Value>() }
    let running = DispatchGroup()
    var started = 0
    func startNext() {
        guard started < count else { return }
        let index = started, slot = slots[index]
        started += 1
        DispatchQueue.global(qos: .userInitiated).async(group: running) { slot.fill(make(index)) }
    }
    defer { running.wait() }
    for _ in 0..<max(1, window) { startNext() }
    for index in 0..<count {
        let value = slots[index].take()
        startNext()
        try use(index, value)
    }
}

/// One value made on another thread, taken once.
private final class PrefetchSlot<Value: Sendable>: Sendable {
    private let ready = DispatchSemaphore(value: 0)
    private let value = Mutex<Value?>(nil)

    func fill(_ made: Value) {
        value.withLock { $0 = made }
        ready.signal()
    }

    func take() -> Value {
        ready.wait()
        return value.withLock { $0.take()! }
    }
}
