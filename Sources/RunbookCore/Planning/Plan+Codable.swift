import Foundation

// The plan's nodes as JSON: the form `plan --format json`, `plan -o` and the journal share (see
// `PlanDocument`). Field names are snake_case, written in sorted order so that one plan is always
// the same text. Decoding is lenient about what is absent (documents of version 1 lack the
// fields added since, and tools may write only what they need): a node needs an `id` and a `kind`.
//
// Secrets: these conformances write what the plan holds. `PlanDocument.encoded` masks them.

// MARK: - A node

extension PlanNode: Codable {
    enum CodingKeys: String, CodingKey {
        case arguments
        case argumentsHaveUnknowns = "arguments_have_unknowns"
        case candidates, changes
        case choice = "choose"
        case commands, commit, description, effect, expect, gate, host, id, item, kind, location, message, needs
        case onFailure = "on_failure"
        case isPrecondition = "precondition"
        case reason, retries
        case retryDelay = "retry_delay_seconds"
        case stepID = "step"
        case target
        case timeout = "timeout_seconds"
        case typeName = "type"
        case undo, when
    }

    public func encode(to encoder: any Encoder) throws {
        // In the order of the keys' names.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(SortedMap(arguments.values), forKey: .arguments)
        if arguments.hasUnknowns { try container.encode(true, forKey: .argumentsHaveUnknowns) }
        if !candidates.isEmpty { try container.encode(candidates, forKey: .candidates) }
        try container.encode(changes, forKey: .changes)
        try container.encodeIfPresent(choice, forKey: .choice)
        try container.encode(commands, forKey: .commands)
        try container.encode(commit, forKey: .commit)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encode(effect.name, forKey: .effect)
        try container.encodeIfPresent(expect, forKey: .expect)
        try container.encodeIfPresent(gate, forKey: .gate)
        try container.encode(host, forKey: .host)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(item, forKey: .item)
        try container.encode(kind, forKey: .kind)
        try container.encode(location.description, forKey: .location)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encode(needs, forKey: .needs)
        try container.encode(onFailure, forKey: .onFailure)
        try container.encode(isPrecondition, forKey: .isPrecondition)
        try container.encodeIfPresent(effect.detail, forKey: .reason)
        try container.encode(retries, forKey: .retries)
        try container.encodeIfPresent(retryDelay, forKey: .retryDelay)
        try container.encode(stepID, forKey: .stepID)
        try container.encode(target, forKey: .target)
        try container.encodeIfPresent(timeout, forKey: .timeout)
        try container.encode(typeName, forKey: .typeName)
        // A changing step with `undo: none` says so (`{"kind": "none"}`).
        if undo != .none || changes { try container.encode(undo, forKey: .undo) }
        try container.encodeIfPresent(when, forKey: .when)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        kind = try container.decode(Kind.self, forKey: .kind)
        stepID =
            try container.decodeIfPresent(String.self, forKey: .stepID)
            ?? String(id.split(separator: "@", maxSplits: 1).first ?? Substring(id))
        host = try container.decodeIfPresent(String.self, forKey: .host) ?? ""
        target = try container.decodeIfPresent(String.self, forKey: .target) ?? host
        candidates = try container.decodeIfPresent([String].self, forKey: .candidates) ?? []
        typeName = try container.decodeIfPresent(String.self, forKey: .typeName) ?? ""
        isPrecondition = try container.decodeIfPresent(Bool.self, forKey: .isPrecondition) ?? false
        needs = try container.decodeIfPresent([String].self, forKey: .needs) ?? []
        effect = PlanEffect(
            name: try container.decodeIfPresent(String.self, forKey: .effect),
            detail: try container.decodeIfPresent(String.self, forKey: .reason))
        arguments = ResolvedArguments(
            try container.decodeIfPresent([String: Value].self, forKey: .arguments) ?? [:],
            hasUnknowns: try container.decodeIfPresent(Bool.self, forKey: .argumentsHaveUnknowns) ?? false)
        commands = try container.decodeIfPresent([PlannedCommand].self, forKey: .commands) ?? []
        undo = try container.decodeIfPresent(UndoPlan.self, forKey: .undo) ?? .none
        changes = try container.decodeIfPresent(Bool.self, forKey: .changes) ?? false
        commit = try container.decodeIfPresent(Bool.self, forKey: .commit) ?? false
        retries = try container.decodeIfPresent(Int.self, forKey: .retries) ?? 0
        retryDelay = try container.decodeIfPresent(Double.self, forKey: .retryDelay)
        timeout = try container.decodeIfPresent(Double.self, forKey: .timeout)
        onFailure = try container.decodeIfPresent(FailurePolicy.self, forKey: .onFailure) ?? .rollback
        expect = try container.decodeIfPresent(String.self, forKey: .expect)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        when = try container.decodeIfPresent(ConditionReport.self, forKey: .when)
        gate = try container.decodeIfPresent(GatePlan.self, forKey: .gate)
        choice = try container.decodeIfPresent(ChoicePlan.self, forKey: .choice)
        item = try container.decodeIfPresent(PlanItem.self, forKey: .item)
        let location = try container.decodeIfPresent(String.self, forKey: .location)
        self.location =
            location.flatMap(SourceLocation.init(parsing:)) ?? SourceLocation(file: location ?? "", line: 0, column: 0)
    }
}

// MARK: - A for_each item

extension PlanItem: Codable {
    enum CodingKeys: String, CodingKey {
        case index, key, list, value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(key, forKey: .key)
        try container.encode(list, forKey: .list)
        try container.encode(value, forKey: .value)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            key: try container.decode(String.self, forKey: .key),
            index: try container.decodeIfPresent(Int.self, forKey: .index) ?? 0,
            list: try container.decodeIfPresent(String.self, forKey: .list) ?? "",
            value: try container.decodeIfPresent(Value.self, forKey: .value) ?? .null)
    }
}

extension SourceLocation {
    /// Reads `file:line:col` back (the file may itself contain colons).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let line = Int(parts[parts.count - 2]), let column = Int(parts[parts.count - 1]) else {
            return nil
        }
        self.init(file: parts.dropLast(2).joined(separator: ":"), line: line, column: column)
    }
}

// MARK: - What a node is predicted to do

extension PlanEffect: Codable {
    /// The name in JSON: the label with underscores (`will_change`, `unknown_until_run`).
    public var name: String {
        switch self {
        case .willChange: return "will_change"
        case .alreadyDone: return "already_done"
        case .unknown: return "unknown_until_run"
        case .skipped: return "skipped"
        }
    }

    /// The effect a name and reason stand for; an absent or unknown name is `unknown`.
    init(name: String?, detail: String?) {
        switch name {
        case "will_change": self = .willChange(detail)
        case "already_done": self = .alreadyDone(detail)
        case "skipped": self = .skipped(detail ?? "")
        default: self = .unknown(detail ?? "")
        }
    }

    enum CodingKeys: String, CodingKey {
        case name = "effect"
        case detail = "reason"
    }

    /// On its own, `{"effect": "skipped", "reason": "..."}`; a node writes the two among its fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(detail, forKey: .detail)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decodeIfPresent(String.self, forKey: .name),
            detail: try container.decodeIfPresent(String.self, forKey: .detail))
    }
}

extension ConditionReport: Codable {
    enum CodingKeys: String, CodingKey {
        case result, source, values
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // `result` is null when it cannot be known yet: written, not left out.
        if let result {
            try container.encode(result, forKey: .result)
        } else {
            try container.encodeNil(forKey: .result)
        }
        try container.encode(source, forKey: .source)
        try container.encode(values, forKey: .values)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            source: try container.decodeIfPresent(String.self, forKey: .source) ?? "",
            result: try container.decodeIfPresent(Bool.self, forKey: .result),
            values: try container.decodeIfPresent([String].self, forKey: .values) ?? [])
    }
}

extension ResolvedArguments: Codable {
    enum CodingKeys: String, CodingKey {
        case hasUnknowns = "has_unknowns"
        case values
    }

    /// On its own, `{"has_unknowns": false, "values": {...}}`; a node writes the values as its
    /// `arguments` and the flag as `arguments_have_unknowns` (only when set).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(hasUnknowns, forKey: .hasUnknowns)
        try container.encode(SortedMap(values), forKey: .values)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try container.decodeIfPresent([String: Value].self, forKey: .values) ?? [:],
            hasUnknowns: try container.decodeIfPresent(Bool.self, forKey: .hasUnknowns) ?? false)
    }
}

// MARK: - Commands and undo

extension PlannedCommand: Codable {
    enum CodingKeys: String, CodingKey {
        case argv
        case workingDirectory = "cwd"
        case environment = "env"
        case host, purpose
        /// The command as a shell would need it: for people; derived from the others, never read.
        case shell
        case stdin
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(command.argv, forKey: .argv)
        try container.encodeIfPresent(command.workingDirectory, forKey: .workingDirectory)
        if !command.environment.isEmpty { try container.encode(SortedMap(command.environment), forKey: .environment) }
        try container.encode(host, forKey: .host)
        try container.encode(purpose, forKey: .purpose)
        try container.encode(command.shellText, forKey: .shell)
        try container.encodeIfPresent(command.stdin, forKey: .stdin)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try container.decode(Purpose.self, forKey: .purpose),
            on: try container.decodeIfPresent(String.self, forKey: .host) ?? "",
            CommandSpec(
                argv: try container.decode([String].self, forKey: .argv),
                environment: try container.decodeIfPresent([String: String].self, forKey: .environment) ?? [:],
                workingDirectory: try container.decodeIfPresent(String.self, forKey: .workingDirectory),
                stdin: try container.decodeIfPresent(String.self, forKey: .stdin)))
    }
}

extension UndoPlan: Codable {
    enum CodingKeys: String, CodingKey {
        case commands, description, kind
    }

    /// The `kind` of each case; `none` appears where an undo is written on its own, and on a
    /// changing node whose step says `undo: none` (a node that changes nothing has no `undo` field).
    public var kindName: String {
        switch self {
        case .commands: return "declared"
        case .derived: return "derived"
        case .irreversible: return "irreversible"
        case .none: return "none"
        case .missing: return "missing"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .commands(let commands): try container.encode(commands, forKey: .commands)
        case .derived(let text): try container.encode(text, forKey: .description)
        case .irreversible, .none, .missing: break
        }
        try container.encode(kindName, forKey: .kind)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        switch kind {
        case "declared":
            self = .commands(try container.decodeIfPresent([PlannedCommand].self, forKey: .commands) ?? [])
        case "derived": self = .derived(try container.decodeIfPresent(String.self, forKey: .description) ?? "")
        case "irreversible": self = .irreversible
        case "none": self = .none
        case "missing": self = .missing
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "unknown undo kind '\(kind)'")
        }
    }
}

// MARK: - Gates and choices

extension GatePlan: Codable {
    enum CodingKeys: String, CodingKey {
        case approvers, condition
        case allowedSigners = "allowed_signers"
        case quorum
        case notByLauncher = "not_by_launcher"
        case every = "every_seconds"
        case onTimeout = "on_timeout"
        case probe
        case probeHost = "probe_host"
        case prompt
        case timeout = "timeout_seconds"
        case type
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !approvers.isEmpty { try container.encode(approvers, forKey: .approvers) }
        try container.encodeIfPresent(condition, forKey: .condition)
        try container.encodeIfPresent(every, forKey: .every)
        try container.encode(onTimeout, forKey: .onTimeout)
        try container.encodeIfPresent(probe, forKey: .probe)
        try container.encodeIfPresent(probeHost, forKey: .probeHost)
        try container.encodeIfPresent(prompt, forKey: .prompt)
        try container.encodeIfPresent(timeout, forKey: .timeout)
        try container.encode(type.rawValue, forKey: .type)
        // Only when set: a plan without signed gates hashes as before.
        try container.encodeIfPresent(allowedSigners, forKey: .allowedSigners)
        try container.encodeIfPresent(quorum, forKey: .quorum)
        if notByLauncher { try container.encode(true, forKey: .notByLauncher) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            type: try container.decodeIfPresent(Gate.Kind.Name.self, forKey: .type) ?? .approval,
            prompt: try container.decodeIfPresent(String.self, forKey: .prompt),
            approvers: try container.decodeIfPresent([String].self, forKey: .approvers) ?? [],
            timeout: try container.decodeIfPresent(Double.self, forKey: .timeout),
            onTimeout: try container.decodeIfPresent(GateTimeoutPolicy.self, forKey: .onTimeout) ?? .abort,
            probe: try container.decodeIfPresent(String.self, forKey: .probe),
            condition: try container.decodeIfPresent(String.self, forKey: .condition),
            every: try container.decodeIfPresent(Double.self, forKey: .every),
            probeHost: try container.decodeIfPresent(String.self, forKey: .probeHost),
            allowedSigners: try container.decodeIfPresent(String.self, forKey: .allowedSigners),
            quorum: try container.decodeIfPresent(Int.self, forKey: .quorum),
            notByLauncher: try container.decodeIfPresent(Bool.self, forKey: .notByLauncher) ?? false)
    }
}

extension ChoicePlan: Codable {
    enum CodingKeys: String, CodingKey {
        case alternatives, chosen
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(alternatives, forKey: .alternatives)
        // null while only the run can tell: written, not left out.
        if let chosen {
            try container.encode(chosen, forKey: .chosen)
        } else {
            try container.encodeNil(forKey: .chosen)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            alternatives: try container.decodeIfPresent([Alternative].self, forKey: .alternatives) ?? [],
            chosen: try container.decodeIfPresent(Int.self, forKey: .chosen))
    }
}

extension ChoicePlan.Alternative: Codable {
    enum CodingKeys: String, CodingKey {
        case commands
        /// Whether it is the `otherwise` alternative (whose `when` reads "otherwise").
        case otherwise
        case result
        case typeName = "type"
        case undo, values, when
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commands, forKey: .commands)
        try container.encode(condition == nil, forKey: .otherwise)
        if let result = condition?.result {
            try container.encode(result, forKey: .result)
        } else {
            try container.encodeNil(forKey: .result)
        }
        try container.encode(typeName, forKey: .typeName)
        if undo != .none { try container.encode(undo, forKey: .undo) }
        try container.encode(condition?.values ?? [], forKey: .values)
        try container.encode(condition?.source ?? "otherwise", forKey: .when)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let source = try container.decodeIfPresent(String.self, forKey: .when) ?? "otherwise"
        // Documents of version 1 have no `otherwise` field: there, "otherwise" in `when` says it.
        let otherwise = try container.decodeIfPresent(Bool.self, forKey: .otherwise) ?? (source == "otherwise")
        self.init(
            condition: otherwise
                ? nil
                : ConditionReport(
                    source: source,
                    result: try container.decodeIfPresent(Bool.self, forKey: .result),
                    values: try container.decodeIfPresent([String].self, forKey: .values) ?? []),
            typeName: try container.decodeIfPresent(String.self, forKey: .typeName) ?? "",
            commands: try container.decodeIfPresent([PlannedCommand].self, forKey: .commands) ?? [],
            undo: try container.decodeIfPresent(UndoPlan.self, forKey: .undo) ?? .none)
    }
}

// MARK: - Params and rollback

extension ResolvedParam: Codable {
    enum CodingKeys: String, CodingKey {
        case name, secret, source, value
    }

    /// A secret's value is written as `***`: it never leaves the process that read it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(secret, forKey: .secret)
        try container.encode(source, forKey: .source)
        try container.encode(secret ? .string(Redactor.mask) : value, forKey: .value)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            value: try container.decodeIfPresent(Value.self, forKey: .value) ?? .null,
            secret: try container.decodeIfPresent(Bool.self, forKey: .secret) ?? false,
            source: try container.decodeIfPresent(Source.self, forKey: .source) ?? .defaultValue)
    }
}

extension RollbackEntry: Codable {
    enum CodingKeys: String, CodingKey {
        case commitPoint = "commit_point"
        case undo
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .undo(let id): try container.encode(id, forKey: .undo)
        case .commitPoint(let id): try container.encode(id, forKey: .commitPoint)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let id = try container.decodeIfPresent(String.self, forKey: .undo) {
            self = .undo(nodeID: id)
        } else {
            self = .commitPoint(nodeID: try container.decode(String.self, forKey: .commitPoint))
        }
    }
}
