import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM and SIGINT into a flag that the daemon polls between steps.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []  // written once, in init

    public init(signals: [Int32] = [SIGTERM, SIGINT]) {
        sources = signals.map { number in
            signal(number, SIG_IGN)  // the dispatch source sees the signal instead of the default handler
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.stopped.store(true, ordering: .relaxed) }
            source.resume()
            return source
        }
    }

    public var isSet: Bool { stopped.load(ordering: .relaxed) }
}
