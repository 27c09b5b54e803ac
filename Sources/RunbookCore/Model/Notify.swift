/// Where a run tells people what happened (`notify:` in the inventory, overridable per runbook):
/// a named sink and the events it wants.
public struct NotifySink: Sendable, Equatable {
    /// How a sink is reached.
    public enum Kind: Sendable, Equatable {
        /// A program run with the event as JSON on its standard input and in `RUNBOOK_*`
        /// environment variables; exit 0 means delivered.
        case command(argv: [String])
        /// An HTTP POST of the event as a JSON body (with a `text` field chat tools display).
        case webhook(Webhook)
    }

    /// An HTTP endpoint (`http` or `https`; TLS is verified) and how its requests are signed.
    public struct Webhook: Sendable, Equatable {
        public var url: String
        /// The environment variable that holds the HMAC-SHA256 key, read when the run starts.
        public var secretEnv: String?
        /// A file that holds the HMAC-SHA256 key (its trailing newline dropped).
        public var secretFile: String?

        public init(url: String, secretEnv: String? = nil, secretFile: String? = nil) {
            self.url = url
            self.secretEnv = secretEnv
            self.secretFile = secretFile
        }
    }

    public var name: String
    public var kind: Kind
    public var events: [NotifyEvent]
    /// How long one delivery may take, every attempt included (seconds).
    public var timeout: Double
    /// How many times a delivery is tried before it is journaled as failed.
    public var attempts: Int
    public var location: SourceLocation

    public static let defaultTimeout: Double = 10
    public static let defaultAttempts = 3

    public init(
        name: String, kind: Kind, events: [NotifyEvent], timeout: Double = Self.defaultTimeout,
        attempts: Int = Self.defaultAttempts, location: SourceLocation
    ) {
        self.name = name
        self.kind = kind
        self.events = events
        self.timeout = timeout
        self.attempts = attempts
        self.location = location
    }

    public func wants(_ event: NotifyEvent) -> Bool { events.contains(event) }

    /// Where it goes, as the plan shows it: the program, or the webhook's scheme and host (a
    /// chat webhook's path is often its secret).
    public var target: String {
        switch kind {
        case .command(let argv): return "command \(argv.first ?? "")"
        case .webhook(let webhook):
            let parts = webhook.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            let origin = parts.count >= 3 ? parts[0...2].joined(separator: "/") : webhook.url
            return "webhook \(origin)/…\(webhook.secretEnv != nil || webhook.secretFile != nil ? " (signed)" : "")"
        }
    }

    /// The sinks a run uses: the inventory's, with a runbook's sink of the same name in its place
    /// and the runbook's other sinks after them.
    public static func effective(inventory: [NotifySink], runbook: [NotifySink]) -> [NotifySink] {
        let own = Dictionary(runbook.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let replaced = inventory.map { own[$0.name] ?? $0 }
        let inherited = Set(inventory.map(\.name))
        return replaced + runbook.filter { !inherited.contains($0.name) }
    }
}

/// What a sink can be told of.
public enum NotifyEvent: String, Sendable, CaseIterable, Codable {
    /// A gate waits for a person (its prompt as resolved, its deadline, the `runbook approve`
    /// command that answers it) or for a condition.
    case gateWaiting = "gate.waiting"
    /// The run parked at a gate nobody could answer here (exit 4).
    case runParked = "run.parked"
    /// The run ended failed, interrupted, or with its rollback incomplete.
    case runFailed = "run.failed"
    /// The run ended rolled back.
    case runRolledBack = "run.rolled_back"
    /// An objective (RTO, RPO) was missed or could not be measured.
    case objectiveMissed = "objective.missed"
    /// The run succeeded (with its objectives as measured).
    case runSucceeded = "run.succeeded"
    /// A precondition failed: nothing was started, or an item was left out.
    case preconditionFailed = "precondition.failed"
}
