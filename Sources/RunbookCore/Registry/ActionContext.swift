import Foundation
import Synchronization

/// What an action's read-only probe side saw.
public struct Observation: Sendable {
    /// For actions: whether it is already done (so applying is skipped). For probes: true.
    public var done: Bool
    /// One line for people: "check exited 0", "features.read-only is on".
    public var summary: String
    /// Probe outputs, or what an action observed.
    public var outputs: [String: Value]
    /// What a typed action must remember to undo itself (the previous value), as JSON.
    public var undoState: String?
    /// The last command's result, for the journal.
    public var result: CommandResult?

    public init(
        done: Bool, summary: String, outputs: [String: Value] = [:], undoState: String? = nil,
        result: CommandResult? = nil
    ) {
        self.done = done
        self.summary = summary
        self.outputs = outputs
        self.undoState = undoState
        self.result = result
    }
}

/// The outcome of applying, verifying or undoing.
public struct EffectResult: Sendable {
    public var succeeded: Bool
    public var summary: String
    public var outputs: [String: Value]
    public var result: CommandResult?

    public init(succeeded: Bool, summary: String, outputs: [String: Value] = [:], result: CommandResult? = nil) {
        self.succeeded = succeeded
        self.summary = summary
        self.outputs = outputs
        self.result = result
    }
}

/// Runs commands on the hosts of a run: the seam between the types (pure) and the transports.
///
/// The execution layer's `HostPool` is the real one; tests use an in-memory one.
public protocol CommandRunner: Sendable {
    /// Runs a command on a host. Throws `TransportError` when the host cannot be reached.
    func run(on host: String, _ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws -> CommandResult
    /// Connects (or reuses the connection) and reports latency; never throws.
    func checkConnection(_ host: String) async -> ConnectionCheck
}

/// A runner made of closures (tests, and callers that already have one).
public struct ClosureRunner: CommandRunner {
    let runCommand: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult
    let check: @Sendable (String) async -> ConnectionCheck

    public init(
        run: @escaping @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult,
        checkConnection: @escaping @Sendable (String) async -> ConnectionCheck = { _ in ConnectionCheck(reachable: true)
        }
    ) {
        self.runCommand = run
        self.check = checkConnection
    }

    public func run(on host: String, _ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws
        -> CommandResult
    {
        try await runCommand(host, command, timeout, outputLimit)
    }

    public func checkConnection(_ host: String) async -> ConnectionCheck { await check(host) }
}

/// The commands one phase of one step instance actually ran, in order (the journal keeps them
/// beside the attempt, so "what ran" can be compared with "what the plan showed").
public final class CommandLog: Sendable {
    private let entries = Mutex<[PlannedCommand]>([])

    public init() {}

    func append(_ command: PlannedCommand) { entries.withLock { $0.append(command) } }

    /// What ran so far.
    public var commands: [PlannedCommand] { entries.withLock { $0 } }
}

/// A type tried to run a command its plan does not show: a bug in the type, never run.
public struct UnplannedCommandError: Error, CustomStringConvertible {
    public var step: String
    public var host: String
    public var command: CommandSpec

    public var description: String {
        "step \(step) tried to run `\(command.shellText.prefix(160))` on \(host), which its plan does not show;"
            + " nothing was run (this is a bug in the step's type: please report it)"
    }
}

/// Everything a type needs to act on one host, for one phase of one step instance.
///
/// Commands go through ``run(_:on:)``, which runs only what the step's plan shows (its
/// `commands`, or its declared undo): the plan's promise "this is what will run" holds by
/// construction. Only a derived undo may run commands decided at run time (the plan says so).
public struct ActionContext: Sendable {
    public var node: PlanNode
    public var arguments: ResolvedArguments
    public var host: String
    /// The host's inventory settings (packs read their own keys from `settings.extra`).
    public var settings: HostSettings
    public var timeout: Double?
    public var outputLimit: Int
    /// What the executor is doing: `probe`, `apply`, `verify` or `undo`.
    public var phase: PlannedCommand.Purpose
    public let runner: any CommandRunner
    /// Where the commands that ran are recorded, when the caller journals them.
    public var log: CommandLog?
    /// The epoch this run writes where it marks a resource (``EpochFencing``): one more than the
    /// newest epoch its fence read before it started. nil outside a run (the live plan).
    public var runEpoch: Int?
    /// The run's id (nil outside a run).
    public var runID: String?

    public init(
        node: PlanNode, host: String, settings: HostSettings = HostSettings(), phase: PlannedCommand.Purpose = .probe,
        timeout: Double?, outputLimit: Int = 64 * 1024, runner: any CommandRunner, log: CommandLog? = nil
    ) {
        self.node = node
        self.arguments = node.arguments
        self.host = host
        self.settings = settings
        self.phase = phase
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.runner = runner
        self.log = log
    }

    /// A context over a closure runner (tests).
    public init(
        node: PlanNode, host: String, settings: HostSettings = HostSettings(), phase: PlannedCommand.Purpose = .probe,
        timeout: Double?, outputLimit: Int = 64 * 1024,
        runner: @escaping @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult
    ) {
        self.init(
            node: node, host: host, settings: settings, phase: phase, timeout: timeout, outputLimit: outputLimit,
            runner: ClosureRunner(run: runner))
    }

    /// The same context for another phase.
    public func phase(_ phase: PlannedCommand.Purpose) -> ActionContext {
        var copy = self
        copy.phase = phase
        return copy
    }

    /// The planned commands of a purpose, in plan order.
    public func planned(_ purpose: PlannedCommand.Purpose) -> [PlannedCommand] {
        node.commands.filter { $0.purpose == purpose }
    }

    /// Whether the plan shows this command on this host (for any purpose, or as declared undo).
    public func isPlanned(_ command: CommandSpec, on host: String) -> Bool {
        if node.commands.contains(where: { $0.host == host && $0.command == command }) { return true }
        if case .commands(let undo) = node.undo, undo.contains(where: { $0.host == host && $0.command == command }) {
            return true
        }
        return false
    }

    /// Runs a command on a host (the step's by default). Throws `TransportError` when unreachable,
    /// and `UnplannedCommandError` (running nothing) for a command the plan does not show.
    public func run(_ command: CommandSpec, on host: String? = nil) async throws -> CommandResult {
        let target = host ?? self.host
        let derivedUndo: Bool
        if case .derived = node.undo { derivedUndo = phase == .undo } else { derivedUndo = false }
        guard derivedUndo || isPlanned(command, on: target) else {
            throw UnplannedCommandError(step: node.id, host: target, command: command)
        }
        log?.append(PlannedCommand(phase, on: target, command))
        return try await runner.run(on: target, command, timeout: timeout, outputLimit: outputLimit)
    }

    /// Runs a planned command where the plan says.
    public func run(_ planned: PlannedCommand) async throws -> CommandResult {
        try await run(planned.command, on: planned.host)
    }

    /// Runs a planned command whose `<name>` placeholders are filled with what was found at run
    /// time (the plan shows the placeholders, e.g. `find '<each local brick of gv0>' ...`).
    public func run(_ planned: PlannedCommand, filling bindings: [String: String]) async throws -> CommandResult {
        guard isPlanned(planned.command, on: planned.host) else {
            throw UnplannedCommandError(step: node.id, host: planned.host, command: planned.command)
        }
        let filled = planned.command.filling(bindings)
        log?.append(PlannedCommand(phase, on: planned.host, filled))
        return try await runner.run(on: planned.host, filled, timeout: timeout, outputLimit: outputLimit)
    }

    /// Checks that a host answers (no command is run).
    public func checkConnection(_ host: String? = nil) async -> ConnectionCheck {
        await runner.checkConnection(host ?? self.host)
    }
}

extension CommandSpec {
    /// `<name>` in an argument: a value the type finds at run time (see `ActionContext.run(_:filling:)`).
    public static func placeholder(_ name: String) -> String { "<\(name)>" }

    /// The command with each `<name>` of `bindings` replaced by its value.
    public func filling(_ bindings: [String: String]) -> CommandSpec {
        var copy = self
        copy.argv = argv.map { argument in
            bindings.reduce(argument) { text, binding in
                text.replacingOccurrences(of: CommandSpec.placeholder(binding.key), with: binding.value)
            }
        }
        return copy
    }

    /// Whether `actual` is this command with its placeholders filled in (each `<...>` matches
    /// one or more characters), or this command exactly.
    public func matches(_ actual: [String]) -> Bool {
        guard actual.count == argv.count else { return false }
        return zip(argv, actual).allSatisfy { Self.matches(template: $0, $1) }
    }

    static func matches(template: String, _ actual: String) -> Bool {
        var literals: [Substring] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            literals.append(rest[..<open])
            rest = rest[rest.index(after: close)...]
        }
        if literals.isEmpty { return template == actual }
        literals.append(rest)
        var remaining = Substring(actual)
        guard remaining.hasPrefix(literals[0]) else { return false }
        remaining = remaining.dropFirst(literals[0].count)
        for (i, literal) in literals.enumerated().dropFirst() {
            if i == literals.count - 1 {
                return remaining.count > literal.count && remaining.hasSuffix(literal)
            }
            guard let range = remaining.dropFirst().range(of: literal) else { return false }
            remaining = remaining[range.upperBound...]
        }
        return true
    }
}

/// A probe's answer that no later poll can change (a session Faulty past its bound): an `until`
/// gate fails at once with this message instead of polling to its timeout; elsewhere it fails the
/// probe like any error.
public struct ConclusiveProbeFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
