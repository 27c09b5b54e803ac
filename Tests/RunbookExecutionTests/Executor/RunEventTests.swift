import Foundation
import RunbookCore
import Testing

@testable import RunbookExecution

/// Typed events keep the journal's payloads (hash-chained) and the `--events` stream (`v: 1`)
/// exactly as the string-keyed events wrote them.
@Suite struct RunEventTests {
    static let reached = Date(timeIntervalSince1970: 1_795_598_102.25)

    /// Every event type, with the type, step, host and payloadJSON the string-keyed events journaled.
    static let cases: [(RunEvent, String, String?, String?, String)] = [
        (
            .runStarted(.init(runbook: "rb", inventory: "inv", mode: "planned", planHash: "sha256:x")), "run.started",
            nil, nil, #"{"inventory":"inv","mode":"planned","plan_hash":"sha256:x","runbook":"rb"}"#
        ),
        (.runResumed(.init(previousStatus: .parked)), "run.resumed", nil, nil, #"{"previous_status":"parked"}"#),
        (
            .runStopping(.init(signal: 15, graceSeconds: 10)), "run.stopping", nil, nil,
            #"{"grace_seconds":"10","signal":"15"}"#
        ),
        (
            .runFinished(.init(status: .failed, exitCode: 1)), "run.finished", nil, nil,
            #"{"exit_code":"1","status":"failed"}"#
        ),
        (
            .runParked(.init(status: .parked, exitCode: 4)), "run.parked", nil, nil,
            #"{"exit_code":"4","status":"parked"}"#
        ),
        (
            .preconditionPassed(.init(step: "p", host: "h", summary: "ok")), "precondition.passed", "p", "h",
            #"{"summary":"ok"}"#
        ),
        (
            .preconditionFailed(.init(step: "p", host: "h", summary: "no")), "precondition.failed", "p", "h",
            #"{"summary":"no"}"#
        ),
        (
            .stepStarted(.init(step: "s@h", host: "h", actionType: "shell")), "step.started", "s@h", "h",
            #"{"type":"shell"}"#
        ),
        (
            .stepRetry(.init(step: "s", host: "h", attempt: 2, of: 3, afterSeconds: 2, error: "busy")), "step.retry",
            "s",
            "h", #"{"after_seconds":"2.0","attempt":"2","error":"busy","of":"3"}"#
        ),
        (
            .stepFinished(.init(step: "s", host: "h", state: .succeeded, summary: "run ok")), "step.finished", "s", "h",
            #"{"state":"succeeded","summary":"run ok"}"#
        ),
        (
            .stepFinished(.init(step: "s", host: "h", state: .failed, error: "boom")), "step.finished", "s", "h",
            #"{"error":"boom","state":"failed"}"#
        ),
        (
            .stepFinished(.init(step: "s", host: "h", state: .cancelled)), "step.finished", "s", "h",
            #"{"state":"cancelled"}"#
        ),
        (.stepSkipped(.init(step: "s", host: "h", reason: "when")), "step.skipped", "s", "h", #"{"reason":"when"}"#),
        (
            .stepVerified(.init(step: "s", host: "h", summary: "done")), "step.verified", "s", "h",
            #"{"summary":"done"}"#
        ),
        (
            .gateWaiting(
                .init(
                    step: "g", host: "localhost", gate: .approval, firstReached: reached, prompt: "Go?",
                    answerWith: "runbook approve R g --by NAME --reason TEXT")), "gate.waiting", "g", "localhost",
            #"{"answer_with":"runbook approve R g --by NAME --reason TEXT","first_reached":"2026-11-25T09:15:02.250Z","#
                + #""gate":"approval","prompt":"Go?"}"#
        ),
        (
            .gateWaiting(.init(step: "g", host: "h", gate: .until, firstReached: reached)), "gate.waiting", "g", "h",
            #"{"first_reached":"2026-11-25T09:15:02.250Z","gate":"until"}"#
        ),
        (
            .gatePoll(
                .init(
                    step: "g", host: "h", poll: 3, condition: "x == 1", holds: false, observed: "exited 0",
                    outputs: #"{"x":0}"#)), "gate.poll", "g", "h",
            #"{"condition":"x == 1","holds":"false","observed":"exited 0","outputs":"{\"x\":0}","poll":"3"}"#
        ),
        (
            .gatePoll(.init(step: "g", host: "h", poll: 1, error: "h is unreachable: refused")), "gate.poll", "g", "h",
            #"{"error":"h is unreachable: refused","poll":"1"}"#
        ),
        (
            .approval(.init(step: "g", host: "h", decision: .approved, by: "al", reason: "ok", planHash: "sha256:p")),
            "approval", "g", "h", #"{"by":"al","decision":"approved","plan_hash":"sha256:p","reason":"ok"}"#
        ),
        (
            .approval(
                .init(
                    step: "g", decision: .rejected, by: "al", reason: "no", planHash: "p", via: "runbook approve")),
            "approval", "g", nil,
            #"{"by":"al","decision":"rejected","plan_hash":"p","reason":"no","via":"runbook approve"}"#
        ),
        (
            .rollbackStarted(.init(reason: "step x failed", steps: ["c", "b@h"], stopsAt: nil)), "rollback.started",
            nil, nil, #"{"reason":"step x failed","steps":"c,b@h","stops_at":""}"#
        ),
        (
            .rollbackStarted(.init(reason: "r", steps: [], stopsAt: "go")), "rollback.started", nil, nil,
            #"{"reason":"r","steps":"","stops_at":"go"}"#
        ),
        (
            .rollbackSkipped(.init(step: "s", host: "h", reason: "irreversible: cannot be undone")), "rollback.skipped",
            "s", "h", #"{"reason":"irreversible: cannot be undone"}"#
        ),
        (
            .rollbackFinished(.init(undone: ["c", "b"], failed: 1, stoppedAt: "go")), "rollback.finished", nil, nil,
            #"{"failed":"1","stopped_at":"go","undone":"c,b"}"#
        ),
        (.undoStarted(.init(step: "s", host: "h", undo: "rm x")), "undo.started", "s", "h", #"{"undo":"rm x"}"#),
        (
            .runBudgetExceeded(
                .init(budget: "max_failed: 1", items: ["s1", "s3"], running: 2, summary: "max_failed: 1 exceeded")),
            "run.budget_exceeded", nil, nil,
            #"{"budget":"max_failed: 1","items":"s1,s3","running":"2","summary":"max_failed: 1 exceeded"}"#
        ),
        (.undoFinished(.init(step: "s", host: "h", state: .undone)), "undo.finished", "s", "h", #"{"state":"undone"}"#),
        (
            .notifySent(
                .init(
                    step: "go-ahead", sink: "ops-chat", event: "gate.waiting", attempts: 1, seconds: 0.25,
                    detail: "HTTP 200")
            ),
            "notify.sent", "go-ahead", nil,
            #"{"attempts":"1","detail":"HTTP 200","event":"gate.waiting","seconds":"0.25","sink":"ops-chat"}"#
        ),
        (
            .notifyFailed(
                .init(
                    step: nil, sink: "pager", event: "run.failed", attempts: 3, seconds: 4.5,
                    detail:
                        "attempt 1: connection refused; attempt 2: connection refused; attempt 3: connection refused")),
            "notify.failed", nil, nil,
            #"{"attempts":"3","detail":"attempt 1: connection refused; attempt 2: connection refused; attempt 3: connection refused","event":"run.failed","seconds":"4.5","sink":"pager"}"#
        ),
        (
            .undoFinished(.init(step: "s", host: "h", state: .undoFailed, error: "e")), "undo.finished", "s", "h",
            #"{"error":"e","state":"undoFailed"}"#
        ),
        (
            .approvalRefused(
                .init(
                    step: "go", approval: 3, by: "alice@example.org", kind: "duplicated", reason: "duplicated: ...",
                    fingerprint: "SHA256:abc")), "approval.refused", "go", nil,
            #"{"approval":"3","by":"alice@example.org","fingerprint":"SHA256:abc","kind":"duplicated","reason":"duplicated: ..."}"#
        ),
        (
            .epochRead(.init(basis: 6, epoch: 7, known: nil, readings: "mark[gv0] volume gv0 on b1: epoch 6")),
            "epoch.read", nil, nil, #"{"basis":"6","epoch":"7","readings":"mark[gv0] volume gv0 on b1: epoch 6"}"#
        ),
        (
            .epochRefused(
                .init(
                    step: "mark[gv0]", host: "b1", action: "resume", held: 7, authority: "secondary", runEpoch: 6,
                    reason: "split brain: ...")), "epoch.refused", "mark[gv0]", "b1",
            #"{"action":"resume","authority":"secondary","held":"7","reason":"split brain: ...","run_epoch":"6"}"#
        ),
    ]

    @Test func everyEventJournalsTheSameTypeStepHostAndPayloadAsBefore() throws {
        for (event, type, step, host, payload) in Self.cases {
            #expect(event.type == type)
            #expect(event.step == step, "\(type)")
            #expect(event.host == host, "\(type)")
            #expect(EventChain.canonicalPayload(event.fields) == payload, "\(type)")
        }
    }

    @Test func everyEventReadsBackFromTheJournalAsItWasWritten() throws {
        for (event, _, _, _, _) in Self.cases {
            let decoded = try RunEvent(type: event.type, step: event.step, host: event.host, fields: event.fields)
            #expect(decoded == event, "\(event.type)")
        }
        #expect(try RunEvent(type: "future.thing", step: nil, host: nil, fields: [:]) == nil)
        #expect(throws: (any Error).self) {
            try RunEvent(type: "step.retry", step: "s", host: "h", fields: ["attempt": "two", "of": "3"])
        }
    }

    @Test func everyEventTypeIsCovered() {
        let types = Set(Self.cases.map(\.1))
        #expect(types.count == 26)
    }

    @Test func theStreamKeepsItsFieldNamesAndVersion() throws {
        let at = Date(timeIntervalSince1970: 1_795_598_102)
        let started = JSONLinesEventWriter.line(
            .stepStarted(.init(step: "s@h", host: "h", actionType: "shell")), runID: "R", at: at)
        // The envelope's `type` wins over the payload's (as the string-keyed writer did).
        // v1's fields as they were (text), and `data`, added: the payload with its types (issue 19).
        #expect(
            started
                == #"{"data":{"host":"h","step":"s@h","type":"shell"},"#
                + #""host":"h","run":"R","step":"s@h","ts":"2026-11-25T09:15:02.000Z","type":"step.started","v":1}"#)
        let retry = JSONLinesEventWriter.line(
            .stepRetry(.init(step: "s", host: "h", attempt: 2, of: 3, afterSeconds: 0.5, error: "a/b")), runID: "R",
            at: at)
        #expect(
            retry == #"{"after_seconds":"0.5","attempt":"2","#
                + #""data":{"after_seconds":0.5,"attempt":2,"error":"a/b","host":"h","of":3,"step":"s"},"#
                + #""error":"a/b","host":"h","of":"3","run":"R","step":"s","#
                + #""ts":"2026-11-25T09:15:02.000Z","type":"step.retry","v":1}"#)
        let finished = JSONLinesEventWriter.line(
            .runFinished(.init(status: .succeeded, exitCode: 0)), runID: "R", at: at)
        #expect(
            finished == #"{"data":{"exit_code":0,"status":"succeeded"},"#
                + #""exit_code":"0","run":"R","status":"succeeded","ts":"2026-11-25T09:15:02.000Z","#
                + #""type":"run.finished","v":1}"#)
    }

    @Test func aJournaledEventDecodesTyped() throws {
        let record = EventRecord(
            runID: "R", seq: 1, ts: Date(), type: "undo.finished", step: "s", host: "h",
            payloadJSON: #"{"error":"e","state":"undoFailed"}"#, prevHash: "", hash: "")
        #expect(record.event == .undoFinished(.init(step: "s", host: "h", state: .undoFailed, error: "e")))
    }
}
