import Foundation
import RunbookExecution

// MARK: - JSON

public enum RunReportJSON {
    /// `show --format json`: version 2, keys snake_case as in the plan JSON and the `--events`
    /// stream (version 1 had them camelCase: `exitCode`, now `exit_code`). The rehearsal report's
    /// JSON (`report --format json`, version 1) keeps its camelCase keys.
    public static func render(_ report: RunReport) -> String {
        let object: [String: Any] = [
            "version": 2,
            "run": run(report.run, now: report.now),
            "steps": report.steps.map(step),
            "attempts": report.attempts.map(attempt),
            "approvals": report.approvals.map { approval($0, refused: report.refusedApprovals) },
            "events": report.events.map(event),
            "notifications": report.notifications.map(notification),
            "chain": chain(report.chain, eventCount: report.events.count),
        ]
        let data =
            (try? JSONSerialization.data(
                withJSONObject: snakeCased(object), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The journal's values a document embeds as they were stored: their keys are not this
    /// document's (a probe's outputs, params, an event's payload), so they are left as they are.
    static let embeddedKeys: Set<String> = ["params", "observed", "outputs", "payload"]

    /// `exitCode` -> `exit_code`, in every key of this document's own maps.
    static func snakeCased(_ value: Any) -> Any {
        switch value {
        case let map as [String: Any]:
            var out: [String: Any] = [:]
            for (key, inner) in map {
                out[snakeCase(key)] = embeddedKeys.contains(key) ? inner : snakeCased(inner)
            }
            return out
        case let list as [Any]:
            return list.map(snakeCased)
        default:
            return value
        }
    }

    static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    static func date(_ date: Date?) -> Any {
        date.map(JournalTimestamp.format) ?? NSNull()
    }

    static func optional(_ value: Any?) -> Any { value ?? NSNull() }

    /// Stored JSON text as a JSON value; text that is not JSON stays a string.
    static func embedded(_ text: String?) -> Any {
        guard let text else { return NSNull() }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }

    static func seconds(_ start: Date?, _ end: Date?) -> Any {
        guard let start, let end else { return NSNull() }
        return (end.timeIntervalSince(start) * 1000).rounded() / 1000
    }

    static func run(_ run: RunRecord, now: Date) -> [String: Any] {
        [
            "id": run.id,
            "runbook": run.runbookName,
            "runbookPath": run.runbookPath,
            "inventory": run.inventoryName,
            "inventoryPath": run.inventoryPath,
            "mode": run.mode,
            "status": run.status.rawValue,
            "exitCode": optional(run.exitCode),
            "params": embedded(run.paramsJSON),
            "planHash": run.planHash,
            "pid": Int(run.pid),
            "hostname": run.hostname,
            "startedAt": date(run.startedAt),
            "updatedAt": date(run.updatedAt),
            "finishedAt": date(run.finishedAt),
            "durationSeconds": seconds(run.startedAt, run.finishedAt),
        ]
    }

    static func step(_ step: StepRecord) -> [String: Any] {
        [
            "node": step.nodeID,
            "step": step.stepID,
            "host": optional(step.host),
            "state": step.state.rawValue,
            "changed": step.changed,
            "completionSeq": optional(step.completionSeq),
            "observed": embedded(step.observedJSON),
            "outputs": embedded(step.outputsJSON),
            "error": optional(step.error),
            // Additive: the step failed (rolled back since or not); its failure, without the undo's.
            "failed": ReportText.failure(step) != nil,
            "failure": optional(ReportText.failure(step)),
            "attempts": step.attempts,
            "startedAt": date(step.startedAt),
            "finishedAt": date(step.finishedAt),
            "firstReachedAt": date(step.firstReachedAt),
            "durationSeconds": seconds(step.startedAt, step.finishedAt),
            // A `choose`: the alternative it took (1 for the first), as journaled when it was decided.
            "alternative": optional(step.chosenAlternative.map { $0 + 1 }),
        ]
    }

    static func attempt(_ attempt: AttemptRecord) -> [String: Any] {
        [
            "id": Int(attempt.id),
            "node": attempt.nodeID,
            "phase": attempt.phase.rawValue,
            "number": attempt.number,
            "intent": attempt.intent,
            "startedAt": date(attempt.startedAt),
            "finishedAt": date(attempt.finishedAt),
            "durationSeconds": seconds(attempt.startedAt, attempt.finishedAt),
            "outcome": optional(attempt.outcome),
            "inFlight": attempt.isInFlight,
            "exitCode": optional(attempt.exitCode),
            "stdout": attempt.stdoutExcerpt,
            "stderr": attempt.stderrExcerpt,
            "error": optional(attempt.error),
        ]
    }

    static func approval(_ approval: ApprovalRecord, refused: [Int64: String] = [:]) -> [String: Any] {
        let signature = RunReport.signature(approval, refused: refused)
        var object: [String: Any] = [
            "gate": approval.gate,
            "decision": approval.decision.rawValue,
            "by": approval.by,
            "reason": approval.reason,
            "planHash": approval.planHash,
            "at": date(approval.at),
            "signed": approval.isSigned,
            "verification": signature.name,
            "principal": optional(approval.principal),
            "fingerprint": optional(approval.fingerprint),
        ]
        if case .refused(let why) = signature { object["refused"] = why }
        return object
    }

    static func notification(_ n: RunReport.Notification) -> [String: Any] {
        var object: [String: Any] = [
            "sink": n.delivery.sink, "event": n.delivery.event, "sent": n.sent, "attempts": n.delivery.attempts,
            "seconds": n.delivery.seconds, "detail": n.delivery.detail, "at": date(n.at),
        ]
        object["step"] = n.delivery.step
        return object
    }

    static func event(_ event: EventRecord) -> [String: Any] {
        [
            "seq": event.seq,
            "ts": date(event.ts),
            "type": event.type,
            "step": optional(event.step),
            "host": optional(event.host),
            "payload": embedded(event.payloadJSON),
            "prevHash": event.prevHash,
            "hash": event.hash,
        ]
    }

    static func chain(_ chain: ChainVerification, eventCount: Int) -> [String: Any] {
        switch chain {
        case .ok(let count):
            return ["intact": true, "eventCount": count, "brokenAtSeq": NSNull(), "reason": NSNull()]
        case .broken(let seq, let reason):
            return ["intact": false, "eventCount": eventCount, "brokenAtSeq": seq, "reason": reason.description]
        case .rowEdited(let row):
            return [
                "intact": false, "eventCount": eventCount, "brokenAtSeq": NSNull(),
                "reason": ChainVerification.rowEditedReason(row),
            ]
        }
    }
}
