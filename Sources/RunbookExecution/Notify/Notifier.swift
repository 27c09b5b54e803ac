import Foundation
import RunbookCore
import Synchronization

/// Tells a run's notify sinks of its events, beside the run: a delivery never holds a step, is
/// tried `attempts` times within the sink's `timeout` (in total), and is journaled as
/// `notify.sent` or `notify.failed` (and told to `observers`). A failed delivery changes neither
/// the run's outcome nor its exit code. ``drain()`` waits for what is still being delivered,
/// at most the longest timeout.
public final class Notifier: RunObserver, Sendable {
    public let sinks: [NotifySink]
    let builder: NotificationBuilder
    let redactor: Redactor
    /// Each signed sink's key, or why it has none (its deliveries fail with that reason).
    let keys: [String: Result<String, KeyMissing>]
    let journal: any RunJournal
    let observers: ObserverList
    let sender: any NotifySending
    /// When this process began to tell the run's sinks.
    let started = Date()
    /// Every delivery begun and not yet drained, and each sink's newest.
    let deliveries = Mutex(Deliveries())

    struct Deliveries {
        var all: [Task<Void, Never>] = []
        var last: [String: Task<Void, Never>] = [:]
    }

    struct KeyMissing: Error { var why: String }

    /// `sinks` as the documents give them (``NotifySink/effective(inventory:runbook:)``); their
    /// keys are read now (`environment`: where `secret_env` is looked up).
    public init(
        sinks: [NotifySink], runID: String, plan: Plan, journal: any RunJournal, observers: [any RunObserver],
        environment: [String: String] = ProcessInfo.processInfo.environment, sender: any NotifySending = NotifySenders()
    ) {
        self.sinks = sinks
        self.builder = NotificationBuilder(runID: runID, plan: plan)
        self.journal = journal
        self.observers = ObserverList(observers)
        self.sender = sender
        var keys: [String: Result<String, KeyMissing>] = [:]
        for sink in sinks {
            guard case .webhook(let webhook) = sink.kind else { continue }
            if let name = webhook.secretEnv {
                keys[sink.name] =
                    environment[name].flatMap { $0.isEmpty ? nil : $0 }.map { .success($0) }
                    ?? .failure(
                        KeyMissing(
                            why:
                                "not sent: its signing key's environment variable \(name) is not set (set it where the run starts, e.g. Environment= or EnvironmentFile= in the systemd unit)"
                        ))
            } else if let file = webhook.secretFile {
                let path = Self.resolve(file, besides: sink.location.file)
                if let text = try? String(contentsOfFile: path, encoding: .utf8),
                    case let key = text.trimmingCharacters(in: .newlines), !key.isEmpty
                {
                    keys[sink.name] = .success(key)
                } else {
                    keys[sink.name] = .failure(
                        KeyMissing(why: "not sent: its signing key file \(path) cannot be read or is empty"))
                }
            }
        }
        self.keys = keys
        let secrets = keys.values.compactMap { try? $0.get() }
        self.redactor = Redactor(secrets: plan.redactor.secrets + secrets)
    }

    static func resolve(_ path: String, besides file: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? path : directory + "/" + path
    }

    public func record(_ event: RunEvent, runID: String) {
        // A gate is announced once, when first reached: a resume that reaches it again (to find
        // its answer, or to park again, which run.parked tells) does not repeat it.
        if case .gateWaiting(let waiting) = event, waiting.firstReached < started { return }
        guard let notification = builder.notification(for: event, at: Date()) else { return }
        send(notification)
    }

    /// The run ended (journaled): tells the sinks that want its end.
    public func runEnded(_ outcome: RunOutcome, exitCode: Int32, objectives: [RunEvent.ObjectiveMeasured]) {
        send(builder.notification(ending: outcome, exitCode: exitCode, objectives: objectives, at: Date()))
    }

    /// Waits for every delivery begun so far (each ends within its sink's timeout).
    public func drain() async {
        let pending = deliveries.withLock { state -> [Task<Void, Never>] in
            defer { state.all.removeAll() }
            return state.all
        }
        for task in pending { await task.value }
    }

    /// Each sink hears of events in the order they happened (its deliveries go one after the
    /// other), every sink at once; a delivery's deadline counts from its event, so one held
    /// behind a slow delivery gets no more time than its own timeout.
    func send(_ notification: RunNotification) {
        let wanting = sinks.filter { $0.wants(notification.event) }
        guard !wanting.isEmpty else { return }
        let body = notification.json(redactor: redactor)
        let environment = notification.environment(redactor: redactor)
        let start = Date()
        deliveries.withLock { state in
            for sink in wanting {
                let previous = state.last[sink.name]
                let task = Task.detached { [self] in
                    await previous?.value
                    await deliver(notification, body: body, environment: environment, to: sink, start: start)
                }
                state.last[sink.name] = task
                state.all.append(task)
            }
        }
    }

    func deliver(
        _ notification: RunNotification, body: String, environment: [String: String], to sink: NotifySink,
        start: Date
    ) async {
        let deadline = start.addingTimeInterval(sink.timeout)
        var tries: [String] = []
        var delivered: String?
        var made = 0
        if case .failure(let missing)? = keys[sink.name] {
            tries.append(missing.why)
        } else {
            let key = try? keys[sink.name]?.get()
            for attempt in 1...sink.attempts {
                let remaining = deadline.timeIntervalSinceNow
                guard remaining > 0.05 else { break }
                made = attempt
                let answer = await firstOf(
                    seconds: remaining,
                    timedOut: .failed("no answer within \(WebhookSender.seconds(sink.timeout)) (the sink's timeout)")
                ) { [sender] in
                    await sender.attempt(
                        notification, body: body, environment: environment, to: sink, key: key, timeout: remaining)
                }
                switch answer {
                case .delivered(let detail):
                    delivered = detail
                case .failed(let why):
                    tries.append(sink.attempts == 1 ? why : "attempt \(attempt): \(why)")
                case .cannotSend(let why):
                    tries.append(why)
                }
                if delivered != nil || attempt == sink.attempts { break }
                if case .cannotSend = answer { break }
                // 0.5 s, 1 s, 2 s, ... between attempts, within the deadline.
                let pause = min(0.5 * pow(2, Double(attempt - 1)), deadline.timeIntervalSinceNow - 0.1)
                guard pause > 0 else { break }
                try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
            }
        }
        if made == 0, tries.isEmpty {
            tries.append(
                "not tried: the sink's timeout (\(WebhookSender.seconds(sink.timeout))) passed while an earlier delivery to it was being tried"
            )
        }
        let payload = RunEvent.NotifyDelivery(
            step: notification.step, sink: sink.name, event: notification.event.rawValue, attempts: made,
            seconds: (Date().timeIntervalSince(start) * 1000).rounded() / 1000,
            detail: redactor.redact(delivered ?? tries.joined(separator: "; ")))
        let event: RunEvent = delivered == nil ? .notifyFailed(payload) : .notifySent(payload)
        var batch = JournalBatch(runID: builder.runID)
        batch.events = [event]
        _ = try? journal.commit(batch)
        observers.record(event, runID: builder.runID)
    }
}
