import Foundation
import RunbookCore

/// Something that happened in a run: journaled (hash-chained) and shown to observers.
///
/// One case per event type, each with a `Codable` payload whose coding keys are the field names
/// of the public `--events` stream and of the journal's `payloadJSON` (every value is written as
/// text, see `EventFields`). `step` and `host` are part of each payload that has them; the
/// journal keeps them in their own columns.
public enum RunEvent: Sendable, Equatable {
    case runStarted(RunStarted)
    case runResumed(RunResumed)
    case runStopping(RunStopping)
    case runBudgetExceeded(RunBudgetExceeded)
    case runFinished(RunEnded)
    case runParked(RunEnded)
    case preconditionPassed(Precondition)
    case preconditionFailed(Precondition)
    case stepStarted(StepStarted)
    case stepRetry(StepRetry)
    case stepFinished(StepFinished)
    case stepSkipped(StepSkipped)
    case stepVerified(StepVerified)
    case gateWaiting(GateWaiting)
    case gatePoll(GatePoll)
    case approval(Approval)
    case rollbackStarted(RollbackStarted)
    case rollbackSkipped(RollbackSkipped)
    case rollbackFinished(RollbackFinished)
    case undoStarted(UndoStarted)
    case undoFinished(UndoFinished)
    case objectiveMeasured(ObjectiveMeasured)
    case notifySent(NotifyDelivery)
    case notifyFailed(NotifyDelivery)
    case approvalRefused(ApprovalRefused)
    case epochRead(EpochRead)
    case epochRefused(EpochRefused)

    /// The event type as journaled and streamed, e.g. `step.finished`.
    public var type: String {
        switch self {
        case .runStarted: return "run.started"
        case .runResumed: return "run.resumed"
        case .runStopping: return "run.stopping"
        case .runBudgetExceeded: return "run.budget_exceeded"
        case .runFinished: return "run.finished"
        case .runParked: return "run.parked"
        case .preconditionPassed: return "precondition.passed"
        case .preconditionFailed: return "precondition.failed"
        case .stepStarted: return "step.started"
        case .stepRetry: return "step.retry"
        case .stepFinished: return "step.finished"
        case .stepSkipped: return "step.skipped"
        case .stepVerified: return "step.verified"
        case .gateWaiting: return "gate.waiting"
        case .gatePoll: return "gate.poll"
        case .approval: return "approval"
        case .rollbackStarted: return "rollback.started"
        case .rollbackSkipped: return "rollback.skipped"
        case .rollbackFinished: return "rollback.finished"
        case .undoStarted: return "undo.started"
        case .undoFinished: return "undo.finished"
        case .objectiveMeasured: return "objective.measured"
        case .notifySent: return "notify.sent"
        case .notifyFailed: return "notify.failed"
        case .approvalRefused: return "approval.refused"
        case .epochRead: return "epoch.read"
        case .epochRefused: return "epoch.refused"
        }
    }

    /// The payload of the case.
    public var payload: any RunEventPayload {
        switch self {
        case .runStarted(let p): return p
        case .runResumed(let p): return p
        case .runStopping(let p): return p
        case .runBudgetExceeded(let p): return p
        case .runFinished(let p), .runParked(let p): return p
        case .preconditionPassed(let p), .preconditionFailed(let p): return p
        case .stepStarted(let p): return p
        case .stepRetry(let p): return p
        case .stepFinished(let p): return p
        case .stepSkipped(let p): return p
        case .stepVerified(let p): return p
        case .gateWaiting(let p): return p
        case .gatePoll(let p): return p
        case .approval(let p): return p
        case .rollbackStarted(let p): return p
        case .rollbackSkipped(let p): return p
        case .rollbackFinished(let p): return p
        case .undoStarted(let p): return p
        case .undoFinished(let p): return p
        case .objectiveMeasured(let p): return p
        case .notifySent(let p), .notifyFailed(let p): return p
        case .approvalRefused(let p): return p
        case .epochRead(let p): return p
        case .epochRefused(let p): return p
        }
    }

    /// The step instance (node id, or a gate's step id) the event concerns, if any.
    public var step: String? { payload.step }
    /// The host the event concerns, if any.
    public var host: String? { payload.host }

    /// Every field of the payload as text, `step` and `host` included (the `--events` form).
    public var allFields: [String: String] { EventFields.encode(payload) }

    /// The payload's fields without `step` and `host`: what the journal hashes as `payloadJSON`.
    public var fields: [String: String] {
        var fields = allFields
        fields["step"] = nil
        fields["host"] = nil
        return fields
    }

    /// Decodes a journaled or streamed event; nil for a type this build does not know.
    public init?(type: String, step: String?, host: String?, fields: [String: String]) throws {
        var all = fields
        all["step"] = step
        all["host"] = host
        func decode<T: RunEventPayload>(_: T.Type) throws -> T { try EventFields.decode(T.self, from: all) }
        switch type {
        case "run.started": self = .runStarted(try decode(RunStarted.self))
        case "run.resumed": self = .runResumed(try decode(RunResumed.self))
        case "run.stopping": self = .runStopping(try decode(RunStopping.self))
        case "run.budget_exceeded": self = .runBudgetExceeded(try decode(RunBudgetExceeded.self))
        case "run.finished": self = .runFinished(try decode(RunEnded.self))
        case "run.parked": self = .runParked(try decode(RunEnded.self))
        case "precondition.passed": self = .preconditionPassed(try decode(Precondition.self))
        case "precondition.failed": self = .preconditionFailed(try decode(Precondition.self))
        case "step.started": self = .stepStarted(try decode(StepStarted.self))
        case "step.retry": self = .stepRetry(try decode(StepRetry.self))
        case "step.finished": self = .stepFinished(try decode(StepFinished.self))
        case "step.skipped": self = .stepSkipped(try decode(StepSkipped.self))
        case "step.verified": self = .stepVerified(try decode(StepVerified.self))
        case "gate.waiting": self = .gateWaiting(try decode(GateWaiting.self))
        case "gate.poll": self = .gatePoll(try decode(GatePoll.self))
        case "approval": self = .approval(try decode(Approval.self))
        case "rollback.started": self = .rollbackStarted(try decode(RollbackStarted.self))
        case "rollback.skipped": self = .rollbackSkipped(try decode(RollbackSkipped.self))
        case "rollback.finished": self = .rollbackFinished(try decode(RollbackFinished.self))
        case "undo.started": self = .undoStarted(try decode(UndoStarted.self))
        case "undo.finished": self = .undoFinished(try decode(UndoFinished.self))
        case "objective.measured": self = .objectiveMeasured(try decode(ObjectiveMeasured.self))
        case "notify.sent": self = .notifySent(try decode(NotifyDelivery.self))
        case "notify.failed": self = .notifyFailed(try decode(NotifyDelivery.self))
        case "approval.refused": self = .approvalRefused(try decode(ApprovalRefused.self))
        case "epoch.read": self = .epochRead(try decode(EpochRead.self))
        case "epoch.refused": self = .epochRefused(try decode(EpochRefused.self))
        default: return nil
        }
    }
}

extension EventRecord {
    /// The journaled event, typed; nil for a type this build does not know or an unreadable payload.
    public var event: RunEvent? {
        guard let fields = payload else { return nil }
        return (try? RunEvent(type: type, step: step, host: host, fields: fields)) ?? nil
    }
}

/// Receives a run's events as they happen: progress display, `--events`, tests.
public protocol RunObserver: Sendable {
    func record(_ event: RunEvent, runID: String)
}

/// Several observers as one.
public struct ObserverList: RunObserver {
    public var observers: [any RunObserver]
    public init(_ observers: [any RunObserver]) { self.observers = observers }
    public func record(_ event: RunEvent, runID: String) {
        for observer in observers { observer.record(event, runID: runID) }
    }
}

/// Writes events as JSON lines: `{"v":1,"ts":...,"run":...,"type":...,"step":...,"host":...}`
/// and the payload's fields (a field named like one of these envelope keys is left out).
public final class JSONLinesEventWriter: RunObserver, @unchecked Sendable {
    private let handle: FileHandle
    private let redactor: Redactor
    private let lock = NSLock()
    private let closeOnDeinit: Bool
    /// The item key of each `for_each` instance, by node id: written as the event's `item`.
    private let items: [String: String]

    /// `path` "-" is standard output. `items`: the key of each `for_each` instance by node id
    /// (`Plan.itemKeys`), added to that instance's events as `item`.
    public init(path: String, redactor: Redactor, items: [String: String] = [:]) throws {
        self.redactor = redactor
        self.items = items
        if path == "-" {
            handle = FileHandle.standardOutput
            closeOnDeinit = false
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let opened = FileHandle(forWritingAtPath: path) else {
                throw ExecutionError(
                    "cannot open the events file '\(path)' for writing; check the directory exists and is writable")
            }
            opened.seekToEndOfFile()
            handle = opened
            closeOnDeinit = true
        }
    }

    deinit { if closeOnDeinit { try? handle.close() } }

    public func record(_ event: RunEvent, runID: String) {
        guard let text = Self.line(event, runID: runID, at: Date(), items: items, redactor: redactor) else { return }
        let line = text + "\n"
        lock.lock()
        defer { lock.unlock() }
        // A reader that went away (`--events - | head -1`) leaves the run going, journaled.
        StandardStream.write(Data(line.utf8), to: handle.fileDescriptor)
    }

    /// One event as its JSON line (without the newline), keys sorted.
    ///
    /// The payload's values (and the item key) are masked before they are encoded; keys, the
    /// envelope (`v`, `ts`, `run`, `type`) and the JSON structure are not, so a short secret
    /// cannot break a line.
    static func line(
        _ event: RunEvent, runID: String, at ts: Date, items: [String: String] = [:], redactor: Redactor = .none
    ) -> String? {
        var object: [String: Any] = ["v": 1, "ts": JournalTimestamp.format(ts), "run": runID, "type": event.type]
        // Added in v1 without a version change: a field more, none renamed.
        if let step = event.step, let key = items[step] { object["item"] = redactor.redact(key) }
        for (key, value) in event.allFields where object[key] == nil { object[key] = redactor.redact(value) }
        // Added in v1 without a version change: `data`, the same payload with its JSON types
        // (numbers, booleans and lists as such; the fields above stay text, as v1 wrote them).
        if let typed = typedPayload(event.payload, redactor: redactor) { object["data"] = typed }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension JSONLinesEventWriter {
    /// The payload encoded with its types (dates as journal timestamps), every string masked.
    static func typedPayload(_ payload: any RunEventPayload, redactor: Redactor) -> [String: Any]? {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(JournalTimestamp.format(date))
        }
        guard let data = try? encoder.encode(payload),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        func masked(_ value: Any) -> Any {
            switch value {
            case let text as String: return redactor.redact(text)
            case let list as [Any]: return list.map(masked)
            case let map as [String: Any]: return map.mapValues(masked)
            default: return value
            }
        }
        return object.mapValues(masked)
    }
}

/// An error of the execution layer that already says what to do.
public struct ExecutionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
