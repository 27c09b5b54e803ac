import Foundation
import RunbookCore

/// `glusterfind.post`: `glusterfind post SESSION VOLUME`, which moves the session time to the end
/// of the last `pre` on every node: the next list starts there.
///
/// A step of its own, placed after the replay was verified (tree.diff, the commit gate): posting
/// before that would lose the window's changes if the replay had to be done again. With
/// `window_end` (the `end` output of the glusterfind.changes step whose list was replayed), it
/// refuses to post a different `pre` (one run since, e.g. by hand).
public struct GlusterfindPostAction: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "glusterfind.post", kind: .action,
        summary: "Move the glusterfind session on to the end of its last pre (`glusterfind post`): only once the list"
            + " was replayed and verified. Cannot be undone: mark the step `irreversible: true` behind the commit"
            + " gate.",
        parameters: [
            GlusterfindNodes.session, GlusterfindNodes.volume,
            ParameterSpec(
                "window_end", .any,
                "the `end` output of the glusterfind.changes step that was replayed: refuse to post another pre"),
        ],
        outputs: [OutputSpec("session_time", "timestamp", "the session time after the step")],
        changes: true, undo: .declared,
        idempotency: "no pre is pending (no `status.pre`; with window_end: the session time is that end)")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let session = arguments.string("session") ?? ""
        let volume = arguments.string("volume") ?? ""
        let status = GlusterfindCLI.readStatus(session, volume)
        return [
            PlannedCommand(.probe, on: host.name, status),
            PlannedCommand(.apply, on: host.name, GlusterfindCLI(settings: host.settings).post(session, volume)),
            PlannedCommand(.apply, on: host.name, status),
            PlannedCommand(.verify, on: host.name, status),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = GlusterfindNodes.check(arguments)
        if let value = arguments["window_end"], !ArgumentChecks.isUnknown(value.renderedForText),
            Self.epoch(value) == nil
        {
            messages.append("`window_end` must be a timestamp or epoch seconds (glusterfind.changes' outputs.end)")
        }
        return messages
    }

    /// A timestamp, an int, or a string of either, as epoch seconds.
    static func epoch(_ value: Value) -> Int? {
        switch value {
        case .timestamp(let date): return Int(date.timeIntervalSince1970.rounded())
        case .int(let number): return number
        case .string(let text):
            if let number = Int(text) { return number }
            let formatter = ISO8601DateFormatter()
            return formatter.date(from: text).map { Int($0.timeIntervalSince1970.rounded()) }
        default: return nil
        }
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let status = try await GlusterfindSessionAction.status(context, session, volume)
        guard let current = status.session else {
            throw GlusterArgumentError(
                message: "no glusterfind session \(session) for \(volume) on \(context.host): nothing to post")
        }
        let expected = context.arguments["window_end"].flatMap(Self.epoch)
        let outputs: [String: Value] = ["session_time": .timestamp(Date(timeIntervalSince1970: TimeInterval(current)))]
        guard let pending = status.pending else {
            if let expected, current != expected {
                throw GlusterArgumentError(
                    message: "no pre of \(session) is pending and the session time is \(Self.stamp(current)), not the"
                        + " replayed window's end \(Self.stamp(expected)): was the list posted by hand, or never"
                        + " listed?"
                )
            }
            return Observation(
                done: true, summary: "no pre of \(session) is pending: the session time is \(Self.stamp(current))",
                outputs: outputs)
        }
        if let expected, pending != expected {
            throw GlusterArgumentError(
                message:
                    "the pending pre of \(session) ends at \(Self.stamp(pending)), not at the replayed window's end"
                    + " \(Self.stamp(expected)): another pre ran since; list, replay and verify again before posting")
        }
        return Observation(
            done: false,
            summary:
                "a pre up to \(Self.stamp(pending)) is pending; posting moves \(session) on from"
                + " \(Self.stamp(current))",
            outputs: outputs)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let command = GlusterfindCLI(settings: context.settings).post(session, volume)
        let result = try await context.run(command)
        guard result.succeeded else {
            let output = GlusterOutput(command: command, host: context.host, result: result)
            return EffectResult(
                succeeded: false, summary: "glusterfind post on \(context.host) \(GlusterfindParse.failure(output))",
                result: result)
        }
        let after = try await GlusterfindSessionAction.status(context, session, volume)
        let time = after.session.map { Value.timestamp(Date(timeIntervalSince1970: TimeInterval($0))) } ?? .null
        return EffectResult(
            succeeded: true,
            summary: "posted glusterfind session \(session) for \(volume): it now starts at \(time.renderedForText)",
            outputs: ["session_time": time], result: result)
    }

    /// The pending pre is gone and the session time moved to its end.
    public func verify(_ context: ActionContext) async throws -> EffectResult {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let status = try await GlusterfindSessionAction.status(context, session, volume)
        guard status.pending == nil, let current = status.session else {
            return EffectResult(
                succeeded: false, summary: "after post, \(session) still has a pending pre (or no status file)")
        }
        return EffectResult(
            succeeded: true, summary: "session \(session) now starts at \(Self.stamp(current))",
            outputs: ["session_time": .timestamp(Date(timeIntervalSince1970: TimeInterval(current)))])
    }

    static func stamp(_ epoch: Int) -> String { PartialHistoryGuard.stamp(epoch) }
}
