import Foundation
import RunbookCore

/// `gluster.georep.prove`: the session replicates: a checkpoint is set, a marker file is written
/// on the primary's mount, and the step waits until every Active worker has completed the
/// checkpoint. A session whose Active workers sit in Changelog Crawl with LAST_SYNCED frozen for
/// `stall_after` is stalled: it is restarted (`stop force`, `start force`) and proven again, up
/// to `restarts` times.
///
/// Why a restart: GlusterFS 10.3 (and its master branch) can register a new worker with the
/// brick's changelog so that it never receives a live changelog: the brick's connector thread
/// moves the new client to its wait queue after the connection's CONNECT notification has
/// already moved it to the active list (`changelog_ev_connector` and `changelog_rpc_notify` in
/// `xlators/features/changelog/src/changelog-ev-handle.c`). The worker then shows Active and
/// Changelog Crawl, logs no error and ships nothing; a new registration (a restart) recovers it.
/// Seen on the lab in about a third of the session starts.
///
/// A checkpoint can complete while entries failed: gsyncd logs `ENTRY FAILED` for an entry it
/// cannot create on the secondary (a gfid mismatch with `gfid-conflict-resolution false`, say),
/// adds it to the worker's FAILURES and goes on (only a failed MKDIR stops the worker). FAILURES is
/// cumulative over the session's life (`gsyncdstatus.py` never resets it), so the proof fails when
/// an Active worker's FAILURES grew while it ran, and only says so when it was already above 0.
public struct GeoRepProveAction: ActionType {
    /// Creates the type.
    public init() {}

    static let markerName = ".runbook-prove"

    public let descriptor = ActionDescriptor(
        name: "gluster.georep.prove", kind: .action,
        summary:
            "Prove the session replicates: with `start`, start it first if it is not running; set a checkpoint, write"
            + " `MARKER_DIR/.runbook-prove` (the primary volume's mount on the step's host) and wait until every"
            + " Active worker has completed the checkpoint. A session stalled in Changelog Crawl (LAST_SYNCED frozen"
            + " for `stall_after`) is restarted (`stop force`, `start force`) and proven again, up to `restarts`"
            + " times; the marker is removed at the end.",
        parameters: [
            GeoRepSessionAction.primary, GeoRepSessionAction.secondary,
            ParameterSpec(
                "marker_dir", .string, required: true,
                "a directory on the step's host where the primary volume is mounted (the marker is written there)"),
            ParameterSpec(
                "start", .bool, "start the session first when no worker is running (default false: it must run)"),
            ParameterSpec(
                "stall_after", .duration,
                "Changelog Crawl with LAST_SYNCED unchanged this long after the marker is a stall (default 60s;"
                    + " the brick rolls its changelog over every 15 s)"),
            ParameterSpec("restarts", .int, "restarts allowed for a stalled session (default 2)"),
            ParameterSpec(
                "timeout", .duration,
                "give up after this long in all (default 10m; a history or hybrid crawl still catching up is not a"
                    + " stall, only slow)"),
            ParameterSpec("every", .duration, "seconds between status reads (default 3s)"),
            ParameterSpec(
                "faulty_grace", .duration,
                "when given: every worker Faulty this long ends the step without a proof (outputs.replicating"
                    + " false), for a session the run does not depend on; without it the step waits for `timeout`"),
        ],
        outputs: [
            OutputSpec("restarts", "int", "how many times the session was restarted"),
            OutputSpec("seconds", "double", "from the first checkpoint to its completion"),
            OutputSpec("active", "int", "Active workers that completed the checkpoint"),
            OutputSpec("replicating", "bool", "true when proven; false only after `faulty_grace`"),
            OutputSpec(
                "failures", "int",
                "entries the Active workers counted as failed (FAILURES) while the step ran: a proof with any fails"),
        ],
        changes: true,
        undo: .derived("with `start`: stop the session (force) if this step started it; the restarts are not undone"),
        idempotency: "never: it proves the session replicates now, each time it runs")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let primary = arguments.string("primary") ?? ""
        let secondary = arguments.string("secondary") ?? ""
        let marker = Self.marker(arguments)
        return [
            PlannedCommand(.probe, on: host.name, cli.geoRepStatus(primary, secondary)),
            PlannedCommand(.probe, on: host.name, cli.geoRepStatusText(primary, secondary)),
            PlannedCommand(.apply, on: host.name, cli.geoRepVerb(primary, secondary, "start", force: true)),
            PlannedCommand(.apply, on: host.name, cli.geoRepConfigSet(primary, secondary, "checkpoint", "now")),
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: ["touch", marker])),
            PlannedCommand(.apply, on: host.name, cli.geoRepVerb(primary, secondary, "stop", force: true)),
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: ["rm", "-f", marker])),
        ]
    }

    static func marker(_ arguments: ResolvedArguments) -> String {
        let directory = arguments.string("marker_dir") ?? ""
        return (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/" + markerName
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.session(arguments)
        if let directory = arguments.string("marker_dir"), !ArgumentChecks.isUnknown(directory),
            !directory.hasPrefix("/")
        {
            messages.append("`marker_dir` '\(directory)' is not an absolute path (the primary volume's mount)")
        }
        if let restarts = arguments.int("restarts"), restarts < 0 {
            messages.append("`restarts` \(restarts) is negative")
        }
        return messages
    }

    static func seconds(_ arguments: ResolvedArguments, _ name: String, default value: Double) -> Double {
        if case .duration(let seconds)? = arguments[name] { return seconds }
        if case .int(let number)? = arguments[name] { return Double(number) }
        return value
    }

    struct Observed: Codable, Sendable {
        var running: Bool
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let status = try await GlusterClient(context).geoRepStatus(primary, secondary)
        let running = status.workers.contains { $0.state.isStarted }
        let pair = "\(primary) → \(secondary)"
        return Observation(
            done: false,
            summary: GeoRepSessionAction.describe(status, pair: pair)
                + "; proven by a checkpoint and a marker each run",
            undoState: UndoJSON.encode(Observed(running: running)))
    }

    /// What one status read says about the proof.
    enum Reading: Equatable {
        case completed(active: Int)
        /// Active workers in Changelog Crawl; the newest LAST_SYNCED among them.
        case live(lastSynced: Date?)
        /// Initializing, History or Hybrid Crawl, or no Active worker yet: not a stall.
        case catchingUp(String)
        case faulty(String, all: Bool)
    }

    /// `previous`: the newest checkpoint time the workers showed before this one was set (the
    /// cluster's clock, not the controller's: only a checkpoint newer than it counts).
    /// Seconds between setting the checkpoint and writing the marker (see `apply`).
    static let markerDelay: Double = 2

    static func read(_ status: GeoRepStatus, after previous: Date?) -> Reading {
        let workers = status.workers
        if let faulty = workers.first(where: { $0.state == .faulty }) {
            let all = workers.allSatisfy { $0.state == .faulty }
            return .faulty("\(faulty.primaryNode):\(faulty.primaryBrick) is Faulty", all: all)
        }
        let active = workers.filter { $0.state == .active }
        if !active.isEmpty,
            active.allSatisfy({
                $0.checkpointCompleted == true
                    && ($0.checkpointTime.map { time in previous.map { time > $0 } ?? true } ?? false)
            })
        {
            return .completed(active: active.count)
        }
        if active.isEmpty {
            let states = Set(workers.map(\.status)).sorted().joined(separator: ", ")
            return .catchingUp("no Active worker yet (\(states.isEmpty ? "no workers" : states))")
        }
        if active.allSatisfy({ $0.crawlStatus.lowercased().contains("changelog crawl") }) {
            return .live(lastSynced: active.compactMap(\.lastSynced).max())
        }
        let crawls = Set(active.map(\.crawlStatus)).sorted().joined(separator: ", ")
        return .catchingUp("Active workers in \(crawls)")
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let client = GlusterClient(context)
        var notes: [String] = []
        var last: CommandResult?
        if context.flag("start") {
            let status = try await client.geoRepStatus(primary, secondary)
            if !status.workers.contains(where: { $0.state.isStarted }) {
                last = try await client.change(client.cli.geoRepVerb(primary, secondary, "start", force: true))
                notes.append("started")
            }
        }
        return try await Self.prove(
            context, primary: primary, secondary: secondary, marker: Self.marker(context.arguments), notes: notes,
            last: last)
    }

    /// The proof: checkpoint, marker, wait; restart a stalled session. Also run by the undo of
    /// `gluster.georep.stop` with `marker_dir` (a rollback that starts a session proves it).
    static func prove(
        _ context: ActionContext, primary: String, secondary: String, marker: String, notes: [String],
        last: CommandResult?
    ) async throws -> EffectResult {
        let client = GlusterClient(context)
        let cli = client.cli
        var notes = notes
        var last = last
        let stallAfter = seconds(context.arguments, "stall_after", default: 60)
        let every = seconds(context.arguments, "every", default: 3)
        let total = seconds(context.arguments, "timeout", default: 600)
        let allowed = context.arguments.int("restarts") ?? 2
        let grace: Double?
        if case .duration(let seconds)? = context.arguments["faulty_grace"] { grace = seconds } else { grace = nil }
        let pair = "\(primary) → \(secondary)"
        let began = Date()
        var restarts = 0
        // The first Faulty reading since the session last crawled the live changelog. A worker that
        // fails, restarts, crawls its history again and fails again (a directory it cannot create
        // on the secondary) is never Faulty for long at a time, but it is not getting anywhere:
        // only the live changelog (or a completed checkpoint) ends the trouble.
        var troubledSince: Date?
        var trouble = ""
        var seen = ""
        // Each Active worker's FAILURES the first time the step saw it Active (NODE:BRICK).
        var failuresAtStart: [String: Int] = [:]
        func note(_ status: GeoRepStatus) {
            for worker in status.workers where worker.state == .active {
                if let failures = worker.failures, failuresAtStart[Self.key(worker)] == nil {
                    failuresAtStart[Self.key(worker)] = failures
                }
            }
        }

        /// nil: go on; a result: the step ends with it.
        func tick(_ reading: Reading, _ now: Date) async throws -> EffectResult? {
            switch reading {
            case .faulty(let what, _):
                troubledSince = troubledSince ?? now
                trouble = what
            case .live, .completed:
                troubledSince = nil
            case .catchingUp:
                break
            }
            if let grace, let since = troubledSince, now.timeIntervalSince(since) >= grace {
                try await Self.checked(context, CommandSpec(argv: ["rm", "-f", marker]), "remove \(marker)")
                return EffectResult(
                    succeeded: true,
                    summary: "session \(pair): Faulty (\(trouble)) and not back on the live changelog for"
                        + " \(Int(grace))s (now: \(seen)): not proven; the run goes on without it (faulty_grace)",
                    outputs: ["restarts": .int(restarts), "replicating": .bool(false)], result: last)
            }
            if now.timeIntervalSince(began) >= total {
                return EffectResult(
                    succeeded: false,
                    summary: "session \(pair) did not complete a checkpoint in \(Int(total))s (\(seen));"
                        + " restarted \(restarts) time\(restarts == 1 ? "" : "s"). Read the gsyncd.log of the Active"
                        + " workers (/var/log/glusterfs/geo-replication/\(primary)_*/) on the primary nodes, then"
                        + " resume",
                    outputs: ["restarts": .int(restarts), "replicating": .bool(false)], result: last)
            }
            return nil
        }

        while true {
            // Wait until every Active worker crawls the live changelog: a checkpoint completed by a
            // history crawl would prove nothing about the live one.
            var previous: Date?
            while true {
                let status = try await client.geoRepStatus(primary, secondary)
                note(status)
                let reading = Self.read(status, after: nil)
                let now = Date()
                if case .catchingUp(let what) = reading {
                    seen = what
                } else if case .faulty(let what, _) = reading {
                    seen = what
                } else {
                    previous = status.workers.compactMap(\.checkpointTime).max()
                    break
                }
                if let result = try await tick(reading, now) { return result }
                try await Task.sleep(for: .seconds(every))
            }
            last = try await client.change(cli.geoRepConfigSet(primary, secondary, "checkpoint", "now"))
            // The checkpoint is the second it was set; a worker completes it once its stime (the
            // name of the last changelog it shipped, minus one) reaches it. A marker written in
            // that same second can land in a changelog named after it, and on an idle volume no
            // later change comes: the checkpoint would never complete. Two seconds later it lands
            // in a changelog whose stime is past the checkpoint.
            try await Task.sleep(for: .seconds(Self.markerDelay))
            try await Self.checked(context, CommandSpec(argv: ["touch", marker]), "write the marker \(marker)")
            let written = Date()
            var frozen: (since: Date, lastSynced: Date?)?
            var stalled = false
            while !stalled {
                let status = try await client.geoRepStatus(primary, secondary)
                note(status)
                let reading = Self.read(status, after: previous)
                let now = Date()
                switch reading {
                case .completed(let active):
                    try await Self.checked(context, CommandSpec(argv: ["rm", "-f", marker]), "remove \(marker)")
                    let seconds = (now.timeIntervalSince(written) * 10).rounded() / 10
                    let counts = Self.failures(status, since: failuresAtStart)
                    if counts.grown > 0 {
                        let what =
                            "session \(pair) completed the checkpoint, but its Active workers counted"
                            + " \(counts.grown) failed entr\(counts.grown == 1 ? "y" : "ies") while it was proven"
                            + " (\(counts.workers.joined(separator: ", "))): entries that did not reach the secondary."
                            + " Their `ENTRY FAILED` lines are in gsyncd.log on those nodes"
                            + " (/var/log/glusterfs/geo-replication/\(primary)_*/)"
                        // With faulty_grace the run does not depend on this session (a pre-copy): not
                        // proven, and the run goes on, as for a session that stays Faulty.
                        return EffectResult(
                            succeeded: grace != nil,
                            summary: what
                                + (grace != nil
                                    ? ": not proven; the run goes on without it (faulty_grace)"
                                    : "; compare each path on both sites (a gfid mismatch is the same name with another"
                                        + " gfid on the secondary), fix it, then resume (the proof runs again)"),
                            outputs: [
                                "restarts": .int(restarts), "seconds": .double(seconds), "active": .int(active),
                                "replicating": .bool(false), "failures": .int(counts.grown),
                            ],
                            result: last)
                    }
                    if counts.earlier > 0 {
                        notes.append(
                            "no entry failed while proven (FAILURES \(counts.earlier) from before: \(counts.workers.joined(separator: ", ")))"
                        )
                    }
                    notes.append("replicates: checkpoint completed by \(active) Active worker\(active == 1 ? "" : "s")")
                    return EffectResult(
                        succeeded: true,
                        summary: "session \(pair) \(notes.joined(separator: ", ")) \(seconds)s after the marker"
                            + (restarts > 0
                                ? " (restarted \(restarts) time\(restarts == 1 ? "" : "s") when stalled)" : ""),
                        outputs: [
                            "restarts": .int(restarts), "seconds": .double(seconds), "active": .int(active),
                            "replicating": .bool(true), "failures": .int(0),
                        ],
                        result: last)
                case .faulty(let what, _), .catchingUp(let what):
                    seen = what
                    frozen = nil
                case .live(let lastSynced):
                    seen =
                        "Changelog Crawl, LAST_SYNCED \(lastSynced.map { Value.timestamp($0).renderedForText } ?? "N/A")"
                    if frozen == nil || frozen?.lastSynced != lastSynced {
                        frozen = (max(now, written), lastSynced)
                    } else if let since = frozen?.since, now.timeIntervalSince(since) >= stallAfter {
                        stalled = true
                        continue
                    }
                }
                if let result = try await tick(reading, now) { return result }
                try await Task.sleep(for: .seconds(every))
            }
            guard restarts < allowed else {
                return EffectResult(
                    succeeded: false,
                    summary: "session \(pair) is stalled: \(seen) for \(Int(stallAfter))s after the marker"
                        + " \(marker), and \(restarts) restart\(restarts == 1 ? "" : "s") did not help. The workers"
                        + " show Active but ship nothing (a worker with no live changelog from its brick). Run `gluster"
                        + " volume geo-replication \(primary) \(secondary) stop force` and `start force`, or restart"
                        + " the brick processes of the Active workers, then resume",
                    outputs: ["restarts": .int(restarts), "replicating": .bool(false)], result: last)
            }
            restarts += 1
            notes.append("restarted after a stall (\(seen) for \(Int(stallAfter))s)")
            last = try await client.change(cli.geoRepVerb(primary, secondary, "stop", force: true))
            last = try await client.change(cli.geoRepVerb(primary, secondary, "start", force: true))
        }
    }

    static func key(_ worker: GeoRepWorker) -> String { "\(worker.primaryNode):\(worker.primaryBrick)" }

    /// The Active workers' FAILURES against what each showed when the step first saw it Active:
    /// how many grew while the step ran, how many were there before, and each worker that has any
    /// (`NODE:BRICK FAILURES a -> b`).
    static func failures(_ status: GeoRepStatus, since start: [String: Int]) -> (
        grown: Int, earlier: Int, workers: [String]
    ) {
        var grown = 0
        var earlier = 0
        var workers: [String] = []
        for worker in status.workers where worker.state == .active {
            guard let now = worker.failures else { continue }
            let before = start[key(worker)] ?? now
            grown += max(0, now - before)
            earlier += min(before, now)
            if now > 0 { workers.append("\(key(worker)) FAILURES \(before == now ? "\(now)" : "\(before) -> \(now)")") }
        }
        return (grown, earlier, workers)
    }

    static func checked(_ context: ActionContext, _ command: CommandSpec, _ what: String) async throws {
        let result = try await context.run(command)
        guard result.exitCode == 0 else {
            let message = (result.stderr + result.stdout).split(separator: "\n").first.map(String.init) ?? ""
            throw GlusterArgumentError(
                message: "step \(context.node.id) on \(context.host): could not \(what): exit"
                    + " \(result.exitCode.map(String.init) ?? "killed") \(message). Is the primary volume mounted there"
                    + " (`marker_dir`)?")
        }
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let before = UndoJSON.decode(Observed.self, undoState)
        guard context.flag("start"), let before, !before.running else {
            return EffectResult(succeeded: true, summary: "the session ran before this step: left running")
        }
        let client = GlusterClient(context)
        let now = try await client.geoRepStatus(primary, secondary)
        guard now.workers.contains(where: { $0.state.isStarted }) else {
            return EffectResult(succeeded: true, summary: "session \(primary) → \(secondary) is not running")
        }
        let result = try await client.change(client.cli.geoRepVerb(primary, secondary, "stop", force: true))
        return EffectResult(
            succeeded: true, summary: "stopped (force) the session \(primary) → \(secondary) this step started",
            result: result)
    }
}
