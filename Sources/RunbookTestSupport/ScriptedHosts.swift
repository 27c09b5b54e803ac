import Foundation
import RunbookCore
import RunbookExecution
import Synchronization

/// An in-memory `HostAccess`: commands are answered by their argv with scripted replies, hosts
/// can be made unreachable, every command is recorded, and replies can take time (to test the
/// executor's concurrency, timeouts and cancellation) without starting a process.
///
/// A command with no script answers exit 0 with no output. A script's replies are used in turn;
/// its last reply then answers every later run of that command.
public final class ScriptedHosts: HostAccess, Sendable {
    /// One scripted answer.
    public struct Reply: Sendable {
        public var result: CommandResult?
        /// The transport's message when the reply is "unreachable" (`result` nil).
        public var unreachable: String?
        public var delay: Double

        /// Exit `code`, with this output, after `delay` seconds.
        public static func exit(_ code: Int32, stdout: String = "", stderr: String = "", after delay: Double = 0)
            -> Reply
        {
            Reply(result: CommandResult(exitCode: code, stdout: stdout, stderr: stderr), unreachable: nil, delay: delay)
        }

        /// Exit 0 with this output.
        public static func ok(_ stdout: String = "", after delay: Double = 0) -> Reply {
            .exit(0, stdout: stdout, after: delay)
        }

        /// The connection fails, as ssh's would.
        public static func unreachable(_ message: String = "ssh: connect to host: Connection refused") -> Reply {
            Reply(result: nil, unreachable: message, delay: 0)
        }
    }

    /// One command that ran.
    public struct Ran: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var argv: [String]
        /// Seconds since the hosts were made, when it started and ended.
        public var started: Double
        public var ended: Double

        public var description: String { "[\(host)] \(argv.joined(separator: " "))" }
    }

    struct Script {
        var replies: [Reply]
        var used = 0
    }

    struct State {
        var scripts: [String: Script] = [:]
        var unreachable: [String: String] = [:]
        var ran: [Ran] = []
        var running = 0
        var maxRunning = 0
        var checks: [String] = []
    }

    private let state = Mutex(State())
    private let epoch = ContinuousClock.now
    /// Every command takes at least this long (seconds).
    public let defaultDelay: Double
    /// Called as each command starts (e.g. to look at the journal at that instant).
    public let onRun: (@Sendable (String, [String]) -> Void)?

    public init(defaultDelay: Double = 0, onRun: (@Sendable (String, [String]) -> Void)? = nil) {
        self.defaultDelay = defaultDelay
        self.onRun = onRun
    }

    static func key(_ host: String?, _ argv: [String]) -> String {
        (host ?? "*") + "\u{1F}" + argv.joined(separator: "\u{1F}")
    }

    /// Scripts the replies to `argv` (on `host`, or on any host when nil).
    public func answer(_ argv: [String], on host: String? = nil, with replies: Reply...) {
        state.withLock { $0.scripts[Self.key(host, argv)] = Script(replies: replies) }
    }

    /// Makes a host unreachable (every command throws, connection checks fail), or reachable again.
    public func setUnreachable(_ host: String, _ unreachable: Bool = true, message: String = "Connection refused") {
        state.withLock { $0.unreachable[host] = unreachable ? message : nil }
    }

    /// Every command that ran (started), in start order.
    public var ran: [Ran] { state.withLock { $0.ran } }

    /// The argv of every command that ran on `host` (or on any host), joined by spaces.
    public func commands(on host: String? = nil) -> [String] {
        ran.filter { host == nil || $0.host == host }.map { $0.argv.joined(separator: " ") }
    }

    /// The most commands that were running at the same time.
    public var maxConcurrent: Int { state.withLock { $0.maxRunning } }

    /// The hosts whose connection was checked, in order.
    public var checked: [String] { state.withLock { $0.checks } }

    func now() -> Double {
        let elapsed = ContinuousClock.now - epoch
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    public func run(on host: String, _ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws
        -> CommandResult
    {
        let started = now()
        let (reply, index): (Reply?, Int) = state.withLock { state in
            state.running += 1
            state.maxRunning = max(state.maxRunning, state.running)
            state.ran.append(Ran(host: host, argv: command.argv, started: started, ended: started))
            let index = state.ran.count - 1
            if let message = state.unreachable[host] { return (.unreachable(message), index) }
            for key in [Self.key(host, command.argv), Self.key(nil, command.argv)] {
                guard var script = state.scripts[key], !script.replies.isEmpty else { continue }
                let reply = script.replies[min(script.used, script.replies.count - 1)]
                script.used += 1
                state.scripts[key] = script
                return (reply, index)
            }
            return (nil, index)
        }
        onRun?(host, command.argv)
        defer {
            let ended = now()
            state.withLock {
                $0.running -= 1
                $0.ran[index].ended = ended
            }
        }
        let delay = max(defaultDelay, reply?.delay ?? 0)
        if delay > 0 {
            do {
                try await Task.sleep(for: .seconds(timeout.map { min($0, delay) } ?? delay))
            } catch {
                throw TransportError(kind: .cancelled, host: host, message: "cancelled")
            }
            if let timeout, timeout < delay {
                return CommandResult(exitCode: nil, signal: 9, duration: timeout, timedOut: true)
            }
        }
        if let message = reply?.unreachable {
            throw TransportError(kind: .unreachable, host: host, message: message)
        }
        var result = reply?.result ?? CommandResult(exitCode: 0)
        result.duration = delay
        return result
    }

    public func checkConnection(_ host: String) async -> ConnectionCheck {
        let message = state.withLock { state -> String? in
            state.checks.append(host)
            return state.unreachable[host]
        }
        if let message { return ConnectionCheck(reachable: false, error: message) }
        return ConnectionCheck(reachable: true, latencyMs: 0)
    }

    public func firstReachable(_ candidates: [String], key: String) async -> (host: String?, errors: [String: String]) {
        var errors: [String: String] = [:]
        for candidate in candidates {
            let check = await checkConnection(candidate)
            if check.reachable { return (candidate, errors) }
            errors[candidate] = check.error ?? "unreachable"
        }
        return (nil, errors)
    }
}
