import Foundation
import RunbookCore

/// `gluster.georep.{create,start,stop,pause,resume,delete}`: the session's life cycle.
///
/// The probe reads `status detail --xml` of the session; "already done" is the state the verb
/// leads to. The undo is derived from the state observed before applying (journaled as JSON).
public struct GeoRepSessionAction: ActionType, ReprobingAction {
    /// The session verb.
    public enum Verb: String, Sendable, CaseIterable {
        case create, start, stop, pause, resume, delete
    }

    /// Which verb this type runs.
    public let verb: Verb
    /// Seconds between verify attempts (state changes can lag a little behind the command).
    public var verifyDelay: Double

    /// Creates the type for one verb.
    public init(_ verb: Verb, verifyDelay: Double = 2) {
        self.verb = verb
        self.verifyDelay = verifyDelay
    }

    static let primary = ParameterSpec("primary", .string, required: true, "the primary (source) volume of the session")
    static let secondary = ParameterSpec(
        "secondary", .string, required: true, "the secondary: HOST::VOLUME or USER@HOST::VOLUME")

    public var descriptor: ActionDescriptor {
        let force = ParameterSpec("force", .bool, "pass `force`")
        switch verb {
        case .create:
            return ActionDescriptor(
                name: "gluster.georep.create", kind: .action,
                summary:
                    "Create a geo-replication session (`create [ssh-port N] [push-pem] [force]`). Note: push-pem sets features.read-only on on the secondary volume.",
                parameters: [
                    Self.primary, Self.secondary,
                    ParameterSpec("push_pem", .bool, "distribute the common pem keys to the secondary (default true)"),
                    ParameterSpec("ssh_port", .int, "ssh port of the secondary nodes (default 22)"),
                    ParameterSpec(
                        "force", .bool,
                        "pass `force` (needed when the secondary is not empty or smaller, as in a failback)"),
                    ParameterSpec(
                        "read_only_on", .string, hostReference: true,
                        "an inventory host of the secondary's cluster: push-pem sets features.read-only on on the"
                            + " secondary volume as a side effect; the probe reads the option there first and the undo"
                            + " puts it back (without it the undo leaves the secondary volume read-only)"),
                ],
                outputs: [OutputSpec("session", "string", "`present` after the step")],
                changes: true,
                undo: .derived(
                    "if this step created the session: stop it (force) and delete it; with read_only_on, set the"
                        + " secondary volume's features.read-only back to what it was"),
                idempotency: "the session PRIMARY → SECONDARY exists (`status` lists it)")
        case .start:
            return ActionDescriptor(
                name: "gluster.georep.start", kind: .action,
                summary: "Start a geo-replication session (`start [force]`).",
                parameters: [Self.primary, Self.secondary, force], outputs: [],
                changes: true, undo: .derived("stop the session (force)"),
                idempotency:
                    "every worker is Active, Passive, Initializing... or Faulty (started); Faulty ones are reported by gluster.georep.status"
            )
        case .stop:
            return ActionDescriptor(
                name: "gluster.georep.stop", kind: .action,
                summary:
                    "Stop a geo-replication session (`stop [force]`; force also stops it when primary nodes are unreachable).",
                parameters: [
                    Self.primary, Self.secondary, force,
                    ParameterSpec(
                        "marker_dir", .string,
                        "the primary volume's mount on the step's host: a rollback that starts the session again"
                            + " proves it replicates there, as gluster.georep.prove does (a stalled session is restarted)"
                    ),
                ], outputs: [],
                changes: true,
                undo: .derived(
                    "start the session again (force), only if it was running before; with marker_dir, prove it"
                        + " replicates (gluster.georep.prove)"),
                idempotency: "there is no session, or every worker is Stopped (or Created)")
        case .pause:
            return ActionDescriptor(
                name: "gluster.georep.pause", kind: .action,
                summary: "Pause a geo-replication session (`pause [force]`).",
                parameters: [Self.primary, Self.secondary, force], outputs: [],
                changes: true, undo: .derived("resume the session"),
                idempotency: "every worker is Paused")
        case .resume:
            return ActionDescriptor(
                name: "gluster.georep.resume", kind: .action,
                summary: "Resume a paused geo-replication session (`resume [force]`).",
                parameters: [Self.primary, Self.secondary, force], outputs: [],
                changes: true, undo: .derived("pause the session again, only if it was paused before"),
                idempotency: "no worker is Paused and every worker is started")
        case .delete:
            return ActionDescriptor(
                name: "gluster.georep.delete", kind: .action,
                summary:
                    "Delete a stopped geo-replication session (`delete [reset-sync-time]`; 10.3 has no `delete force`). Cannot be undone: mark the step `irreversible: true` behind a commit point.",
                parameters: [
                    Self.primary, Self.secondary,
                    ParameterSpec(
                        "reset_sync_time", .bool, "also remove the stime xattrs, so a new session syncs from scratch"),
                ],
                outputs: [], changes: true, undo: .declared,
                idempotency: "there is no session PRIMARY → SECONDARY")
        }
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let primary = arguments.string("primary") ?? ""
        let secondary = arguments.string("secondary") ?? ""
        let force = arguments.bool("force") ?? false
        let status = cli.geoRepStatus(primary, secondary)
        let apply: CommandSpec
        switch verb {
        case .create:
            apply = cli.geoRepCreate(
                primary, secondary, pushPem: arguments.bool("push_pem") ?? true, sshPort: arguments.int("ssh_port"),
                force: force)
        case .delete:
            apply = cli.geoRepDelete(primary, secondary, resetSyncTime: arguments.bool("reset_sync_time") ?? false)
        default:
            apply = cli.geoRepVerb(primary, secondary, verb.rawValue, force: force)
        }
        var commands = [
            PlannedCommand(.probe, on: host.name, status),
            PlannedCommand(.probe, on: host.name, cli.geoRepStatusText(primary, secondary)),
        ]
        if let target = Self.readOnlyHost(arguments, verb) {
            commands.append(
                PlannedCommand(.probe, on: target, cli.volumeGet(Self.volume(of: secondary), "features.read-only")))
        }
        return commands + [
            PlannedCommand(.apply, on: host.name, apply), PlannedCommand(.verify, on: host.name, status),
        ]
    }

    /// The host whose features.read-only push-pem changes (create with push_pem and read_only_on).
    static func readOnlyHost(_ arguments: ResolvedArguments, _ verb: Verb) -> String? {
        guard verb == .create, arguments.bool("push_pem") ?? true, let host = arguments.string("read_only_on"),
            !host.isEmpty
        else { return nil }
        return host
    }

    /// VOLUME of `[USER@]HOST::VOLUME`.
    static func volume(of secondary: String) -> String {
        secondary.components(separatedBy: "::").last ?? secondary
    }

    /// features.read-only of the secondary volume on its cluster's host.
    static func readOnly(_ context: ActionContext, on host: String, secondary: String) async throws -> String {
        let command = GlusterCLI(settings: context.settings).volumeGet(volume(of: secondary), "features.read-only")
        let result = try await context.run(command, on: host)
        let options = try GlusterParse.volumeGet(GlusterOutput(command: command, host: host, result: result))
        return GlusterOption.find("features.read-only", in: options)?.value ?? "off"
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.session(arguments)
        if let port = arguments.int("ssh_port"), !(1...65535).contains(port) {
            messages.append("`ssh_port` \(port) is not a port (1-65535)")
        }
        return messages
    }

    /// What the probe saw, for the undo.
    struct Observed: Codable, Sendable {
        var existed: Bool
        var statuses: [String]
        var running: Bool
        var paused: Bool
        /// create with read_only_on: the secondary volume's features.read-only before push-pem.
        var readOnly: String?
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let client = GlusterClient(context)
        let status = try await client.geoRepStatus(primary, secondary)
        let workers = status.workers
        let states = workers.map(\.state)
        let pair = "\(primary) → \(secondary)"
        let seen = Self.describe(status, pair: pair)
        let running = states.contains { $0.isRunning }
        let paused = states.contains(.paused)
        var observed = Observed(
            existed: status.exists, statuses: workers.map(\.status), running: running, paused: paused)
        if let target = Self.readOnlyHost(context.arguments, verb), !status.exists {
            observed.readOnly = try await Self.readOnly(context, on: target, secondary: secondary)
        }
        let done: Bool
        var why = seen
        switch verb {
        case .create:
            done = status.exists
        case .start:
            done = status.exists && !states.isEmpty && states.allSatisfy(\.isStarted)
            if !status.exists { why += " (start needs a session: an earlier step must create it)" }
        case .stop:
            done = !status.exists || states.allSatisfy(\.isStopped)
        case .pause:
            done = status.exists && !states.isEmpty && states.allSatisfy { $0 == .paused }
        case .resume:
            done = status.exists && !states.isEmpty && !paused && states.allSatisfy(\.isStarted)
        case .delete:
            done = !status.exists
            if status.exists && running { why += " (delete needs it stopped first)" }
        }
        return Observation(
            done: done, summary: why, outputs: ["session": .string(status.exists ? "present" : "none")],
            undoState: UndoJSON.encode(observed))
    }

    static func describe(_ status: GeoRepStatus, pair: String) -> String {
        guard status.exists else { return "no session \(pair)" }
        let workers = status.workers
        if workers.isEmpty { return "session \(pair) exists, with no worker rows" }
        var counts: [String: Int] = [:]
        var order: [String] = []
        for worker in workers {
            if counts[worker.status] == nil { order.append(worker.status) }
            counts[worker.status, default: 0] += 1
        }
        let text = order.map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
        return "session \(pair): \(workers.count) worker\(workers.count == 1 ? "" : "s"): \(text)"
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let client = GlusterClient(context)
        guard let command = context.node.commands.first(where: { $0.purpose == .apply }) else {
            throw GlusterArgumentError(message: "step \(context.node.id): no command rendered for \(descriptor.name)")
        }
        let result = try await client.change(command.command)
        let verbs: [Verb: String] = [
            .create: "created", .start: "started", .stop: "stopped", .pause: "paused", .resume: "resumed",
            .delete: "deleted",
        ]
        let primary = context.arguments.string("primary") ?? ""
        let secondary = context.arguments.string("secondary") ?? ""
        return EffectResult(
            succeeded: true,
            summary: "\(verbs[verb] ?? verb.rawValue) geo-replication \(primary) → \(secondary) on \(context.host)",
            outputs: ["session": .string(verb == .delete ? "none" : "present")], result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let client = GlusterClient(context)
        let cli = client.cli
        let before = UndoJSON.decode(Observed.self, undoState)
        let now = try await client.geoRepStatus(primary, secondary)
        let states = now.workers.map(\.state)
        let pair = "\(primary) → \(secondary)"
        var last: CommandResult?
        switch verb {
        case .create:
            if before?.existed == true {
                return EffectResult(succeeded: true, summary: "the session existed before this step: left alone")
            }
            guard now.exists else {
                return EffectResult(succeeded: true, summary: "no session \(pair): nothing to undo")
            }
            if !states.allSatisfy(\.isStopped) {
                last = try await client.change(cli.geoRepVerb(primary, secondary, "stop", force: true))
            }
            last = try await client.change(cli.geoRepDelete(primary, secondary, resetSyncTime: false))
            var summary = "stopped (force) and deleted the session \(pair)"
            if let target = Self.readOnlyHost(context.arguments, verb), let previous = before?.readOnly {
                let now = try await Self.readOnly(context, on: target, secondary: secondary)
                if now != previous {
                    let set = cli.volumeSet(Self.volume(of: secondary), "features.read-only", previous)
                    let result = try await context.run(set, on: target)
                    _ = try GlusterEnvelope.checked(GlusterOutput(command: set, host: target, result: result))
                    last = result
                    summary +=
                        "; features.read-only of \(Self.volume(of: secondary)) set back to \(previous) on"
                        + " \(target) (push-pem had set it \(now))"
                }
            }
            return EffectResult(succeeded: true, summary: summary, result: last)
        case .start:
            guard now.exists, !states.allSatisfy(\.isStopped) else {
                return EffectResult(succeeded: true, summary: "session \(pair) is not running: nothing to undo")
            }
            last = try await client.change(cli.geoRepVerb(primary, secondary, "stop", force: true))
            return EffectResult(succeeded: true, summary: "stopped (force) the session \(pair)", result: last)
        case .stop:
            guard let before else {
                return EffectResult(
                    succeeded: false,
                    summary:
                        "no observed state was journaled for this step: cannot tell whether \(pair) ran before; start it by hand if it did"
                )
            }
            guard before.running || before.paused else {
                return EffectResult(succeeded: true, summary: "session \(pair) was not running before: nothing to undo")
            }
            guard now.exists else {
                return EffectResult(
                    succeeded: false, summary: "session \(pair) no longer exists: cannot start it again")
            }
            if states.allSatisfy(\.isStarted) && !states.isEmpty {
                return EffectResult(succeeded: true, summary: "session \(pair) already runs")
            }
            last = try await client.change(cli.geoRepVerb(primary, secondary, "start", force: true))
            if let directory = context.arguments.string("marker_dir"), !directory.isEmpty {
                var arguments = context.arguments
                arguments.values["marker_dir"] = .string(directory)
                return try await GeoRepProveAction.prove(
                    context, primary: primary, secondary: secondary, marker: GeoRepProveAction.marker(arguments),
                    notes: ["started (force) again"], last: last)
            }
            return EffectResult(succeeded: true, summary: "started (force) the session \(pair) again", result: last)
        case .pause:
            guard now.exists, states.contains(.paused) else {
                return EffectResult(succeeded: true, summary: "session \(pair) is not paused: nothing to undo")
            }
            last = try await client.change(cli.geoRepVerb(primary, secondary, "resume", force: false))
            return EffectResult(succeeded: true, summary: "resumed the session \(pair)", result: last)
        case .resume:
            guard before?.paused == true else {
                return EffectResult(succeeded: true, summary: "session \(pair) was not paused before: nothing to undo")
            }
            guard now.exists, !states.contains(.paused) else {
                return EffectResult(succeeded: true, summary: "session \(pair) is already paused or gone")
            }
            last = try await client.change(cli.geoRepVerb(primary, secondary, "pause", force: false))
            return EffectResult(succeeded: true, summary: "paused the session \(pair) again", result: last)
        case .delete:
            return EffectResult(
                succeeded: false,
                summary: "a deleted session cannot be restored; declare `undo:` or mark the step irreversible")
        }
    }
}
