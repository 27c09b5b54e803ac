import Foundation
import RunbookCore

/// `gluster.georep.status`: the session's workers, their counts, and the failback's
/// "Sync in Progress" / "Sync Completed" state.
///
/// Reads `status detail --xml` and merges `volume info PRIMARY --xml`: bricks on unreachable
/// nodes have no row, and are reported as `Offline` workers.
///
/// `Faulty` is the state when no worker can sync (none Active, at least one Faulty), not "Sync in
/// Progress": then each Faulty worker's last error is read from the session's gsyncd log on its
/// node (``GsyncdLog``; the nodes of `nodes` that the status names), with the path it names, and
/// how long that node has been Faulty without completing a batch. With `faulty_timeout`, a session
/// Faulty that long fails the probe with that error (``ConclusiveProbeFailure``: an `until` gate
/// waiting on the session fails at once instead of polling to its timeout).
public struct GeoRepStatusProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.georep.status", kind: .probe,
        summary:
            "Read a geo-replication session's workers (status detail, merged with volume info so bricks on unreachable nodes show as Offline), their counts, and whether every Active worker completed the checkpoint.",
        parameters: [
            GeoRepSessionAction.primary, GeoRepSessionAction.secondary,
            ParameterSpec(
                "nodes", .stringList, hostReference: true,
                "the inventory hosts running the session's workers (the primary volume's brick nodes), whose"
                    + " gsyncd log says why a worker is Faulty (default: the step's host)"),
            ParameterSpec(
                "faulty_timeout", .duration,
                "fail (with the last error) once the session has been Faulty this long without completing a batch"),
        ],
        outputs: [
            OutputSpec("session", "string", "`none` or `present`"),
            OutputSpec(
                "state", "string",
                "Sync Completed, Sync in Progress, Faulty (no worker can sync), Paused, Stopped or No session"),
            OutputSpec(
                "workers", "list",
                "maps {node, brick, status, crawl_status, last_synced, checkpoint_time, checkpoint_completed, checkpoint_completion_time, entry, data, meta, failures}; times UTC"
            ),
            OutputSpec("active", "int", "Active workers"),
            OutputSpec("passive", "int", "Passive workers"),
            OutputSpec("faulty", "int", "Faulty workers"),
            OutputSpec("offline", "int", "bricks with no status row (node unreachable)"),
            OutputSpec("stopped", "int", "Stopped or Created workers"),
            OutputSpec("initializing", "int", "Initializing... workers"),
            OutputSpec("paused", "int", "Paused workers"),
            OutputSpec(
                "checkpoint_completed_all", "bool",
                "at least one Active worker, and every Active worker completed the checkpoint"),
            OutputSpec(
                "last_error", "string",
                "when Faulty: the first Faulty worker's last error from its gsyncd log (NODE:BRICK: line; path)"),
            OutputSpec(
                "faulty_for", "duration", "when Faulty: how long its node has been Faulty without completing a batch"),
            OutputSpec(
                "checkpoint_lag", "duration",
                "the RPO a checkpoint measures: the longest time an Active worker took from the checkpoint to its completion (null until every Active worker completed it)"
            ),
            OutputSpec(
                "checkpoint_lag_seconds", "double",
                "checkpoint_lag in seconds (a step's journaled outputs keep numbers as numbers, durations as text)"),
            OutputSpec(
                "oldest_last_synced", "timestamp",
                "the oldest LAST_SYNCED of the Active workers (UTC; null when none has one): everything written before it is on the secondary"
            ),
            OutputSpec(
                "last_synced_age", "duration",
                "now minus oldest_last_synced: an upper bound of the RPO at this moment (over-reports on an idle volume, whose stime does not advance)"
            ),
            OutputSpec("last_synced_age_seconds", "double", "last_synced_age in seconds"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.faulty == 0")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let primary = arguments.string("primary") ?? ""
        let secondary = arguments.string("secondary") ?? ""
        var commands = [
            PlannedCommand(.probe, on: host.name, cli.geoRepStatus(primary, secondary)),
            PlannedCommand(.probe, on: host.name, cli.geoRepStatusText(primary, secondary)),
            PlannedCommand(.probe, on: host.name, cli.volumeInfo(primary)),
        ]
        for node in Self.nodes(arguments, host: host.name) {
            commands.append(PlannedCommand(.probe, on: node, Self.readLog(primary: primary, secondary: secondary)))
        }
        return commands
    }

    /// `nodes`, or the step's host.
    static func nodes(_ arguments: ResolvedArguments, host: String) -> [String] {
        var nodes = arguments.strings("nodes") ?? []
        if nodes.isEmpty { nodes = [host] }
        return nodes
    }

    /// How much of the log's end is read: within the 64 KiB a command's output is captured to
    /// (the transports keep the FIRST bytes of a longer output, so a tail by lines, 2000 of
    /// gsyncd's long lines, was cut to its oldest part: a flapping session read as an error of an
    /// hour before and no `faulty_for`, and the failback's status gate waited on).
    static let logTailBytes = 60_000

    /// The node's clock and the end of the session's gsyncd log (only when a worker there is
    /// Faulty): its last `logTailBytes`, from the first whole line.
    static func readLog(primary: String, secondary: String) -> CommandSpec {
        CommandSpec(argv: [
            "sh", "-c",
            "date +%s; [ -r \"$1\" ] || exit 0; if [ \"$(wc -c < \"$1\")\" -gt \(logTailBytes) ]; then tail -c"
                + " \(logTailBytes) \"$1\" | tail -n +2; else cat \"$1\"; fi",
            "sh", GsyncdLog.path(primary: primary, secondary: secondary),
        ])
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.session(arguments) }

    /// The outputs for a status (pure; `volume` adds Offline workers for bricks with no row).
    public static func outputs(_ status: GeoRepStatus, volume: GlusterVolume?, now: Date = Date()) -> [String: Value] {
        guard status.exists else {
            return [
                "session": .string("none"), "state": .string("No session"), "workers": .list([]), "active": .int(0),
                "passive": .int(0),
                "faulty": .int(0), "offline": .int(0), "stopped": .int(0), "initializing": .int(0), "paused": .int(0),
                "checkpoint_completed_all": .bool(false), "last_error": .string(""), "faulty_for": .null,
                "checkpoint_lag": .null, "oldest_last_synced": .null,
                "last_synced_age": .null, "checkpoint_lag_seconds": .null, "last_synced_age_seconds": .null,
            ]
        }
        let workers = volume.map { GlusterParse.mergeOffline(status.workers, volume: $0) } ?? status.workers
        func count(_ state: GeoRepWorkerState) -> Int { workers.filter { $0.state == state }.count }
        let active = workers.filter { $0.state == .active }
        let completedAll = !active.isEmpty && active.allSatisfy { $0.checkpointCompleted == true }
        let state: String
        if completedAll {
            state = "Sync Completed"
        } else if !workers.isEmpty && workers.allSatisfy({ $0.state == .paused }) {
            state = "Paused"
        } else if !workers.isEmpty && workers.allSatisfy({ $0.state.isStopped || $0.state == .offline }) {
            state = "Stopped"
        } else if active.isEmpty && workers.contains(where: { $0.state == .faulty }) {
            state = "Faulty"
        } else {
            state = "Sync in Progress"
        }
        return [
            "session": .string("present"), "state": .string(state), "workers": .list(workers.map(value)),
            "active": .int(active.count), "passive": .int(count(.passive)), "faulty": .int(count(.faulty)),
            "offline": .int(count(.offline)),
            "stopped": .int(count(.stopped) + count(.created)), "initializing": .int(count(.initializing)),
            "paused": .int(count(.paused)),
            "checkpoint_completed_all": .bool(completedAll), "last_error": .string(""), "faulty_for": .null,
        ].merging(rpo(active, now: now), uniquingKeysWith: { $1 })
    }

    /// The RPO measures over the Active workers (Passive rows show N/A): the checkpoint's lag
    /// (completion minus checkpoint time, the longest) and the oldest LAST_SYNCED.
    static func rpo(_ active: [GeoRepWorker], now: Date) -> [String: Value] {
        var lag: Double?
        let lags = active.compactMap { worker -> Double? in
            guard worker.checkpointCompleted == true, let set = worker.checkpointTime,
                let done = worker.checkpointCompletionTime
            else { return nil }
            return max(0, done.timeIntervalSince(set))
        }
        if !active.isEmpty, lags.count == active.count { lag = lags.max() }
        let oldest = active.compactMap(\.lastSynced).min()
        let age = oldest.map { max(0, now.timeIntervalSince($0)) }
        return [
            "checkpoint_lag": lag.map(Value.duration) ?? .null,
            "checkpoint_lag_seconds": lag.map(Value.double) ?? .null,
            "oldest_last_synced": oldest.map(Value.timestamp) ?? .null,
            "last_synced_age": age.map(Value.duration) ?? .null,
            "last_synced_age_seconds": age.map(Value.double) ?? .null,
        ]
    }

    static func value(_ worker: GeoRepWorker) -> Value {
        func time(_ date: Date?) -> Value { date.map(Value.timestamp) ?? .null }
        func int(_ number: Int?) -> Value { number.map(Value.int) ?? .null }
        return .map([
            "node": .string(worker.primaryNode), "brick": .string(worker.primaryBrick),
            "status": .string(worker.status),
            "crawl_status": .string(worker.crawlStatus), "last_synced": time(worker.lastSynced),
            "checkpoint_time": time(worker.checkpointTime),
            "checkpoint_completed": .bool(worker.checkpointCompleted == true),
            "checkpoint_completion_time": time(worker.checkpointCompletionTime),
            "entry": int(worker.entry), "data": int(worker.data), "meta": int(worker.meta),
            "failures": int(worker.failures),
            "secondary": .string(worker.secondary), "secondary_user": .string(worker.secondaryUser),
        ])
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let client = GlusterClient(context)
        let status = try await client.geoRepStatus(primary, secondary)
        let volume = status.exists ? try await client.volume(primary) : nil
        var outputs = Self.outputs(status, volume: volume)
        if outputs["state"] == .string("Faulty") {
            var logs: [String: (log: GsyncdLog, now: Date)] = [:]
            let nodes = Self.nodes(context.arguments, host: context.host)
            let faultyNodes = Set(
                (volume.map { GlusterParse.mergeOffline(status.workers, volume: $0) } ?? status.workers)
                    .filter { $0.state == .faulty }.map(\.primaryNode))
            for node in nodes where faultyNodes.contains(node) {
                let result = try await context.run(Self.readLog(primary: primary, secondary: secondary), on: node)
                guard result.succeeded else { continue }
                let lines = result.stdout.split(separator: "\n", maxSplits: 1).map(String.init)
                let now = lines.first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.map {
                    Date(timeIntervalSince1970: $0)
                }
                logs[node] = (GsyncdLog.parse(lines.count > 1 ? lines[1] : ""), now ?? Date())
            }
            Self.addErrors(&outputs, logs: logs, nodes: nodes)
        }
        let summary = Self.summary(outputs, pair: "\(primary) → \(secondary)")
        if let limit = context.arguments["faulty_timeout"], case .duration(let seconds) = limit,
            case .duration(let faulty)? = outputs["faulty_for"], faulty >= seconds
        {
            throw ConclusiveProbeFailure(
                message: "the session \(primary) → \(secondary) has been Faulty for \(Int(faulty)) s without completing"
                    + " a batch (faulty_timeout \(Int(seconds)) s): \(outputs["last_error"]?.renderedForText ?? "")")
        }
        return Observation(done: true, summary: summary, outputs: outputs)
    }

    /// Adds each Faulty worker's last error (from its node's log) and the session's `faulty_for`.
    static func addErrors(
        _ outputs: inout [String: Value], logs: [String: (log: GsyncdLog, now: Date)], nodes: [String]
    ) {
        guard case .list(let workers)? = outputs["workers"] else { return }
        var first = ""
        var faultyFor: Double?
        var updated: [Value] = []
        for worker in workers {
            guard case .map(var w) = worker, w["status"] == .string("Faulty"),
                let node = w["node"]?.renderedForText
            else {
                updated.append(worker)
                continue
            }
            let brick = w["brick"]?.renderedForText ?? "?"
            var said: String
            if let (log, now) = logs[node] {
                let line =
                    log.entryFailed.map { entry in
                        log.lastError.map { $0 == entry ? entry : "\($0) (after: \(entry))" } ?? entry
                    } ?? log.lastError
                said = line ?? "no error line in the last 60 kB of its gsyncd log"
                w["last_error"] = .string(said)
                w["error_path"] = log.errorPath.map(Value.string) ?? .null
                if let path = log.errorPath { said += "; path \(path)" }
                if let since = log.faultySince {
                    let seconds = max(0, now.timeIntervalSince(since))
                    faultyFor = min(faultyFor ?? seconds, seconds)
                }
            } else if nodes.contains(node) {
                said = "its gsyncd log on \(node) could not be read"
            } else {
                said = "its log was not read: \(node) is not in `nodes` (\(nodes.joined(separator: ", ")))"
            }
            if first.isEmpty { first = "\(node):\(brick): \(said)" }
            updated.append(.map(w))
        }
        outputs["workers"] = .list(updated)
        outputs["last_error"] = .string(first)
        outputs["faulty_for"] = faultyFor.map(Value.duration) ?? .null
    }

    static func summary(_ outputs: [String: Value], pair: String) -> String {
        guard outputs["session"] == .string("present") else { return "no session \(pair)" }
        var parts: [String] = []
        for key in ["active", "passive", "initializing", "faulty", "paused", "stopped", "offline"] {
            if case .int(let n)? = outputs[key], n > 0 { parts.append("\(n) \(key)") }
        }
        var text =
            "\(pair): \(outputs["state"]?.renderedForText ?? "")"
            + (parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))")
        if case .list(let workers)? = outputs["workers"] {
            let bad = workers.compactMap { worker -> String? in
                guard case .map(let w) = worker, let status = w["status"]?.renderedForText,
                    ["Faulty", "Offline"].contains(status)
                else { return nil }
                return "\(w["node"]?.renderedForText ?? "?"):\(w["brick"]?.renderedForText ?? "?") \(status)"
            }
            if !bad.isEmpty { text += "; " + bad.joined(separator: ", ") }
        }
        if case .string(let error)? = outputs["last_error"], !error.isEmpty { text += "; last error: " + error }
        return text
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
