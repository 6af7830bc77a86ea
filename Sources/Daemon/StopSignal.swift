import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM and SIGINT into a flag that the daemon polls between steps.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []  // written once, in init

    /// `onStop` runs once, when the first signal arrives (on a dispatch queue, not in the signal handler).
    public init(signals: [Int32] = [SIGTERM, SIGINT], onStop: @escaping @Sendable () -> Void = {}) {
        sources = signals.map { number in
            signal(number, SIG_IGN)  // the dispatch source sees the signal instead of the default handler
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self, !self.stopped.exchange(true, ordering: .relaxed) else { return }
                onStop()
            }
            source.resume()
            return source
        }
    }

    public var isSet: Bool { stopped.load(ordering: .relaxed) }
}
