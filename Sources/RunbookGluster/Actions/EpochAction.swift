import Foundation
import RunbookCore

/// `gluster.epoch`: marks a volume with the run's authority epoch (issue 23, item 4): one
/// `volume set VOL user.runbook.authority SITE user.runbook.run RUN user.runbook.epoch N`.
///
/// glusterd stores `user.*` options without validating them, in the volume's pool-wide info, so
/// every node of the cluster answers them (`volume info VOL --xml` lists them). N is the run's
/// epoch, one more than the newest epoch the run controller's fence read on every volume the
/// plan marks before the run started; the plan shows it as `<run epoch>` (and the run as
/// `<run id>`). The three are set in one transaction.
///
/// Done when the volume already holds the run's epoch and this authority (this run marked it), or
/// this authority at the newest epoch the fence read (a failover run again after it succeeded
/// changes nothing: its epoch is never written). A volume holding a
/// newer epoch fails the step (split brain: the storage moved on without this run). The undo
/// puts the previous epoch and authority back (epoch 0 and the word `none` where there were none:
/// glusterd refuses `volume reset` of a `user.*` option), only while the volume still holds what
/// this run wrote.
public struct EpochAction: ActionType, EpochFencing {
    static let epochOption = "user.runbook.epoch"
    static let authorityOption = "user.runbook.authority"
    static let runOption = "user.runbook.run"
    static let runPlaceholder = "run id"
    /// What an undo sets where there was no authority or run (a `user.*` option cannot be reset).
    static let none = "none"
    static let epochPlaceholder = "run epoch"

    public init() {}

    public var descriptor: ActionDescriptor {
        ActionDescriptor(
            name: "gluster.epoch", kind: .action,
            summary:
                "Mark a volume with the run's authority epoch and site (`user.runbook.epoch`, `user.runbook.authority`): the epoch fence every run, resume and rollback reads first.",
            parameters: [
                ParameterSpec("volume", .string, required: true, "the volume"),
                ParameterSpec(
                    "authority", .string, required: true,
                    "the site that holds the authority from now on (a name used the same way by every runbook of the site pair, e.g. the inventory role `secondary`)"
                ),
                ParameterSpec(
                    "from", .string,
                    "the site expected to hold the newest epoch before this run (the fence refuses a run that finds another)"
                ),
            ],
            outputs: [
                OutputSpec("epoch", "int", "the epoch the volume holds after the step"),
                OutputSpec("previous_epoch", "int", "the epoch before the step (0: none)"),
                OutputSpec("previous_authority", "string", "the authority before the step (null: none)"),
            ],
            changes: true,
            undo: .derived(
                "put the previous epoch and authority back (0 and `none` when there were none), if the volume still holds this run's"
            ),
            idempotency:
                "the volume holds the run's epoch with this authority, or this authority at the newest epoch the fence read"
        )
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        let authority = arguments.string("authority") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.volumeInfo(volume)),
            PlannedCommand(
                .apply, on: host.name,
                Self.set(
                    cli, volume, authority: authority, run: CommandSpec.placeholder(Self.runPlaceholder),
                    epoch: CommandSpec.placeholder(Self.epochPlaceholder))),
            PlannedCommand(.verify, on: host.name, cli.volumeInfo(volume)),
        ]
    }

    /// One `volume set` of the three options: one glusterd transaction, so no reader ever sees
    /// a new epoch beside an old authority (several pairs in one `volume set`: seen on the lab's
    /// 10.3).
    static func set(_ cli: GlusterCLI, _ volume: String, authority: String, run: String, epoch: String)
        -> CommandSpec
    {
        cli.xml(["volume", "set", volume, authorityOption, authority, runOption, run, epochOption, epoch])
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.volume(arguments)
        for name in ["authority", "from"] {
            guard let value = arguments.string(name), !ArgumentChecks.isUnknown(value) else { continue }
            if value.range(of: "^[A-Za-z0-9_.-]{1,64}$", options: .regularExpression) == nil {
                messages.append("`\(name)` '\(value)' is not a site name (1-64 letters, digits, _ . -)")
            }
        }
        return messages
    }

    // MARK: EpochFencing

    public func resource(_ arguments: ResolvedArguments) -> String {
        "volume \(arguments.string("volume") ?? "?")"
    }

    public func authority(_ arguments: ResolvedArguments) -> String? { arguments.string("authority") }

    public func expectedAuthority(_ arguments: ResolvedArguments) -> String? { arguments.string("from") }

    public func readMark(_ context: ActionContext) async throws -> EpochMark {
        let volume = try await GlusterClient(context).volume(try context.required("volume"))
        return try Self.mark(of: volume)
    }

    /// The mark a volume's listed options carry.
    static func mark(of volume: GlusterVolume) throws -> EpochMark {
        // glusterd refuses `volume reset` of a `user.*` option ("Did you mean ...?", 10.3 in the
        // lab), so an undo to "none" sets the word `none` (and epoch 0).
        let authority = volume.options.first { $0.name == authorityOption }?.value.nilIfNone
        let run = volume.options.first { $0.name == runOption }?.value.nilIfNone
        guard let text = volume.options.first(where: { $0.name == epochOption })?.value else {
            return EpochMark(epoch: 0, authority: authority, run: run)
        }
        guard let epoch = Int(text.trimmingCharacters(in: .whitespaces)), epoch >= 0 else {
            throw GlusterArgumentError(
                message:
                    "volume \(volume.name) holds \(epochOption) '\(text)', which is not an epoch (a whole number): someone set it by hand; set it to the newest epoch of the site pair (`gluster volume set \(volume.name) \(epochOption) N`)"
            )
        }
        return EpochMark(epoch: epoch, authority: authority, run: run)
    }

    // MARK: Effects

    public func probe(_ context: ActionContext) async throws -> Observation {
        let volume = try context.required("volume")
        let authority = try context.required("authority")
        let mark = try await readMark(context)
        var outputs: [String: Value] = [
            "epoch": .int(mark.epoch), "previous_epoch": .int(mark.epoch),
            "previous_authority": mark.authority.map(Value.string) ?? .null,
        ]
        let undoState = UndoJSON.encode(mark)
        guard let runEpoch = context.runEpoch else {
            // The plan (no fence read yet): a volume that already names this authority is shown
            // done; the run decides against the newest epoch its fence reads.
            let named = mark.authority == authority
            return Observation(
                done: named,
                summary: named
                    ? "volume \(volume) already holds \(mark)"
                    : "volume \(volume) holds \(mark); the run marks it with its epoch for \(authority)",
                outputs: outputs, undoState: undoState)
        }
        let runID = context.runID
        if mark.epoch > runEpoch
            || (mark.epoch == runEpoch && (mark.authority != authority || (mark.run != nil && mark.run != runID)))
        {
            throw GlusterArgumentError(
                message:
                    "split brain: volume \(volume) on \(context.host) holds \(mark), but this run writes epoch \(runEpoch) for \(authority): another run or controller marked it since this run read the epochs. Nothing was changed by this step; find that run (`runbook history` on each controller) before going on."
            )
        }
        // Done when this run marked it, or when it already names this authority at the newest
        // epoch the fence read (a failover run again after it succeeded changes nothing).
        let wrote = mark == EpochMark(epoch: runEpoch, authority: authority, run: runID)
        let already = !wrote && mark.authority == authority && mark.epoch == runEpoch - 1
        let summary: String
        if wrote {
            summary = "volume \(volume) already holds epoch \(runEpoch) for \(authority), from this run"
        } else if already {
            summary = "volume \(volume) already holds \(mark), the newest epoch: nothing to mark"
        } else {
            summary = "volume \(volume) holds \(mark); this run marks it epoch \(runEpoch) for \(authority)"
        }
        return Observation(done: wrote || already, summary: summary, outputs: outputs, undoState: undoState)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        guard let runEpoch = context.runEpoch else {
            throw GlusterArgumentError(
                message:
                    "step \(context.node.id): the run has no epoch (its fence read nothing): run it with `runbook run`, whose fence reads the volumes first"
            )
        }
        let client = GlusterClient(context)
        var last: CommandResult?
        for planned in context.planned(.apply) {
            last = try await client.change(
                planned.command,
                filling: [Self.epochPlaceholder: String(runEpoch), Self.runPlaceholder: context.runID ?? "unknown"])
        }
        var outputs = observation.outputs
        outputs["epoch"] = .int(runEpoch)
        return EffectResult(
            succeeded: true,
            summary:
                "marked volume \(context.arguments.string("volume") ?? "") epoch \(runEpoch) for \(context.arguments.string("authority") ?? "")",
            outputs: outputs, result: last)
    }

    public func verify(_ context: ActionContext) async throws -> EffectResult {
        let volume = context.arguments.string("volume") ?? ""
        let authority = context.arguments.string("authority")
        let mark = try await readMark(context.phase(.verify))
        let wanted = EpochMark(epoch: context.runEpoch ?? -1, authority: authority, run: context.runID)
        return EffectResult(
            succeeded: mark == wanted,
            summary: mark == wanted
                ? "volume \(volume) holds \(mark)" : "volume \(volume) holds \(mark), not \(wanted)")
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        let volume = try context.required("volume")
        guard let before = UndoJSON.decode(EpochMark.self, undoState) else {
            return EffectResult(
                succeeded: false, summary: "no previous epoch of volume \(volume) was journaled: cannot restore it")
        }
        let client = GlusterClient(context)
        let now = try Self.mark(of: try await client.volume(volume))
        if now == before {
            return EffectResult(succeeded: true, summary: "volume \(volume) holds \(before) already")
        }
        let written = EpochMark(
            epoch: context.runEpoch ?? -1, authority: context.arguments.string("authority"), run: context.runID)
        guard now == written else {
            return EffectResult(
                succeeded: false,
                summary:
                    "volume \(volume) holds \(now), not what this run wrote (\(written)): another run marked it since; not undone"
            )
        }
        let last = try await client.change(
            Self.set(
                client.cli, volume, authority: before.authority ?? Self.none, run: before.run ?? Self.none,
                epoch: String(before.epoch)))
        return EffectResult(
            succeeded: true, summary: "put volume \(volume) back to \(before)", result: last)
    }
}

extension String {
    /// nil for the word `none` (what an undo leaves where there was no value).
    fileprivate var nilIfNone: String? { self == EpochAction.none ? nil : self }
}
