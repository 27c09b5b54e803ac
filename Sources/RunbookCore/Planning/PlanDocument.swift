import Foundation

/// A plan as JSON: what `plan --format json` prints, `plan -o` saves and the journal keeps.
///
/// One type, one encoder (`StreamingJSONEncoder`, which masks secrets) and one decoder
/// (`PlanDocument.decode`) for all three. A saved plan adds `plan_hash`, `facts`, `inputs` and
/// `created_at`; the journal adds `inputs`. The runbook, inventory and evaluation context a `Plan`
/// also holds are not in it: whoever reads a document loads those from the files it names, and
/// `inputs` says whether they are still the same.
public struct PlanDocument: Sendable, Hashable {
    /// 2 since `Value`s carry their type (`{"$duration": "30s"}`, see `Value`'s `Codable`); 1 had
    /// plain JSON values and no `on_failure`, `retries`, `stdin`, ... Both are read.
    public static let currentVersion = 2

    /// A file a plan was made from, by name.
    public struct Source: Sendable, Hashable, Codable {
        public var name: String
        public var file: String

        public init(name: String, file: String) {
            self.name = name
            self.file = file
        }

        enum CodingKeys: String, CodingKey {
            case file, name
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(name, forKey: .name)
        }
    }

    /// The SHA-256 of the runbook and inventory text the plan was made from.
    public struct Inputs: Sendable, Hashable, Codable {
        public var runbookSHA256: String
        public var inventorySHA256: String

        public init(runbookSHA256: String, inventorySHA256: String) {
            self.runbookSHA256 = runbookSHA256
            self.inventorySHA256 = inventorySHA256
        }

        enum CodingKeys: String, CodingKey {
            case inventorySHA256 = "inventory_sha256"
            case runbookSHA256 = "runbook_sha256"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(inventorySHA256, forKey: .inventorySHA256)
            try container.encode(runbookSHA256, forKey: .runbookSHA256)
        }
    }

    public var version: Int
    public var runbook: Source
    public var inventory: Source
    public var mode: String
    public var offline: Bool
    /// Secret values read back as `***`.
    public var params: [ResolvedParam]
    public var preconditions: [PlanNode]
    /// Step instances in the plan's order (`Plan.nodes`).
    public var steps: [PlanNode]
    public var rollback: [RollbackEntry]
    /// A saved plan's SHA-256 (`PlanHash`), which `run PLAN` compares.
    public var planHash: String?
    /// What the live plan saw, by `step:ID` and such; a saved plan's drift is told from these.
    public var facts: [String: String]?
    public var inputs: Inputs?
    /// When a saved plan was made (ISO 8601).
    public var createdAt: String?

    public init(
        version: Int = PlanDocument.currentVersion, runbook: Source, inventory: Source, mode: String, offline: Bool,
        params: [ResolvedParam], preconditions: [PlanNode], steps: [PlanNode], rollback: [RollbackEntry],
        planHash: String? = nil, facts: [String: String]? = nil, inputs: Inputs? = nil, createdAt: String? = nil
    ) {
        self.version = version
        self.runbook = runbook
        self.inventory = inventory
        self.mode = mode
        self.offline = offline
        self.params = params
        self.preconditions = preconditions
        self.steps = steps
        self.rollback = rollback
        self.planHash = planHash
        self.facts = facts
        self.inputs = inputs
        self.createdAt = createdAt
    }

    /// The document of a plan (its nodes are shared, not copied).
    public init(plan: Plan) {
        self.init(
            runbook: Source(name: plan.runbook.name.value, file: plan.runbook.file),
            inventory: Source(name: plan.inventory.name.value, file: plan.inventory.file),
            mode: plan.mode, offline: plan.offline, params: plan.params, preconditions: plan.preconditions,
            steps: plan.nodes, rollback: plan.rollback)
    }

    /// The params that are not secret, as `-p name=value` gives them (what `run PLAN` and
    /// `resume` compile with again; secrets are read again from where they came from).
    public var commandLineParams: [String: String] {
        var result: [String: String] = [:]
        for param in params where !param.secret { result[param.name] = param.value.renderedForText }
        return result
    }

    /// How many steps will change, are done, unknown or skipped: `counts` in the JSON.
    public var counts: Plan.Counts { Plan.Counts(steps) }

    // MARK: Writing and reading

    /// The document as JSON text, with every secret of `redactor` masked.
    ///
    /// `pretty` is for people (`plan --format json`, `plan -o`); the journal keeps it compact.
    public func encoded(redactor: Redactor, pretty: Bool) -> [UInt8] {
        do {
            return try StreamingJSONEncoder(pretty: pretty, redactor: redactor).encode(self)
        } catch {
            preconditionFailure(Self.unencodable(error))
        }
    }

    /// The same text in chunks to `sink`, as it is encoded: all of it is never in memory at once.
    public func write(redactor: Redactor, pretty: Bool, to sink: (UnsafeRawBufferPointer) -> Void) {
        do {
            try StreamingJSONEncoder(pretty: pretty, redactor: redactor).encode(self, to: sink)
        } catch {
            preconditionFailure(Self.unencodable(error))
        }
    }

    /// The encoder throws only for numbers JSON cannot say; a plan's durations are parsed from
    /// text (finite), and a `Value` writes NaN and infinities as text.
    private static func unencodable(_ error: any Error) -> String {
        "a plan document holds only finite numbers, yet: \(error)"
    }

    /// Reads a document written by `encoded` (of any version), or the journal's plan as versions
    /// before 2 wrote it (`{"plan": {...}, "runbook_sha256": ..., "mode": ...}`).
    public static func decode(_ data: Data) throws -> PlanDocument {
        try JSONDecoder().decode(PlanDocument.self, from: data)
    }

    public static func decode(_ text: String) throws -> PlanDocument {
        try decode(Data(text.utf8))
    }
}

extension Plan.Counts {
    /// The counts of these nodes' effects.
    public init(_ nodes: [PlanNode]) {
        self.init()
        for node in nodes {
            switch node.effect {
            case .willChange: willChange += 1
            case .alreadyDone: alreadyDone += 1
            case .unknown: unknown += 1
            case .skipped: skipped += 1
            }
        }
    }
}

extension PlanDocument: Codable {
    enum CodingKeys: String, CodingKey {
        case counts
        case createdAt = "created_at"
        case facts, inputs, inventory, mode, offline, params
        case planHash = "plan_hash"
        case preconditions, rollback, runbook, steps, version
        // The journal's wrapper before version 2.
        case plan
        case runbookSHA256 = "runbook_sha256"
        case inventorySHA256 = "inventory_sha256"
    }

    enum CountsKeys: String, CodingKey {
        case alreadyDone = "already_done"
        case skipped, unknown
        case willChange = "will_change"
    }

    public func encode(to encoder: any Encoder) throws {
        // In the order of the keys' names.
        var container = encoder.container(keyedBy: CodingKeys.self)
        let counts = self.counts
        var countsContainer = container.nestedContainer(keyedBy: CountsKeys.self, forKey: .counts)
        try countsContainer.encode(counts.alreadyDone, forKey: .alreadyDone)
        try countsContainer.encode(counts.skipped, forKey: .skipped)
        try countsContainer.encode(counts.unknown, forKey: .unknown)
        try countsContainer.encode(counts.willChange, forKey: .willChange)
        try container.encodeIfPresent(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(facts.map(SortedMap.init), forKey: .facts)
        try container.encodeIfPresent(inputs, forKey: .inputs)
        try container.encode(inventory, forKey: .inventory)
        try container.encode(mode, forKey: .mode)
        try container.encode(offline, forKey: .offline)
        try container.encode(params, forKey: .params)
        try container.encodeIfPresent(planHash, forKey: .planHash)
        try container.encode(preconditions, forKey: .preconditions)
        try container.encode(rollback, forKey: .rollback)
        try container.encode(runbook, forKey: .runbook)
        try container.encode(steps, forKey: .steps)
        try container.encode(version, forKey: .version)
    }

    /// Only `steps` is required (a document without it is not a plan); `counts` is derived, not read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if !container.contains(.steps), container.contains(.plan) {
            // The journal's plan before version 2: the document inside, the hashes and mode beside it.
            var inner = try container.decode(PlanDocument.self, forKey: .plan)
            if inner.mode.isEmpty { inner.mode = try container.decodeIfPresent(String.self, forKey: .mode) ?? "" }
            if inner.inputs == nil, let runbook = try container.decodeIfPresent(String.self, forKey: .runbookSHA256) {
                let inventory = try container.decodeIfPresent(String.self, forKey: .inventorySHA256) ?? ""
                inner.inputs = Inputs(runbookSHA256: runbook, inventorySHA256: inventory)
            }
            self = inner
            return
        }
        let unnamed = Source(name: "", file: "")
        self.init(
            version: try container.decodeIfPresent(Int.self, forKey: .version) ?? 1,
            runbook: try container.decodeIfPresent(Source.self, forKey: .runbook) ?? unnamed,
            inventory: try container.decodeIfPresent(Source.self, forKey: .inventory) ?? unnamed,
            mode: try container.decodeIfPresent(String.self, forKey: .mode) ?? "",
            offline: try container.decodeIfPresent(Bool.self, forKey: .offline) ?? false,
            params: try container.decodeIfPresent([ResolvedParam].self, forKey: .params) ?? [],
            preconditions: try container.decodeIfPresent([PlanNode].self, forKey: .preconditions) ?? [],
            steps: try container.decode([PlanNode].self, forKey: .steps),
            rollback: try container.decodeIfPresent([RollbackEntry].self, forKey: .rollback) ?? [],
            planHash: try container.decodeIfPresent(String.self, forKey: .planHash),
            facts: try container.decodeIfPresent([String: String].self, forKey: .facts),
            inputs: try container.decodeIfPresent(Inputs.self, forKey: .inputs),
            createdAt: try container.decodeIfPresent(String.self, forKey: .createdAt))
    }
}
