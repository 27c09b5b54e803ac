import Foundation
import Synchronization

/// Carries SIGINT/SIGTERM (or a test's request) to a running executor.
public final class StopController: Sendable {
    private let state = Mutex<(signal: Int32?, continuations: [AsyncStream<Int32>.Continuation])>((nil, []))

    public init() {}

    /// Asks the run to stop: no new steps, running commands get a grace period, then are killed.
    public func request(signal: Int32) {
        let continuations = state.withLock { state -> [AsyncStream<Int32>.Continuation] in
            if state.signal == nil { state.signal = signal }
            return state.continuations
        }
        for continuation in continuations { continuation.yield(signal) }
    }

    public var requested: Int32? { state.withLock { $0.signal } }

    /// The first stop request (immediately, if one was already made).
    func wait() async -> Int32? {
        let stream = AsyncStream<Int32> { continuation in
            let existing = state.withLock { state -> Int32? in
                state.continuations.append(continuation)
                return state.signal
            }
            if let existing { continuation.yield(existing) }
        }
        for await signal in stream { return signal }
        return nil
    }
}

/// Installs SIGINT/SIGTERM/SIGHUP handlers that stop the run instead of killing the process.
/// SIGHUP (the terminal or SSH session went away) is handled as SIGTERM is: running commands get
/// their grace, everything is journaled, and the output that cannot be shown any more is dropped.
public final class SignalTrap: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// `SIGINT`, `SIGTERM`, `SIGHUP`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }

    public init(controller: StopController, onSignal: @escaping @Sendable (Int32) -> Void) {
        StandardStream.ignoreSIGPIPE()
        for sig in Self.signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                onSignal(sig)
                controller.request(signal: sig)
            }
            source.resume()
            sources.append(source)
        }
    }

    public func remove() {
        for source in sources { source.cancel() }
        sources = []
        for sig in Self.signals { signal(sig, SIG_DFL) }
    }
}
