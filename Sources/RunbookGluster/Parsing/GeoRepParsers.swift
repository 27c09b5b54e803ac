import Foundation

/// One geo-replication worker: one row of `status detail`, i.e. one primary brick.
public struct GeoRepWorker: Sendable, Hashable {
    /// The primary node the brick is on (`primary_node`, `master_node` before 10.0).
    public var primaryNode: String
    /// Its peer UUID, when printed.
    public var primaryNodeUUID: String?
    /// The primary brick path.
    public var primaryBrick: String
    /// The user on the secondary (`root` unless a mountbroker user is used).
    public var secondaryUser: String
    /// `host::volume` of the secondary.
    public var secondary: String
    /// The secondary node it syncs to (empty in 10.3 even when Active: do not rely on it).
    public var secondaryNode: String
    /// `Active`, `Passive`, `Faulty`, `Initializing...`, `Created`, `Stopped`, `Paused`, or `Offline`
    /// (added by the merge for bricks with no row).
    public var status: String
    /// `Changelog Crawl`, `Hybrid Crawl`, `History Crawl` or `N/A`.
    public var crawlStatus: String
    /// When it last synced (UTC), nil for `N/A`.
    public var lastSynced: Date?
    /// The checkpoint it works towards (UTC), nil when none is set.
    public var checkpointTime: Date?
    /// `Yes` → true, `No` → false, `N/A` → nil.
    public var checkpointCompleted: Bool?
    /// When it reached the checkpoint (UTC).
    public var checkpointCompletionTime: Date?
    /// Pending entry, data and meta operations, and failures; nil for `N/A`.
    public var entry: Int?, data: Int?, meta: Int?, failures: Int?

    /// `node:brick`.
    public var brickName: String { "\(primaryNode):\(primaryBrick)" }

    /// The status reduced to a state class (case-insensitive, trailing dots dropped).
    public var state: GeoRepWorkerState { GeoRepWorkerState(status) }

    /// A worker with only its identity and status (the merge's `Offline` rows).
    public init(
        primaryNode: String, primaryNodeUUID: String? = nil, primaryBrick: String, secondaryUser: String = "",
        secondary: String = "", secondaryNode: String = "", status: String, crawlStatus: String = "N/A"
    ) {
        self.primaryNode = primaryNode
        self.primaryNodeUUID = primaryNodeUUID
        self.primaryBrick = primaryBrick
        self.secondaryUser = secondaryUser
        self.secondary = secondary
        self.secondaryNode = secondaryNode
        self.status = status
        self.crawlStatus = crawlStatus
    }
}

/// What a worker's status means for automation.
public enum GeoRepWorkerState: String, Sendable, Hashable {
    case active, passive, initializing, faulty, paused, created, stopped, offline, other

    /// Classifies a status text.
    public init(_ status: String) {
        var text = status.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix(".") { text.removeLast() }
        switch text {
        case "active": self = .active
        case "passive": self = .passive
        case "initializing": self = .initializing
        case "faulty": self = .faulty
        case "paused": self = .paused
        case "created": self = .created
        case "stopped", "config corrupted": self = .stopped
        case "offline": self = .offline
        default: self = .other
        }
    }

    /// Whether the session's monitor runs this worker (Active, Passive, Initializing, Faulty).
    public var isRunning: Bool { isStarted || self == .faulty }
    /// Whether the worker is started and can sync (Active, Passive, Initializing). A Faulty worker is
    /// not: a `start` that finds one is not done (issue 21, case 3: `restart-original` counted a
    /// Faulty worker as started and succeeded while the session could not replicate).
    public var isStarted: Bool { [.active, .passive, .initializing].contains(self) }
    /// Whether the worker is not started (Stopped, or Created and never started).
    public var isStopped: Bool { self == .stopped || self == .created }
}

/// One session of `volume geo-replication ... status --xml`.
public struct GeoRepSession: Sendable, Hashable {
    /// The primary volume.
    public var primaryVolume: String
    /// `session_secondary` (`session_slave` before 10.0), e.g. `UUID:ssh://host::vol:UUID`.
    public var sessionSecondary: String
    /// One worker per primary brick on a reachable node.
    public var workers: [GeoRepWorker]

    /// Creates a session record.
    public init(primaryVolume: String, sessionSecondary: String, workers: [GeoRepWorker]) {
        self.primaryVolume = primaryVolume
        self.sessionSecondary = sessionSecondary
        self.workers = workers
    }
}

/// The answer of `status`: there is no session (a state, not an error), or these sessions.
public enum GeoRepStatus: Sendable, Hashable {
    /// gluster knows no such session; carries what it printed.
    case noSession(String)
    /// The sessions listed (one for a `PRIMARY SECONDARY status`).
    case sessions([GeoRepSession])

    /// Every worker of every session.
    public var workers: [GeoRepWorker] {
        if case .sessions(let sessions) = self { return sessions.flatMap(\.workers) }
        return []
    }

    /// Whether a session exists.
    public var exists: Bool {
        if case .sessions(let sessions) = self { return !sessions.isEmpty }
        return false
    }
}

/// The options of one geo-replication session, from `config` (XML or `key:value` text).
public struct GeoRepConfig: Sendable, Hashable {
    /// Values by normalized name (`-` written as `_`, as gluster prints them).
    public var values: [String: String]

    /// Creates a config from raw names (normalized here).
    public init(_ values: [String: String]) {
        self.values = Dictionary(
            values.map { (Self.normalize($0.key), $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// A value by any spelling (`sync-method` and `sync_method` are the same key).
    public subscript(key: String) -> String? { values[Self.normalize(key)] }

    /// `sync-method` → `sync_method`; a leading `!` (reset) is dropped.
    public static func normalize(_ key: String) -> String {
        var key = key.trimmingCharacters(in: .whitespaces)
        if key.hasPrefix("!") { key.removeFirst() }
        return key.replacingOccurrences(of: "-", with: "_")
    }
}

extension GlusterParse {
    /// `volume geo-replication [P [S]] status [detail] --xml`.
    ///
    /// No session is a state: with `--xml`, gluster prints no XML but `geo-replication command failed`
    /// and exits 2 (10.3); in text mode it prints `No active geo-replication sessions ...` and exits 1;
    /// an XML answer with no session listed means the same. Both the 10.x `primary_*`/`secondary*`
    /// tags and the older `master_*`/`slave*` tags are read. Times are UTC.
    public static func geoRepStatus(_ output: GlusterOutput) throws -> GeoRepStatus {
        let text = output.combined
        if !output.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("<") {
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            let noSessionText = text.contains("No active geo-replication sessions")
            let bareFailure =
                output.exitCode != 0 && !lines.isEmpty && lines.allSatisfy { $0 == "geo-replication command failed" }
            if noSessionText || bareFailure {
                return .noSession(lines.first ?? "geo-replication command failed")
            }
        }
        let envelope = try GlusterEnvelope.checked(output)
        guard let geoRep = envelope.root.child("geoRep") else {
            throw GlusterError(.unparseable, output, "no <geoRep> in the answer")
        }
        var sessions: [GeoRepSession] = []
        for volume in geoRep.children("volume") {
            let primaryVolume = volume.text("name") ?? ""
            for session in volume.path("sessions")?.children("session") ?? [] {
                let workers = try session.children("pair").map { try worker($0, output: output) }
                sessions.append(
                    GeoRepSession(
                        primaryVolume: primaryVolume,
                        sessionSecondary: session.text("session_secondary", "session_slave") ?? "",
                        workers: workers))
            }
        }
        if sessions.isEmpty { return .noSession("no session listed") }
        return .sessions(sessions)
    }

    static func worker(_ pair: XMLTree, output: GlusterOutput) throws -> GeoRepWorker {
        guard let node = pair.text("primary_node", "master_node"),
            let brick = pair.text("primary_brick", "master_brick"),
            let status = pair.text("status")
        else {
            throw GlusterError(
                .unparseable, output, "a <pair> lacks primary_node/master_node, primary_brick/master_brick or status")
        }
        func time(_ field: String) throws -> Date? {
            guard let raw = pair.text(field) else { return nil }
            do { return try GlusterTime.parse(raw) } catch {
                throw GlusterError(
                    .unparseable, output, "\(field) '\(raw)' of \(node):\(brick) is not a YYYY-MM-DD HH:MM:SS time")
            }
        }
        func count(_ field: String) -> Int? { pair.text(field).flatMap { Int($0) } }
        var worker = GeoRepWorker(
            primaryNode: node, primaryNodeUUID: pair.text("primary_node_uuid", "master_node_uuid"), primaryBrick: brick,
            secondaryUser: pair.text("secondary_user", "slave_user") ?? "",
            secondary: pair.text("secondary", "slave") ?? "",
            secondaryNode: pair.text("secondary_node", "slave_node") ?? "", status: status,
            crawlStatus: pair.text("crawl_status") ?? "N/A")
        worker.lastSynced = try time("last_synced")
        worker.checkpointTime = try time("checkpoint_time")
        worker.checkpointCompletionTime = try time("checkpoint_completion_time")
        switch pair.text("checkpoint_completed")?.lowercased() {
        case "yes": worker.checkpointCompleted = true
        case "no": worker.checkpointCompleted = false
        default: worker.checkpointCompleted = nil
        }
        worker.entry = count("entry")
        worker.data = count("data")
        worker.meta = count("meta")
        worker.failures = count("failures")
        return worker
    }

    /// Adds an `Offline` worker for every brick of the primary volume that has no row: bricks on
    /// unreachable nodes are simply absent from `status` (the glustercli-python approach). Matches
    /// by node UUID and brick path when both sides have a UUID, else by `host:path`.
    public static func mergeOffline(_ workers: [GeoRepWorker], volume: GlusterVolume) -> [GeoRepWorker] {
        var merged = workers
        for brick in volume.bricks {
            let present = workers.contains { worker in
                guard worker.primaryBrick == brick.path else { return false }
                if let a = worker.primaryNodeUUID, let b = brick.hostUUID, !a.isEmpty, !b.isEmpty { return a == b }
                return worker.primaryNode == brick.host
            }
            if !present {
                merged.append(
                    GeoRepWorker(
                        primaryNode: brick.host, primaryNodeUUID: brick.hostUUID, primaryBrick: brick.path,
                        status: "Offline"))
            }
        }
        return merged
    }

    /// `--xml volume geo-replication P S config [KEY]`: `<geoRep><config><key>value</key>...`.
    public static func geoRepConfig(_ output: GlusterOutput) throws -> GeoRepConfig {
        let envelope = try GlusterEnvelope.checked(output)
        guard let config = envelope.root.path("geoRep/config") else {
            throw GlusterError(.unparseable, output, "no <geoRep><config> in the answer")
        }
        return GeoRepConfig(
            Dictionary(config.children.map { ($0.name, $0.text) }, uniquingKeysWith: { _, last in last }))
    }

    /// The text form of `config` (get-all): one `key:value` line per option.
    public static func geoRepConfigText(_ output: GlusterOutput) throws -> GeoRepConfig {
        if let code = output.exitCode, code != 0 {
            let first = output.combined.split(separator: "\n").first.map(String.init) ?? "no output"
            throw GlusterError(.commandFailed, output, "exited \(code): \(first)")
        }
        var values: [String: String] = [:]
        for line in output.stdout.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let colon = trimmed.firstIndex(of: ":"), colon != trimmed.startIndex else {
                throw GlusterError(.unparseable, output, "line '\(trimmed.prefix(80))' is not key:value")
            }
            values[String(trimmed[..<colon])] = String(trimmed[trimmed.index(after: colon)...])
        }
        guard !values.isEmpty else { throw GlusterError(.unparseable, output, "no key:value lines") }
        return GeoRepConfig(values)
    }

    /// The text form of a single get, `config KEY`: the bare value on one line.
    public static func geoRepConfigValue(_ output: GlusterOutput) throws -> String {
        if let code = output.exitCode, code != 0 {
            let first = output.combined.split(separator: "\n").first.map(String.init) ?? "no output"
            throw GlusterError(.commandFailed, output, "exited \(code): \(first)")
        }
        let lines = output.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        guard lines.count <= 1 else {
            throw GlusterError(.unparseable, output, "expected one value line, got \(lines.count)")
        }
        return lines.first ?? ""
    }
}
