/// An action, probe or gate type: one value that declares what it takes and produces, renders
/// the exact commands a step of it runs, and carries them out.
///
/// The compiler uses the declaration and `commands(for:on:)` (pure); the executor, the live
/// planner, gates and rollback call the effects with an ``ActionContext`` whose runner is the
/// only way to reach a host, and which runs nothing the plan does not show. A new type is one
/// file with one of these and one registration line.
public protocol ActionType: Sendable {
    var descriptor: ActionDescriptor { get }

    /// The exact commands a step of this type runs on `host` with these arguments, in order.
    /// A type that decides at run time (parse output, then run a second command) lists the
    /// second command here too.
    func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand]

    /// Extra checks on the arguments once resolved (e.g. a volume name's shape). Messages only.
    func check(_ arguments: ResolvedArguments) -> [String]

    /// Why a step with these arguments cannot tell "already done" and so runs every time
    /// (`shell` without `check`), or nil when its probe can.
    func runsEveryTime(_ arguments: ResolvedArguments) -> String?

    /// Reads the world without changing it: is the action already done, what does a probe see.
    /// The dry run calls it.
    func probe(_ context: ActionContext) async throws -> Observation
    /// Changes the world. Only called when `probe` said not done, after the intent is journaled.
    func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult
    /// Checks that `apply` worked (default: the planned `verify` commands must exit 0).
    func verify(_ context: ActionContext) async throws -> EffectResult
    /// Undoes `apply`, given what `probe` remembered before it (default: the declared undo's
    /// commands; the executor runs a declared undo's `check` before and its `verify` after).
    /// A derived undo reads the world first and does nothing when it is already undone.
    func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult
}

extension ActionType {
    public func check(_ arguments: ResolvedArguments) -> [String] { [] }

    public func runsEveryTime(_ arguments: ResolvedArguments) -> String? { nil }

    /// Gates are carried out by the executor; a type with nothing to read says so.
    public func probe(_ context: ActionContext) async throws -> Observation {
        Observation(done: !descriptor.changes, summary: "\(descriptor.name) reads nothing")
    }

    /// A probe's apply is its observation.
    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }

    public func verify(_ context: ActionContext) async throws -> EffectResult {
        try await runCommands(context.planned(.verify), context: context.phase(.verify), what: "verify")
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        guard case .commands = context.node.undo else {
            return EffectResult(succeeded: true, summary: "nothing to undo")
        }
        return try await runCommands(context.node.undo.commands(.undo), context: context.phase(.undo), what: "undo")
    }

    /// Runs commands in order, stopping at the first that fails.
    public func runCommands(_ commands: [PlannedCommand], context: ActionContext, what: String) async throws
        -> EffectResult
    {
        var last: CommandResult?
        for command in commands {
            let result = try await context.run(command)
            last = result
            if !result.succeeded {
                return EffectResult(
                    succeeded: false, summary: CommandFailure.summary(what, command.command, result), result: result)
            }
        }
        return EffectResult(
            succeeded: true, summary: commands.isEmpty ? "no \(what) command" : "\(what) ok", result: last)
    }
}

/// How a failed command is told in one line.
public enum CommandFailure {
    /// "`what` `cmd` exited 3: last stderr line; stdout: last stdout line": the command cut
    /// where a quote closes (`CommandSpec.shortShellText`), what it printed last on each stream.
    public static func summary(_ what: String, _ command: CommandSpec, _ result: CommandResult) -> String {
        "\(what) `\(command.shortShellText())` \(status(result))"
            + (lastLine(result.stderr).map { ": \($0)" } ?? "")
            + (lastLine(result.stdout).map { "; stdout: \($0)" } ?? "")
    }

    /// The last line of an output that is not blank.
    static func lastLine(_ text: String) -> String? {
        text.split(whereSeparator: \.isNewline).last { $0.contains { !$0.isWhitespace } }.map(String.init)
    }

    /// "exited 3", "timed out after 30s", "was killed by signal 9".
    public static func status(_ result: CommandResult) -> String {
        if result.timedOut { return "timed out after \(Int(result.duration.rounded()))s" }
        if let code = result.exitCode { return "exited \(code)" }
        return "was killed by signal \(result.signal ?? 0)"
    }
}

/// The types `runbook` knows, by name, and the inventory keys their packs declare.
public struct ActionRegistry: Sendable {
    public private(set) var types: [String: any ActionType] = [:]
    public private(set) var order: [String] = []
    /// Host settings the packs read (e.g. `gluster`: the CLI's path), validated by the loader.
    public private(set) var hostKeys: [HostKeySpec] = []
    /// The transports the packs bring, by kind name.
    public private(set) var transports: [TransportKind: any TransportFactory] = [:]
    /// The transport kinds in the order the packs registered them (the loader lists them so).
    public private(set) var transportKinds: [TransportKind] = []

    public init() {}

    /// The registry of `packs`, registered in turn (a later pack's type or key replaces an earlier one's).
    public init(packs: [any Pack]) {
        for pack in packs { register(pack) }
    }

    /// The built-in types: `shell`, `command`, `ssh.key`, `ssh.reachable`, `tree.replay`, `tree.diff`,
    /// and the `approval`/`until` gates; and the `python3` host key the tree types read (``CorePack``).
    public static var builtIn: ActionRegistry { ActionRegistry(packs: [CorePack()]) }

    /// Adds a pack's types, host keys and transports.
    public mutating func register(_ pack: any Pack) {
        for type in pack.types { register(type) }
        for key in pack.hostKeys { register(hostKey: key) }
        for transport in pack.transports { register(transport: transport) }
    }

    /// Adds a transport under its kind name.
    public mutating func register(transport: any TransportFactory) {
        if transports[transport.kind] == nil { transportKinds.append(transport.kind) }
        transports[transport.kind] = transport
    }

    public mutating func register(_ type: any ActionType) {
        let name = type.descriptor.name
        if types[name] == nil { order.append(name) }
        types[name] = type
    }

    /// Declares an inventory host key (in `defaults` and per host) for a pack.
    public mutating func register(hostKey: HostKeySpec) {
        hostKeys.removeAll { $0.name == hostKey.name }
        hostKeys.append(hostKey)
    }

    public subscript(name: String) -> (any ActionType)? { types[name] }

    public func names(of kind: ActionDescriptor.Kind) -> [String] {
        order.filter { types[$0]?.descriptor.kind == kind }
    }

    public var all: [any ActionType] { order.compactMap { types[$0] } }
}

/// An inventory host key a pack declares: its name, value type and what it means.
public struct HostKeySpec: Sendable, Hashable {
    public var name: String
    public var type: ValueType
    public var description: String

    public init(_ name: String, _ type: ValueType, _ description: String) {
        self.name = name
        self.type = type
        self.description = description
    }
}
