import Foundation
import RunbookCore

/// `glusterfind.session`: `glusterfind create SESSION VOLUME` on the step's node, the one every
/// later glusterfind command of the session must run on.
///
/// The probe reads `glusterfind list` and the session's `status` file (its epoch: the list prints
/// the node's local time), and on every node of `nodes` the two prerequisites Debian does not
/// provide: the `.keys` directory and the pyxattr API for `/usr/bin/python3`. A missing one fails
/// the step before anything is created, saying what is missing where and the command that fixes
/// it. Writes in the first `changelog.rollover-time` after create are never reported (notes §1.4):
/// the runbook waits one rollover before it lets clients write.
public struct GlusterfindSessionAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public let descriptor = ActionDescriptor(
        name: "glusterfind.session", kind: .action,
        summary: "Create a glusterfind session (`glusterfind create SESSION VOLUME`) on the step's node, after checking"
            + " the prerequisites Debian lacks on every node (.keys directory, python3-pyxattr). create turns on"
            + " changelog.changelog, changelog.capture-del-path and storage.build-pgfid.",
        parameters: [
            GlusterfindNodes.session, GlusterfindNodes.volume, GlusterfindNodes.parameter,
            ParameterSpec(
                "python", .string, "the interpreter glusterfind's scripts run under (default /usr/bin/python3)"),
        ],
        outputs: [
            OutputSpec(
                "session_time", "timestamp", "the session's time (its `status` file): where the first pre starts"),
            OutputSpec("created", "bool", "whether this step created the session (false when it existed)"),
            OutputSpec("listed", "string", "the session's row of `glusterfind list` (time in the node's time zone)"),
        ],
        changes: true,
        undo: .derived(
            "if this step created the session: `glusterfind delete SESSION VOLUME` (the volume options create set"
                + " stay on)"),
        idempotency: "`glusterfind list` on the step's node shows SESSION for VOLUME")

    func python(_ arguments: ResolvedArguments) -> String {
        arguments.string("python") ?? GlusterfindCLI.defaultPython
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterfindCLI(settings: host.settings)
        let session = arguments.string("session") ?? ""
        let volume = arguments.string("volume") ?? ""
        let reads = [
            PlannedCommand(.probe, on: host.name, cli.list),
            PlannedCommand(.probe, on: host.name, GlusterfindCLI.readStatus(session, volume)),
        ]
        let checks = GlusterfindNodes.of(arguments, host: host.name).flatMap { node in
            [
                PlannedCommand(.probe, on: node, GlusterfindCLI.keysCheck),
                PlannedCommand(.probe, on: node, GlusterfindCLI.pyxattrCheck(python: python(arguments))),
            ]
        }
        let status = GlusterfindCLI.readStatus(session, volume)
        return reads + checks
            + [
                PlannedCommand(.apply, on: host.name, cli.create(session, volume)),
                PlannedCommand(.apply, on: host.name, status),
            ]
            + reads.map { PlannedCommand(.verify, on: $0.host, $0.command) }
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { GlusterfindNodes.check(arguments) }

    struct Observed: Codable, Sendable {
        var existed: Bool
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let cli = GlusterfindCLI(settings: context.settings)
        let listed = try await rows(context, cli)
        let row = listed.first { $0.session == session && $0.volume == volume }
        let status = try await Self.status(context, session, volume)
        var problems: [String] = []
        for node in context.glusterfindNodes() {
            let keys = try await context.run(GlusterfindCLI.keysCheck, on: node)
            let pyxattr = try await context.run(
                GlusterfindCLI.pyxattrCheck(python: python(context.arguments)), on: node)
            problems += GlusterfindCLI.missing(keys: keys, pyxattr: pyxattr, python: python(context.arguments))
                .map { "on \(node): \($0)" }
        }
        guard problems.isEmpty else {
            throw GlusterArgumentError(
                message: "glusterfind cannot work here yet: " + problems.joined(separator: "; ")
                    + " (every node holding a brick of \(volume) needs both; `nodes` lists them)")
        }
        let outputs: [String: Value] = [
            "created": .bool(false), "listed": row.map { .string("\($0.session) \($0.volume) \($0.time)") } ?? .null,
            "session_time": status.session.map { .timestamp(Date(timeIntervalSince1970: TimeInterval($0))) } ?? .null,
        ]
        guard let row else {
            let others = listed.map { "\($0.session) (\($0.volume))" }
            let seen = others.isEmpty ? "no session" : "sessions " + others.joined(separator: ", ")
            return Observation(
                done: false, summary: "no glusterfind session \(session) for \(volume) on \(context.host) (\(seen))",
                outputs: outputs, undoState: UndoJSON.encode(Observed(existed: false)))
        }
        if row.isCorrupted || status.session == nil {
            throw GlusterArgumentError(
                message: "glusterfind session \(session) for \(volume) on \(context.host) has no readable status file"
                    + " (list says \(row.time)): delete it (`glusterfind delete \(session) \(volume)`) and create it"
                    + " again"
            )
        }
        return Observation(
            done: true,
            summary: "glusterfind session \(session) for \(volume) exists on \(context.host) since"
                + " \(outputs["session_time"]?.renderedForText ?? row.time)",
            outputs: outputs, undoState: UndoJSON.encode(Observed(existed: true)))
    }

    func rows(_ context: ActionContext, _ cli: GlusterfindCLI) async throws -> [GlusterfindSession] {
        let result = try await context.run(cli.list)
        return try GlusterfindParse.sessions(GlusterOutput(command: cli.list, host: context.host, result: result))
    }

    static func status(_ context: ActionContext, _ session: String, _ volume: String, on node: String? = nil)
        async throws -> GlusterfindStatus
    {
        let command = GlusterfindCLI.readStatus(session, volume)
        let result = try await context.run(command, on: node)
        return try GlusterfindParse.status(
            GlusterOutput(command: command, host: node ?? context.host, result: result),
            directory: GlusterfindCLI.sessionDirectory(session, volume))
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let command = GlusterfindCLI(settings: context.settings).create(session, volume)
        // `glusterfind create` runs `gluster system:: copy file` and `volume set` itself; with
        // another transaction on the cluster (the failover's other sessions create theirs at the
        // same time) glusterd refuses, and create fails before it writes the session's status
        // ("Failed to distribute ssh keys: b'Another transaction is in progress ...'", the lab's
        // two-session failover). GlusterClient runs it as it runs a gluster command: again after
        // the glusterd-lock waits, then an error saying glusterd stayed busy.
        let (output, result) = try await GlusterClient(context).run(command)
        guard result.succeeded else {
            var why = GlusterfindParse.failure(output)
            if output.combined.contains(".keys") {
                why += " (run `mkdir -p \(GlusterfindCLI.keysDirectory)` on every node)"
            }
            return EffectResult(
                succeeded: false, summary: "glusterfind create on \(context.host) \(why)", result: result)
        }
        let status = try await Self.status(context, session, volume)
        let time = status.session.map { Value.timestamp(Date(timeIntervalSince1970: TimeInterval($0))) } ?? .null
        return EffectResult(
            succeeded: true,
            summary: "created glusterfind session \(session) for \(volume) on \(context.host); it starts at"
                + " \(time.renderedForText) (create + one rollover: writes before that are never listed)",
            outputs: ["created": .bool(true), "session_time": time, "listed": .null], result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let session = try context.required("session")
        let volume = try context.required("volume")
        guard let before = UndoJSON.decode(Observed.self, undoState) else {
            return EffectResult(
                succeeded: false,
                summary: "nothing was journaled about glusterfind session \(session) before this step: cannot tell"
                    + " whether it created it; delete it by hand (`glusterfind delete \(session) \(volume)`) if it did")
        }
        if before.existed {
            return EffectResult(succeeded: true, summary: "the session \(session) existed before this step: left alone")
        }
        let cli = GlusterfindCLI(settings: context.settings)
        let listed = try await rows(context, cli)
        guard listed.contains(where: { $0.session == session && $0.volume == volume }) else {
            return EffectResult(
                succeeded: true, summary: "no glusterfind session \(session) for \(volume): nothing to undo")
        }
        let command = cli.delete(session, volume)
        let result = try await context.run(command)
        guard result.succeeded else {
            let output = GlusterOutput(command: command, host: context.host, result: result)
            return EffectResult(
                succeeded: false, summary: "glusterfind delete on \(context.host) \(GlusterfindParse.failure(output))",
                result: result)
        }
        return EffectResult(
            succeeded: true, summary: "deleted glusterfind session \(session) for \(volume) on \(context.host)",
            result: result)
    }
}
