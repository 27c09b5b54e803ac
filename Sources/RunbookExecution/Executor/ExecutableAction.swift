import Foundation
import RunbookCore

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

    public init(done: Bool, summary: String, outputs: [String: Value] = [:], undoState: String? = nil, result: CommandResult? = nil) {
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

/// Everything an action needs to act on one host.
public struct ActionContext: Sendable {
    public var node: PlanNode
    public var arguments: ResolvedArguments
    public var host: String
    public var timeout: Double?
    public var outputLimit: Int
    let runner: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult

    public init(node: PlanNode, host: String, timeout: Double?, outputLimit: Int = 64 * 1024,
                runner: @escaping @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult) {
        self.node = node
        self.arguments = node.arguments
        self.host = host
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.runner = runner
    }

    /// Runs a command on a host (the step's by default). Throws `TransportError` when unreachable.
    public func run(_ command: CommandSpec, on host: String? = nil) async throws -> CommandResult {
        try await runner(host ?? self.host, command, timeout, outputLimit)
    }
}

/// The effects of an action, probe or gate type: what `run` does with a step of it.
///
/// `probe` must not change anything: the dry run calls it. `apply` is only called when the probe
/// said not done, and its intent is journaled first. `undo` receives what `probe` remembered.
public protocol ExecutableAction: Sendable {
    func probe(_ context: ActionContext) async throws -> Observation
    func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult
    func verify(_ context: ActionContext) async throws -> EffectResult
    func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult
}

extension ExecutableAction {
    public func verify(_ context: ActionContext) async throws -> EffectResult {
        try await runCommands(context.node.commands.filter { $0.purpose == .verify }, context: context, what: "verify")
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        guard case .commands(let commands) = context.node.undo else {
            return EffectResult(succeeded: true, summary: "nothing to undo")
        }
        return try await runCommands(commands, context: context, what: "undo")
    }

    /// Runs commands in order, stopping at the first that fails.
    func runCommands(_ commands: [PlannedCommand], context: ActionContext, what: String) async throws -> EffectResult {
        var last: CommandResult?
        for command in commands {
            let result = try await context.run(command.command, on: command.host)
            last = result
            if !result.succeeded {
                return EffectResult(succeeded: false, summary: Self.failureSummary(what, command.command, result), result: result)
            }
        }
        return EffectResult(succeeded: true, summary: commands.isEmpty ? "no \(what) command" : "\(what) ok", result: last)
    }

    static func failureSummary(_ what: String, _ command: CommandSpec, _ result: CommandResult) -> String {
        let status: String
        if result.timedOut {
            status = "timed out after \(String(format: "%.0f", result.duration))s"
        } else if let code = result.exitCode {
            status = "exited \(code)"
        } else {
            status = "was killed by signal \(result.signal ?? 0)"
        }
        let stderr = result.stderr.split(separator: "\n").last.map { ": \($0)" } ?? ""
        return "\(what) `\(command.shellText.prefix(120))` \(status)\(stderr)"
    }
}

/// `shell`: the planned commands are the effects. `check` exit 0 means done.
public struct ShellRuntime: ExecutableAction {
    public init() {}

    public func probe(_ context: ActionContext) async throws -> Observation {
        let checks = context.node.commands.filter { $0.purpose == .probe }
        guard !checks.isEmpty else {
            return Observation(done: false, summary: "no `check`: it runs every time")
        }
        for check in checks {
            let result = try await context.run(check.command, on: check.host)
            if !result.succeeded {
                let code = result.exitCode.map { "exited \($0)" } ?? (result.timedOut ? "timed out" : "was killed")
                return Observation(done: false, summary: "check \(code): not done yet", result: result)
            }
        }
        return Observation(done: true, summary: "check exited 0: already done")
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let commands = context.node.commands.filter { $0.purpose == .apply }
        var effect = try await runCommands(commands, context: context, what: "run")
        if let result = effect.result {
            effect.outputs = [
                "exit_code": result.exitCode.map { .int(Int($0)) } ?? .null,
                "stdout": .string(result.stdout), "stderr": .string(result.stderr),
            ]
        }
        return effect
    }
}

/// `command`: run the probe command, expose exit code and output.
public struct CommandProbeRuntime: ExecutableAction {
    public init() {}

    public func probe(_ context: ActionContext) async throws -> Observation {
        guard let command = context.node.commands.first(where: { $0.purpose == .probe }) else {
            return Observation(done: true, summary: "no command")
        }
        let result = try await context.run(command.command, on: command.host)
        let outputs: [String: Value] = [
            "exit_code": result.exitCode.map { .int(Int($0)) } ?? .int(-1),
            "stdout": .string(Self.trimmed(result.stdout)), "stderr": .string(Self.trimmed(result.stderr)),
        ]
        let status = result.timedOut ? "timed out" : result.exitCode.map { "exited \($0)" } ?? "was killed"
        let firstLine = Self.trimmed(result.stdout).split(separator: "\n").first.map { ": \($0.prefix(80))" } ?? ""
        return Observation(done: true, summary: "\(status)\(firstLine)", outputs: outputs, result: result)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }

    static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while text.last == "\n" || text.last == "\r" { text = text.dropLast() }
        return String(text)
    }
}

/// `ssh.reachable`: a connection check.
public struct SSHReachableRuntime: ExecutableAction {
    let check: @Sendable (String) async -> ConnectionCheck

    public init(check: @escaping @Sendable (String) async -> ConnectionCheck) {
        self.check = check
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let result = await check(context.host)
        var outputs: [String: Value] = ["reachable": .bool(result.reachable), "error": result.error.map(Value.string) ?? .null]
        outputs["latency_ms"] = result.latencyMs.map { .int(Int($0.rounded())) } ?? .null
        let summary = result.reachable
            ? "reachable (\(Int((result.latencyMs ?? 0).rounded())) ms)"
            : "unreachable: \(result.error ?? "no answer")"
        return Observation(done: true, summary: summary, outputs: outputs)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}

/// `ssh.key`: is a private key present, and accepted by another host.
public struct SSHKeyRuntime: ExecutableAction {
    public init() {}

    public func probe(_ context: ActionContext) async throws -> Observation {
        let path = context.arguments.string("path") ?? ""
        var outputs: [String: Value] = ["present": .bool(false), "mode": .null, "fingerprint": .null, "authorized": .null]
        let stat = try await context.run(CommandSpec(argv: ["stat", "-c", "%a", path]))
        guard stat.succeeded else {
            return Observation(done: true, summary: "no key at \(path) on \(context.host)", outputs: outputs, result: stat)
        }
        outputs["present"] = .bool(true)
        outputs["mode"] = .string(stat.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let fingerprint = try await context.run(CommandSpec(argv: ["ssh-keygen", "-l", "-f", path]))
        if fingerprint.succeeded {
            let fields = fingerprint.stdout.split(separator: " ")
            if fields.count > 1 { outputs["fingerprint"] = .string(String(fields[1])) }
        }
        var summary = "key \(path) present (mode \(outputs["mode"]!.renderedForText))"
        if let other = context.arguments.string("authorized_on") {
            let user = context.arguments.string("user") ?? "root"
            let publicKey = try await context.run(CommandSpec(argv: ["ssh-keygen", "-y", "-f", path]))
            let keyBody = publicKey.stdout.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let authorized = try await context.run(CommandSpec(argv: ["sh", "-c", "cat ~\(user)/.ssh/authorized_keys"]), on: other)
            let accepted = !keyBody.isEmpty && authorized.stdout.contains(keyBody)
            outputs["authorized"] = .bool(accepted)
            summary += accepted ? ", accepted by \(user)@\(other)" : ", NOT in \(user)@\(other)'s authorized_keys"
        }
        return Observation(done: true, summary: summary, outputs: outputs)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
