import Crypto
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookRuntime
import RunbookTestSupport
import Testing

@testable import RunbookCLI

/// `notify:` sinks told by real runs on a local host: webhooks received by a real HTTP server on
/// loopback (Python's `http.server`), commands run for real; every delivery journaled; a sink that
/// hangs, refuses or fails changes neither the run's outcome nor its exit code.
@Suite(.serialized) struct NotifyRunTests {
    static let key = "hook-key-5f1c"
    static let token = "tok-7c2e-secret"

    /// A runbook with a secret param shown in its gate's prompt, one step, and the gate.
    static let gated = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: failover}
        params:
          token: {type: string, secret: true, from_env: NOTIFY_TOKEN}
        steps:
          - id: prepare
            probe: command
            with: {run: [echo, ready]}
          - id: go-ahead
            needs: [prepare]
            gate: {approval: {prompt: "Promote site B with token ${{ params.token }}?", timeout: 1h}}
        """

    /// The local inventory with `notify:` (its lines, indented under `notify:`).
    static func inventory(_ sinks: String) -> String {
        TestDocuments.localInventory() + "\nnotify:\n" + sinks
    }

    /// A command sink's program: each event's stdin and `RUNBOOK_*` environment into `DIR/EVENT.*`.
    static func recorder(_ scratch: Scratch) throws -> (program: String, directory: String) {
        let directory = scratch.work + "/told"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let program = try scratch.write(
            "record-event.sh",
            """
            #!/bin/sh
            cat > "\(directory)/$RUNBOOK_EVENT.json"
            env | grep '^RUNBOOK_' | sort > "\(directory)/$RUNBOOK_EVENT.env"
            """)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        return (program, directory)
    }

    func receiver(_ scratch: Scratch) throws -> WebhookReceiver {
        try #require(WebhookReceiver.available, "python3 is not installed: the webhook tests need http.server")
        return try WebhookReceiver(directory: scratch.work)
    }

    func deliveries(_ scratch: Scratch, _ runID: String) throws -> [(type: String, at: Date, RunEvent.NotifyDelivery)] {
        try scratch.journal().events(runID: runID).compactMap { record in
            switch record.event {
            case .notifySent(let d)?: return (record.type, record.ts, d)
            case .notifyFailed(let d)?: return (record.type, record.ts, d)
            default: return nil
            }
        }
    }

    func journaled(_ scratch: Scratch, _ runID: String, _ type: String) throws -> Date? {
        try scratch.journal().events(runID: runID).first { $0.type == type }?.ts
    }

    @Test func aWaitingGateAndTheParkedRunReachAWebhookSignedAndACommand() async throws {
        let scratch = try Scratch()
        let server = try receiver(scratch)
        defer { server.stop() }
        let recorder = try Self.recorder(scratch)
        let file = try scratch.write("r.yaml", Self.gated)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: ops-chat
                    webhook: {url: "\(server.base)/hooks/ops", secret_env: NOTIFY_HOOK_KEY}
                    events: [gate.waiting, run.parked]
                  - name: recorder
                    command: [\(recorder.program)]
                    events: [gate.waiting]
                """))
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_HOOK_KEY"] = Self.key
        environment["NOTIFY_TOKEN"] = Self.token
        let run = try InProcessRun(scratch, environment: environment)
        let end = try await run.start(file, inventory: inventory)
        #expect(end.exitCode == 4, "parked at the gate: \(end.outcome)")
        let runID = end.runID

        let requests = server.requests
        // One sink hears of events in the order they happened.
        #expect(requests.map { $0.json["event"] as? String } == ["gate.waiting", "run.parked"], "\(requests)")
        let waiting = try #require(requests.first)
        #expect(waiting.path == "/hooks/ops")
        #expect(waiting.headers["content-type"] == "application/json")
        #expect(waiting.headers["x-runbook-event"] == "gate.waiting")
        // The signature is the HMAC-SHA256 of the body as received, under the sink's key.
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data(waiting.body.utf8), using: SymmetricKey(data: Data(Self.key.utf8)))
        #expect(waiting.headers["x-runbook-signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        let body = waiting.json
        #expect(body["run"] as? String == runID)
        #expect(body["runbook"] as? String == "failover")
        #expect(body["step"] as? String == "go-ahead")
        #expect(body["prompt"] as? String == "Promote site B with token ***?", "the secret is masked: \(body)")
        #expect((body["approve_command"] as? String)?.contains("runbook approve \(runID) go-ahead") == true, "\(body)")
        #expect(body["on_timeout"] as? String == "abort")
        let deadline = try #require(body["deadline"] as? String)
        let text = try #require(body["text"] as? String)
        #expect(text.contains("gate go-ahead is waiting for approval: Promote site B with token ***?"), "\(text)")
        #expect(text.contains("It times out at \(deadline)"), "\(text)")
        #expect(text.contains("Answer with: runbook approve \(runID) go-ahead"), "\(text)")
        for request in requests {
            #expect(!request.body.contains(Self.token), "no secret in any body: \(request.body)")
            #expect(!request.body.contains(Self.key))
        }
        // Delivered within 5 s of the event it tells of.
        let gateAt = try #require(try journaled(scratch, runID, "gate.waiting"))
        #expect(waiting.at.timeIntervalSince(gateAt) < 5, "gate.waiting at \(gateAt), received at \(waiting.at)")
        let parkedAt = try #require(try journaled(scratch, runID, "run.parked"))
        #expect(requests[1].at.timeIntervalSince(parkedAt) < 5)
        let parkedText = try #require(requests[1].json["text"] as? String)
        #expect(parkedText.contains("parked at go-ahead (exit 4)"), "\(parkedText)")

        // The command got the same body on stdin, and the variables.
        let told = try String(contentsOfFile: recorder.directory + "/gate.waiting.json", encoding: .utf8)
        let commandBody = try #require(try JSONSerialization.jsonObject(with: Data(told.utf8)) as? [String: Any])
        #expect(commandBody["event"] as? String == "gate.waiting" && commandBody["run"] as? String == runID)
        #expect(!told.contains(Self.token))
        let env = try String(contentsOfFile: recorder.directory + "/gate.waiting.env", encoding: .utf8)
        #expect(env.contains("RUNBOOK_EVENT=gate.waiting") && env.contains("RUNBOOK_RUN_ID=\(runID)"), "\(env)")
        #expect(env.contains("RUNBOOK_STEP=go-ahead") && env.contains("RUNBOOK_PROMPT=Promote site B with token ***?"))

        // Each delivery is journaled with its sink.
        let journaled = try deliveries(scratch, runID)
        #expect(
            Set(journaled.map { "\($0.type) \($0.2.sink) \($0.2.event)" }) == [
                "notify.sent ops-chat gate.waiting", "notify.sent recorder gate.waiting",
                "notify.sent ops-chat run.parked",
            ], "\(journaled)")
        #expect(journaled.allSatisfy { $0.2.attempts == 1 })
        #expect(run.printed.all.contains("notified ops-chat of gate.waiting (HTTP 200)"), "\(run.printed.all)")
        // Answered and resumed: the gate, reached again, is not announced again.
        try run.approve(runID, gate: "go-ahead", by: "alice", reason: "CHG-1")
        let resumed = try await run.resume(runID)
        #expect(resumed.exitCode == 0, "\(resumed.outcome)")
        #expect(server.requests.count == 2, "no second gate.waiting: \(server.requests.map(\.body))")
        // `show` lists them, and so does the report.
        let shown = RunReportText.render(
            try RunReport.load(try #require(try scratch.journal().run(id: runID)), from: try scratch.journal()),
            color: false)
        #expect(shown.contains("notifications (3):"), "\(shown)")  // the resume told nobody
        #expect(shown.contains("ops-chat: gate.waiting (go-ahead) sent in "), "\(shown)")
        let page = try run.report(runID, format: .html)
        #expect(page.contains("<section id=\"notifications\">") && page.contains("data-sink=\"recorder\""))
    }

    @Test func aSucceededRunCarriesItsMeasuredObjectivesAndAMissedOneIsToldApart() async throws {
        let scratch = try Scratch()
        let server = try receiver(scratch)
        defer { server.stop() }
        let file = try scratch.write("r.yaml", ObjectiveRunTests.runbook(rtoMax: "100ms", rpoMax: "10m"))
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: drills
                    webhook: {url: "\(server.base)/drills"}
                    events: [run.succeeded, objective.missed, run.failed]
                """))
        let end = try await InProcessRun(scratch).start(file, inventory: inventory, approve: ["go"])
        #expect(end.exitCode == 6, "rto missed: \(end.outcome)")
        let requests = server.requests
        // Deliveries go at once, each on its own: they may arrive in either order.
        let byEvent = Dictionary(grouping: requests) { $0.json["event"] as? String ?? "" }
        #expect(byEvent.keys.sorted() == ["objective.missed", "run.succeeded"], "\(requests)")
        #expect(byEvent.values.allSatisfy { $0.count == 1 }, "each once: \(requests)")
        let missed = try #require(byEvent["objective.missed"]?.first?.json)
        let missedObjective = try #require((missed["objectives"] as? [[String: Any]])?.first)
        #expect(missedObjective["name"] as? String == "rto" && missedObjective["met"] as? Bool == false)
        #expect(((missed["text"] as? String) ?? "").contains("objective rto missed: measured "), "\(missed)")
        let succeeded = try #require(byEvent["run.succeeded"]?.first?.json)
        #expect(succeeded["status"] as? String == "succeeded" && succeeded["exit_code"] as? Int == 6)
        let objectives = try #require(succeeded["objectives"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: objectives.map { ($0["name"] as? String ?? "", $0) })
        let rto = try #require(byName["rto"])
        #expect((rto["value"] as? Double ?? 0) >= 1, "the step slept 1 s: \(rto)")
        #expect(rto["unit"] as? String == "seconds" && rto["max_value"] as? Double == 0.1)
        let rpo = try #require(byName["rpo"])
        #expect(rpo["met"] as? Bool == true && rpo["value"] is Double, "\(rpo)")
        let text = try #require(succeeded["text"] as? String)
        #expect(text.contains("succeeded but missed an objective (exit 6)"), "\(text)")
        #expect(text.contains("rto ") && text.contains("(at most 100ms, missed)"), "\(text)")
    }

    @Test func aFailedPreconditionAndTheFailedRunAreTold() async throws {
        let scratch = try Scratch()
        let recorder = try Self.recorder(scratch)
        let file = try scratch.write(
            "r.yaml",
            TestDocuments.runbookHeader(name: "failover") + """
                preconditions:
                  - id: keys-present
                    probe: command
                    with: {run: [test, -e, /nonexistent/key]}
                    expect: "outputs.exit_code == 0"
                    message: "the geo-rep key is missing"
                steps:
                  - id: prepare
                    probe: command
                    with: {run: [echo, ready]}
                """)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: pager
                    command: [\(recorder.program)]
                    events: [precondition.failed, run.failed]
                """))
        let end = try await InProcessRun(scratch).start(file, inventory: inventory)
        #expect(end.exitCode == 3, "\(end.outcome)")
        let precondition = try String(
            contentsOfFile: recorder.directory + "/precondition.failed.json", encoding: .utf8)
        #expect(precondition.contains(#""step":"keys-present""#), "\(precondition)")
        #expect(precondition.contains("the geo-rep key is missing"), "\(precondition)")
        let failed = try String(contentsOfFile: recorder.directory + "/run.failed.json", encoding: .utf8)
        #expect(failed.contains(#""exit_code":3"#) && failed.contains(#""status":"failed""#), "\(failed)")
        let sent = try deliveries(scratch, end.runID).filter { $0.type == "notify.sent" }.map(\.2.event)
        #expect(Set(sent) == ["precondition.failed", "run.failed"], "\(sent)")
    }

    @Test func aRolledBackRunIsTold() async throws {
        let scratch = try Scratch()
        let recorder = try Self.recorder(scratch)
        let file = try scratch.write(
            "r.yaml",
            TestDocuments.runbookHeader(name: "failover") + """
                on_failure: rollback
                steps:
                  - id: change
                    action: shell
                    with: {run: [echo, changed]}
                    undo: {action: shell, with: {run: [echo, undone]}}
                  - id: breaks
                    needs: [change]
                    action: shell
                    with: {run: [sh, -c, "exit 3"]}
                    undo: {action: shell, with: {run: [echo, nothing]}}
                """)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: pager
                    command: [\(recorder.program)]
                    events: [run.rolled_back, run.failed, run.succeeded]
                """))
        let end = try await InProcessRun(scratch).start(file, inventory: inventory)
        #expect(end.outcome.status == .rolledBack, "\(end.outcome)")
        let told = try FileManager.default.contentsOfDirectory(atPath: recorder.directory).sorted()
        #expect(told == ["run.rolled_back.env", "run.rolled_back.json"], "\(told)")
        let body = try String(contentsOfFile: recorder.directory + "/run.rolled_back.json", encoding: .utf8)
        #expect(body.contains(#""status":"rolledBack""#), "\(body)")
    }

    @Test func runbookRollbackOfASucceededRunIsToldAsRolledBack() async throws {
        let scratch = try Scratch()
        let recorder = try Self.recorder(scratch)
        let file = try scratch.write(
            "r.yaml",
            TestDocuments.runbookHeader(name: "failover") + """
                steps:
                  - id: change
                    action: shell
                    with: {run: [echo, changed]}
                    undo: {action: shell, with: {run: [echo, undone]}}
                """)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: pager
                    command: [\(recorder.program)]
                    events: [run.rolled_back, run.succeeded]
                """))
        let run = try InProcessRun(scratch)
        let end = try await run.start(file, inventory: inventory)
        #expect(end.exitCode == 0, "\(end.outcome)")
        let rolled = try await run.rollback(end.runID)
        #expect(rolled.result?.failed.isEmpty == true)
        let told = try FileManager.default.contentsOfDirectory(atPath: recorder.directory).filter {
            $0.hasSuffix(".json")
        }
        #expect(told.sorted() == ["run.rolled_back.json", "run.succeeded.json"], "\(told)")
        let body = try String(contentsOfFile: recorder.directory + "/run.rolled_back.json", encoding: .utf8)
        #expect(body.contains("runbook rollback of run \(end.runID)"), "\(body)")
        let sent = try deliveries(scratch, end.runID).map { "\($0.type) \($0.2.event)" }
        #expect(sent == ["notify.sent run.succeeded", "notify.sent run.rolled_back"], "\(sent)")
    }

    @Test func aHangingARefusingAndAFailingSinkNeverChangeTheOutcomeAndHoldTheRunAtMostTheirTimeout() async throws {
        let scratch = try Scratch()
        let server = try receiver(scratch)
        defer { server.stop() }
        let file = try scratch.write(
            "r.yaml",
            TestDocuments.runbookHeader(name: "drill") + """
                steps:
                  - id: work
                    probe: command
                    with: {run: [echo, done]}
                """)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: hangs
                    webhook: {url: "\(server.base)/hang"}
                    events: [run.succeeded]
                    timeout: 3s
                  - name: refuses
                    webhook: {url: "\(WebhookReceiver.refusingURL())"}
                    events: [run.succeeded]
                    timeout: 3s
                  - name: fails
                    webhook: {url: "\(server.base)/fail"}
                    events: [run.succeeded]
                    attempts: 2
                  - name: no-such-program
                    command: [/nonexistent/notify]
                    events: [run.succeeded]
                  - name: unsigned
                    webhook: {url: "\(server.base)/never", secret_env: NOTIFY_UNSET_KEY}
                    events: [run.succeeded]
                """))
        let started = Date()
        let end = try await InProcessRun(scratch).start(file, inventory: inventory)
        let took = Date().timeIntervalSince(started)
        #expect(end.exitCode == 0 && end.outcome == .succeeded, "\(end.outcome)")
        // Every sink is tried at once: the run waits for the slowest, the hanging one's 3 s (the
        // rest of the run takes well under a second here; 8 s leaves room for a busy machine).
        #expect(took < 3 + 5, "the run took \(took) s with a sink that hangs for 60 s")
        let journaled = try deliveries(scratch, end.runID)
        let bySink = Dictionary(uniqueKeysWithValues: journaled.map { ($0.2.sink, $0) })
        #expect(journaled.allSatisfy { $0.type == "notify.failed" }, "\(journaled)")
        let hangs = try #require(bySink["hangs"]?.2)
        #expect(hangs.detail.contains("no answer within 3s"), "\(hangs)")
        #expect(hangs.seconds <= 3.5, "\(hangs)")
        let refuses = try #require(bySink["refuses"]?.2)
        #expect(refuses.attempts == 3 && refuses.detail.contains("attempt 3: connection refused"), "\(refuses)")
        let fails = try #require(bySink["fails"]?.2)
        #expect(fails.attempts == 2 && fails.detail.contains("attempt 2: HTTP 500"), "\(fails)")
        #expect(server.requests.filter { $0.path == "/fail" }.count == 2, "retried once")
        let missing = try #require(bySink["no-such-program"]?.2)
        #expect(
            missing.attempts == 1 && missing.detail == "/nonexistent/notify: no such program (in PATH or as a path)",
            "not retried: \(missing)")
        let unsigned = try #require(bySink["unsigned"]?.2)
        #expect(unsigned.detail.contains("environment variable NOTIFY_UNSET_KEY is not set"), "\(unsigned)")
        #expect(unsigned.attempts == 0, "nothing was tried: \(unsigned)")
        #expect(!server.requests.contains { $0.path == "/never" }, "never sent unsigned")
        let record = try #require(try scratch.journal().run(id: end.runID))
        #expect(record.status == .succeeded && record.exitCode == 0)
        let shown = RunReportText.render(try RunReport.load(record, from: try scratch.journal()), color: false)
        #expect(shown.contains("hangs: run.succeeded NOT SENT after 1 attempt in 3."), "\(shown)")
        #expect(shown.contains("no answer within 3s (the sink's timeout)"), "\(shown)")
        #expect(shown.contains("refuses: run.succeeded NOT SENT after 3 attempts in "), "\(shown)")
    }

    @Test func aSinkThatHangsOnOneEventHoldsTheRunItsTimeoutInTotalNotOncePerEvent() async throws {
        let scratch = try Scratch()
        let server = try receiver(scratch)
        defer { server.stop() }
        let file = try scratch.write("r.yaml", Self.gated)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: hangs
                    webhook: {url: "\(server.base)/hang"}
                    events: [gate.waiting, run.parked]
                    timeout: 3s
                """))
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_TOKEN"] = Self.token
        let started = Date()
        let end = try await InProcessRun(scratch, environment: environment).start(file, inventory: inventory)
        let took = Date().timeIntervalSince(started)
        #expect(end.exitCode == 4, "\(end.outcome)")
        // gate.waiting hangs for its 3 s; run.parked, behind it, has what is left of its own 3 s.
        #expect(took < 3 + 4, "the run took \(took) s; two events, one sink of timeout 3s")
        let journaled = try deliveries(scratch, end.runID)
        #expect(journaled.map(\.2.event) == ["gate.waiting", "run.parked"], "\(journaled)")
        #expect(journaled.allSatisfy { $0.type == "notify.failed" && $0.2.seconds <= 3.5 }, "\(journaled)")
    }

    @Test func anHTTPSSinkWhoseCertificateNobodySignedIsRefusedNotTrusted() async throws {
        let scratch = try Scratch()
        try #require(WebhookReceiver.available, "python3 is not installed: the webhook tests need http.server")
        let server = try WebhookReceiver(directory: scratch.work, selfSignedTLS: true)
        defer { server.stop() }
        let file = try scratch.write(
            "r.yaml",
            TestDocuments.runbookHeader(name: "drill") + """
                steps:
                  - id: work
                    probe: command
                    with: {run: [echo, done]}
                """)
        let inventory = try scratch.write(
            "i.yaml",
            Self.inventory(
                """
                  - name: chat
                    webhook: {url: "\(server.base)/hooks"}
                    events: [run.succeeded]
                    attempts: 1
                """))
        let end = try await InProcessRun(scratch).start(file, inventory: inventory)
        #expect(end.exitCode == 0, "\(end.outcome)")
        let journaled = try deliveries(scratch, end.runID)
        #expect(journaled.map(\.type) == ["notify.failed"], "\(journaled)")
        #expect(
            journaled.first?.2.detail.hasPrefix("TLS: the server's certificate was not accepted") == true,
            "\(journaled)")
        #expect(server.requests.isEmpty, "nothing was sent over the unverified connection: \(server.requests)")
    }
}
