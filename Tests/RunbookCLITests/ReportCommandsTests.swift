import Foundation
import FoundationXML
import GRDB
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `runbook status`, `history`, `show` and `approve`, run as the built binary against a journal
/// written here with the Journal API.
@Suite struct ReportCommandsTests {
    let binary = PackagePaths.runbookExecutable

    // MARK: - Fixture

    /// 2025-03-01T10:00:00Z.
    static let base = Date(timeIntervalSince1970: 1_740_823_200)
    static let planHash = "sha256:4f9a2c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"
    /// Parked at the `promote` gate after a failed sync.
    static let parkedID = "20250301-100000-3f9a"
    /// Finished long ago.
    static let finishedID = "20250228-090000-aaaa"
    /// Recorded as running, but its pid does not exist.
    static let orphanID = "20250301-120000-bbbb"
    /// Running, driven by the test process itself (an alive pid), waiting at `go-ahead`.
    static let liveID = "20250301-130000-cccc"
    static let deadPID: Int32 = 2_000_000_000  // above any Linux pid_max
    static let host = RunLock.currentHostname()
    static let livePID = ProcessInfo.processInfo.processIdentifier

    static let syncError = "rsync exited with 23: connection to \"gfs-b1\" <port 22> refused\nsee the attempt's stderr"
    static let syncCommand = "rsync -a /data/ gfs-b1:/data/ && echo \"<done & dusted>\""

    /// A state directory with a journal holding the four runs above.
    final class State: @unchecked Sendable {
        let root: String
        var journalPath: String { root + "/journal.sqlite" }

        init(empty: Bool = false) throws {
            root = FileManager.default.temporaryDirectory.path + "/runbook-report-\(UUID().uuidString.prefix(8))"
            let state = try StateDirectory(root: root)
            if !empty { try ReportCommandsTests.populate(state.journalPath) }
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func journal() throws -> Journal {
            try Journal(path: journalPath, redactor: Redactor(secrets: []))
        }
    }

    static func at(_ seconds: Double) -> Date { base.addingTimeInterval(seconds) }

    /// A stored plan: wrapped as `runbook run` journals it (`{"plan": {...}, "mode": ...}`), or bare.
    static func plan(
        _ steps: [(id: String, kind: String, prompt: String?)], approvers: [String] = [], wrapped: Bool = true
    ) -> String {
        let nodes = steps.map { step -> [String: Any] in
            var node: [String: Any] = ["id": step.id, "kind": step.kind]
            if step.kind == "gate" {
                var gate: [String: Any] = ["type": "approval", "on_timeout": "rollback"]
                if let prompt = step.prompt { gate["prompt"] = prompt }
                if !approvers.isEmpty { gate["approvers"] = approvers }
                node["gate"] = gate
            }
            return node
        }
        let plan: [String: Any] = ["version": 1, "steps": nodes]
        let object: [String: Any] = wrapped ? ["plan": plan, "mode": "run", "params": [String: Any]()] : plan
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func populate(_ path: String) throws {
        let journal = try Journal(path: path, redactor: Redactor(secrets: []))
        defer { try? journal.close() }

        // The parked run: a gate passed, two steps done, a failed sync, a skipped cleanup, a waiting gate.
        try journal.createRun(
            RunRecord(
                id: parkedID, runbookName: "georep-failover", runbookPath: "/etc/runbook/georep-failover.yaml",
                inventoryName: "site-a-to-b", inventoryPath: "/etc/runbook/site-a-to-b.yaml", mode: "run",
                paramsJSON: #"{"volume":"gv0"}"#, planHash: planHash,
                planJSON: plan([
                    ("pre-flight", "gate", "Start the failover?"), ("stop-session@gfs-a1", "action", nil),
                    ("sync-status@gfs-b1", "probe", nil), ("sync@gfs-b1", "action", nil),
                    ("cleanup@gfs-a1", "action", nil),
                    ("promote", "gate", "Promote site B?"), ("final-check", "gate", nil),
                ]),
                pid: 4242, hostname: "ops-1", startedAt: base))
        let steps: [StepRecord] = [
            StepRecord(
                runID: parkedID, nodeID: "pre-flight", stepID: "pre-flight", state: .succeeded,
                startedAt: at(1), finishedAt: at(5), firstReachedAt: at(1)),
            StepRecord(
                runID: parkedID, nodeID: "stop-session@gfs-a1", stepID: "stop-session", host: "gfs-a1",
                state: .succeeded, changed: true, completionSeq: 1, attempts: 1, startedAt: at(5), finishedAt: at(7)),
            StepRecord(
                runID: parkedID, nodeID: "sync-status@gfs-b1", stepID: "sync-status", host: "gfs-b1",
                state: .succeeded, outputsJSON: #"{"lag_seconds":12,"state":"Sync in Progress"}"#, attempts: 1,
                startedAt: at(7), finishedAt: at(7.5)),
            StepRecord(
                runID: parkedID, nodeID: "sync@gfs-b1", stepID: "sync", host: "gfs-b1", state: .failed,
                error: syncError, attempts: 2, startedAt: at(8), finishedAt: at(80)),
            StepRecord(runID: parkedID, nodeID: "cleanup@gfs-a1", stepID: "cleanup", host: "gfs-a1", state: .skipped),
            StepRecord(
                runID: parkedID, nodeID: "promote", stepID: "promote", state: .waiting,
                startedAt: at(81), firstReachedAt: at(81)),
            StepRecord(runID: parkedID, nodeID: "final-check", stepID: "final-check", state: .pending),
        ]
        for step in steps { try journal.upsertStep(step) }

        let stop = try journal.beginAttempt(
            runID: parkedID, nodeID: "stop-session@gfs-a1", phase: .apply, number: 1,
            intent: "gluster volume geo-replication gv0 gfs-b1::gv0-dr stop", startedAt: at(5))
        try journal.finishAttempt(
            id: stop, outcome: AttemptOutcome.ok, exitCode: 0, stdout: "Stopping geo-replication session: success\n",
            finishedAt: at(7))
        let probe = try journal.beginAttempt(
            runID: parkedID, nodeID: "sync-status@gfs-b1", phase: .probe, number: 1,
            intent: "gluster volume geo-replication gv0 gfs-b1::gv0-dr status detail", startedAt: at(7))
        try journal.finishAttempt(
            id: probe, outcome: AttemptOutcome.ok, exitCode: 0, stdout: "Sync in Progress\n", finishedAt: at(7.5))
        let sync1 = try journal.beginAttempt(
            runID: parkedID, nodeID: "sync@gfs-b1", phase: .apply, number: 1,
            intent: syncCommand, startedAt: at(8))
        try journal.finishAttempt(
            id: sync1, outcome: AttemptOutcome.failed, exitCode: 23,
            stderr: "rsync: connection refused\nrsync error: some files could not be transferred (code 23)\n",
            error: "exit status 23", finishedAt: at(38))
        let sync2 = try journal.beginAttempt(
            runID: parkedID, nodeID: "sync@gfs-b1", phase: .apply, number: 2,
            intent: syncCommand, startedAt: at(50))
        try journal.finishAttempt(
            id: sync2, outcome: AttemptOutcome.failed, exitCode: 23,
            stderr: "rsync: connection refused\n", error: "exit status 23", finishedAt: at(80))

        try journal.write { tx in
            try tx.recordApproval(
                ApprovalRecord(
                    runID: parkedID, gate: "pre-flight", by: "bob",
                    reason: "CHG-1234 <approved> & \"go\"", planHash: planHash,
                    at: at(4), decision: .approved))
            try tx.appendEvent(runID: parkedID, type: "run.started", payload: ["mode": "run"])
            try tx.appendEvent(runID: parkedID, type: "gate.waiting", step: "pre-flight")
            try tx.appendEvent(
                runID: parkedID, type: "approval", step: "pre-flight", payload: ["by": "bob", "decision": "approved"])
            try tx.appendEvent(
                runID: parkedID, type: "step.finished", step: "stop-session", host: "gfs-a1",
                payload: ["state": "succeeded"])
            try tx.appendEvent(
                runID: parkedID, type: "step.finished", step: "sync-status", host: "gfs-b1",
                payload: ["state": "succeeded"])
            try tx.appendEvent(
                runID: parkedID, type: "step.finished", step: "sync", host: "gfs-b1", payload: ["state": "failed"])
            try tx.appendEvent(
                runID: parkedID, type: "step.finished", step: "cleanup", host: "gfs-a1", payload: ["state": "skipped"])
            try tx.appendEvent(runID: parkedID, type: "gate.waiting", step: "promote")
            try tx.appendEvent(runID: parkedID, type: "run.parked", payload: ["gate": "promote"])
            try tx.updateRun(id: parkedID, status: .parked, exitCode: 4, finishedAt: at(90))
        }

        // A finished run of another runbook, the day before.
        try journal.createRun(
            RunRecord(
                id: finishedID, runbookName: "georep-failback", runbookPath: "/etc/runbook/georep-failback.yaml",
                inventoryName: "site-b-to-a", inventoryPath: "/etc/runbook/site-b-to-a.yaml", mode: "run",
                paramsJSON: "{}", planHash: planHash, planJSON: plan([("promote", "gate", nil)]),
                pid: 17, hostname: "ops-1", startedAt: at(-90_000)))
        try journal.upsertStep(
            StepRecord(
                runID: finishedID, nodeID: "promote", stepID: "promote", state: .succeeded,
                startedAt: at(-89_990), finishedAt: at(-89_900)))
        try journal.appendEvent(runID: finishedID, type: "run.finished")
        try journal.updateRun(id: finishedID, status: .succeeded, exitCode: 0, finishedAt: at(-90_000 + 125))

        // Recorded as running by a process that no longer exists on this host.
        try journal.createRun(
            RunRecord(
                id: orphanID, runbookName: "georep-failover", runbookPath: "/etc/runbook/georep-failover.yaml",
                inventoryName: "site-a-to-b", inventoryPath: "/etc/runbook/site-a-to-b.yaml", mode: "drill",
                paramsJSON: "{}", planHash: planHash, planJSON: "{}",
                pid: deadPID, hostname: host, startedAt: at(7200)))
        try journal.upsertStep(
            StepRecord(
                runID: orphanID, nodeID: "stop-session@gfs-a1", stepID: "stop-session",
                host: "gfs-a1", state: .running, attempts: 1, startedAt: at(7201)))

        // Running, driven by an alive process on this host, waiting at a gate.
        try journal.createRun(
            RunRecord(
                id: liveID, runbookName: "georep-drill", runbookPath: "/etc/runbook/georep-drill.yaml",
                inventoryName: "lab", inventoryPath: "/etc/runbook/lab.yaml", mode: "drill",
                paramsJSON: "{}", planHash: planHash,
                planJSON: plan([("go-ahead", "gate", "Go ahead?")], approvers: ["erin", "frank"], wrapped: false),
                pid: livePID, hostname: host, startedAt: at(10_800)))
        try journal.upsertStep(
            StepRecord(
                runID: liveID, nodeID: "go-ahead", stepID: "go-ahead", state: .waiting,
                startedAt: at(10_801), firstReachedAt: at(10_801)))
        try journal.appendEvent(runID: liveID, type: "gate.waiting", step: "go-ahead")
    }

    // MARK: - Running the binary

    func run(_ arguments: [String], state: State, environment extra: [String: String?] = [:]) throws -> ProcessOutput {
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "build the runbook executable first: \(binary.path)")
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env["RUNBOOK_STATE_DIR"] = state.root
        for (key, value) in extra { env[key] = value }
        return try runProgram(binary, arguments, environment: env)
    }

    /// Lines of `text`.
    func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The cells of a table line (separated by two or more spaces), trimmed.
    func cells(_ line: String) -> [String] {
        line.trimmingCharacters(in: .whitespaces)
            .components(separatedBy: "  ")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// The first line whose cells start with `first` (e.g. `✓ pre-flight`), and its index.
    func row(_ output: String, startingWith first: String) -> (index: Int, cells: [String])? {
        for (index, line) in lines(output).enumerated() where cells(line).first == first {
            return (index, cells(line))
        }
        return nil
    }

    // MARK: - status

    @Test func statusOfAParkedRunByPrefix() throws {
        let state = try State()
        let result = try run(["status", "20250301-10"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let out = lines(result.stdout)
        #expect(out.contains("run:        20250301-100000-3f9a"))
        #expect(out.contains("runbook:    georep-failover (/etc/runbook/georep-failover.yaml)"))
        #expect(out.contains("inventory:  site-a-to-b (/etc/runbook/site-a-to-b.yaml)"))
        #expect(out.contains("mode:       run"))
        #expect(out.contains("status:     parked (exit 4)"))
        #expect(out.contains("started:    2025-03-01T10:00:00Z"))
        #expect(out.contains("finished:   2025-03-01T10:01:30Z (took 1m30s)"))
        #expect(out.contains("process:    pid 4242 on ops-1 (another host: cannot check it from here)"))
        #expect(out.contains("parked at a gate: answer it (below), then `runbook resume 20250301-100000-3f9a`"))
        #expect(out.contains("steps (7):"))

        #expect(row(result.stdout, startingWith: "✓ pre-flight")?.cells == ["✓ pre-flight", "-", "succeeded", "4s"])
        #expect(
            row(result.stdout, startingWith: "✓ stop-session@gfs-a1")?.cells == [
                "✓ stop-session@gfs-a1", "gfs-a1", "succeeded", "2s",
            ])
        #expect(
            row(result.stdout, startingWith: "✗ sync@gfs-b1")?.cells
                == [
                    "✗ sync@gfs-b1", "gfs-b1", "failed", "1m12s",
                    "rsync exited with 23: connection to \"gfs-b1\" <port 22> refused",
                ])
        #expect(
            row(result.stdout, startingWith: "- cleanup@gfs-a1")?.cells == ["- cleanup@gfs-a1", "gfs-a1", "skipped"])
        #expect(row(result.stdout, startingWith: "· final-check")?.cells == ["· final-check", "-", "pending"])
        let promote = try #require(row(result.stdout, startingWith: "⏸ promote"))
        #expect(Array(promote.cells.prefix(3)) == ["⏸ promote", "-", "waiting"])
        #expect(promote.cells.count == 4 && promote.cells[3].hasPrefix("elapsed "))

        // The probe's observed state is shown right under its line.
        let probe = try #require(row(result.stdout, startingWith: "✓ sync-status@gfs-b1"))
        #expect(probe.cells == ["✓ sync-status@gfs-b1", "gfs-b1", "succeeded", "0.5s"])
        #expect(out[probe.index + 1] == "      outputs: state = Sync in Progress")
        #expect(result.stdout.components(separatedBy: "outputs:").count == 2)

        #expect(out.contains("waiting gate:"))
        #expect(out.contains("  promote: Promote site B? (waiting since 2025-03-01T10:01:21Z)"))
        #expect(
            out.contains(
                "    answer: runbook approve 20250301-100000-3f9a promote --by NAME --reason TEXT  (add --reject to refuse)"
            ))
        #expect(out.contains("    then:   runbook resume 20250301-100000-3f9a"))
        // Only waiting gates get a command, not the pending one.
        #expect(!result.stdout.contains("approve 20250301-100000-3f9a final-check"))
    }

    @Test func statusSaysWhenTheDrivingProcessIsGone() throws {
        let state = try State()
        let result = try run(["status", Self.orphanID], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        let out = lines(result.stdout)
        // Journaled as running, but nothing runs it: shown as interrupted (issue 19, defect 8).
        #expect(out.contains("status:     interrupted (process gone)"))
        #expect(out.contains("process:    pid 2000000000 on \(Self.host), no longer running"))
        #expect(out.contains("the process is gone: `runbook resume 20250301-120000-bbbb` continues it"))
        #expect(out.contains { $0.hasPrefix("elapsed:    ") })
        let step = try #require(row(result.stdout, startingWith: "▶ stop-session@gfs-a1"))
        #expect(Array(step.cells.prefix(3)) == ["▶ stop-session@gfs-a1", "gfs-a1", "running"])
    }

    @Test func statusOfALiveRunWaitingAtAGate() throws {
        let state = try State()
        let result = try run(["status", "20250301-13"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        let out = lines(result.stdout)
        #expect(out.contains("process:    pid \(Self.livePID) on \(Self.host), alive"))
        #expect(!result.stdout.contains("the process is gone"))
        #expect(
            out.contains(
                "    answer: runbook approve 20250301-130000-cccc go-ahead --by NAME --reason TEXT  (add --reject to refuse)"
            ))
        #expect(out.contains("    then:   the waiting run (pid \(Self.livePID)) continues by itself"))
    }

    @Test func statusOfUnknownAndAmbiguousRunsExits1() throws {
        let state = try State()
        let unknown = try run(["status", "2099"], state: state)
        #expect(unknown.status == 1)
        #expect(unknown.stdout.isEmpty)
        #expect(
            unknown.stderr
                == "runbook: error: no run id starts with \"2099\" in the journal \(state.journalPath); `runbook history` lists the runs\n"
        )

        let ambiguous = try run(["status", "20250301"], state: state)
        #expect(ambiguous.status == 1)
        #expect(
            ambiguous.stderr
                == "runbook: error: run id prefix \"20250301\" is ambiguous; it matches: 20250301-100000-3f9a, 20250301-120000-bbbb, 20250301-130000-cccc; give more characters of the run id\n"
        )

        let empty = try State(empty: true)
        let none = try run(["status", "2025"], state: empty)
        #expect(none.status == 1)
        #expect(
            none.stderr.hasPrefix("runbook: error: no run '2025': the state directory \(empty.root) has no journal yet")
        )
        #expect(!FileManager.default.fileExists(atPath: empty.journalPath), "a read must not create a journal")
    }

    // MARK: - history

    @Test func historyListsRunsNewestFirst() throws {
        let state = try State()
        let result = try run(["history"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        let out = lines(result.stdout).filter { !$0.isEmpty }
        #expect(out.count == 5)
        #expect(
            cells(out[0]) == ["RUN", "STARTED (UTC)", "DURATION", "RUNBOOK", "INVENTORY", "MODE", "STATUS", "EXIT"])
        #expect(out.dropFirst().map { cells($0)[0] } == [Self.liveID, Self.orphanID, Self.parkedID, Self.finishedID])
        #expect(
            cells(out[3]) == [
                Self.parkedID, "2025-03-01T10:00:00Z", "1m30s", "georep-failover", "site-a-to-b", "run", "parked", "4",
            ])
        #expect(
            cells(out[4]) == [
                Self.finishedID, "2025-02-28T09:00:00Z", "2m05s", "georep-failback", "site-b-to-a", "run", "succeeded",
                "0",
            ])
        let live = cells(out[1])
        #expect(live[1] == "2025-03-01T13:00:00Z")
        #expect(live[2].hasSuffix(" so far"))
        #expect(Array(live[3...]) == ["georep-drill", "lab", "drill", "running", "-"])
    }

    @Test func historyFiltersAndLimits() throws {
        let state = try State()
        let filtered = try run(["history", "--runbook", "georep-failover", "--limit", "1"], state: state)
        #expect(filtered.status == 0, "\(filtered.stderr)")
        let out = lines(filtered.stdout).filter { !$0.isEmpty }
        #expect(out.count == 2)
        #expect(cells(out[1]).first == Self.orphanID)

        let typo = try run(["history", "--runbook", "georep-failovr"], state: state)
        #expect(typo.status == 0)
        #expect(
            typo.stdout
                == "no runs of runbook 'georep-failovr' (did you mean 'georep-failover'?); runs exist of: georep-drill, georep-failback, georep-failover\n"
        )

        let badLimit = try run(["history", "--limit", "0"], state: state)
        #expect(badLimit.status == 64)
        #expect(badLimit.stderr.contains("--limit must be at least 1, got 0"))

        let empty = try State(empty: true)
        let none = try run(["history"], state: empty)
        #expect(none.status == 0)
        #expect(none.stdout == "no runs yet (state directory: \(empty.root))\n")
    }

    // MARK: - show

    @Test func showText() throws {
        let state = try State()
        let result = try run(["show", "20250301-1000"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let out = lines(result.stdout)
        #expect(out.contains("plan hash:  \(Self.planHash)"))
        #expect(out.contains("params:     {\"volume\":\"gv0\"}"))
        let sync = try #require(out.firstIndex(of: "  ✗ sync@gfs-b1  failed"))
        #expect(
            Array(out[(sync + 1)...(sync + 4)]) == [
                "      host gfs-b1, 2 attempts",
                "      started 2025-03-01T10:00:08Z, finished 2025-03-01T10:01:20Z (1m12s)",
                "      error: rsync exited with 23: connection to \"gfs-b1\" <port 22> refused",
                "             see the attempt's stderr",
            ])
        let stop = try #require(out.firstIndex(of: "  ✓ stop-session@gfs-a1  succeeded"))
        #expect(out[stop + 1] == "      host gfs-a1, 1 attempt, changed, completed #1")
        #expect(out.contains("attempts (4):"))
        let first = try #require(
            out.firstIndex(of: "  apply #1 of sync@gfs-b1: failed (exit 23), started 2025-03-01T10:00:08Z, took 30s"))
        #expect(
            Array(out[(first + 1)...(first + 4)]) == [
                "      $ \(Self.syncCommand)",
                "      stderr: rsync: connection refused",
                "      stderr: rsync error: some files could not be transferred (code 23)",
                "      error: exit status 23",
            ])
        #expect(out.contains("  probe #1 of sync-status@gfs-b1: ok (exit 0), started 2025-03-01T10:00:07Z, took 0.5s"))
        #expect(out.contains("approvals (1):"))
        #expect(out.contains("  pre-flight: approved by bob at 2025-03-01T10:00:04Z, plan sha256:4f9a2c1d8e7b"))
        #expect(out.contains("      reason: CHG-1234 <approved> & \"go\""))
        #expect(out.contains("event chain: 9 events, intact"))
    }

    @Test func showJSONIsStableAndComplete() throws {
        let state = try State()
        let result = try run(["show", Self.parkedID, "--format", "json"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // `notifications` (issue 24) was added to version 2: a new key, no key changed.
        #expect(
            Set(object.keys) == [
                "version", "run", "steps", "attempts", "approvals", "events", "notifications", "chain",
            ])
        #expect((object["notifications"] as? [Any])?.isEmpty == true, "the run had no notify sink")
        // Version 2: keys snake_case, as in the plan JSON and the event stream (issue 19, defect 11).
        #expect(object["version"] as? Int == 2)
        // Sorted keys: the top-level keys appear in order.
        let order = ["approvals", "attempts", "chain", "events", "notifications", "run", "steps", "version"].map {
            result.stdout.range(of: "\n  \"\($0)\"")?.lowerBound
        }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())

        let runObject = try #require(object["run"] as? [String: Any])
        #expect(runObject["id"] as? String == Self.parkedID)
        #expect(runObject["status"] as? String == "parked")
        #expect(runObject["exit_code"] as? Int == 4)
        #expect(runObject["started_at"] as? String == "2025-03-01T10:00:00.000Z")
        #expect(runObject["duration_seconds"] as? Double == 90)
        #expect((runObject["params"] as? [String: Any])?["volume"] as? String == "gv0")

        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(
            steps.map { $0["node"] as? String } == [
                "pre-flight", "stop-session@gfs-a1", "sync-status@gfs-b1", "sync@gfs-b1", "cleanup@gfs-a1", "promote",
                "final-check",
            ])
        #expect((steps[2]["outputs"] as? [String: Any])?["state"] as? String == "Sync in Progress")
        #expect(steps[3]["error"] as? String == Self.syncError)
        #expect(steps[4]["started_at"] is NSNull)

        let attempts = try #require(object["attempts"] as? [[String: Any]])
        #expect(attempts.count == 4)
        #expect(attempts[2]["intent"] as? String == Self.syncCommand)
        #expect(attempts[2]["exit_code"] as? Int == 23)
        #expect(attempts[3]["number"] as? Int == 2)

        let approvals = try #require(object["approvals"] as? [[String: Any]])
        #expect(approvals.count == 1)
        #expect(approvals.first?["by"] as? String == "bob")
        #expect(approvals.first?["plan_hash"] as? String == Self.planHash)

        let events = try #require(object["events"] as? [[String: Any]])
        #expect(events.map { $0["seq"] as? Int } == Array(1...9))
        #expect(events[2]["type"] as? String == "approval")
        #expect((events[2]["payload"] as? [String: Any])?["by"] as? String == "bob")

        let chain = try #require(object["chain"] as? [String: Any])
        #expect(chain["intact"] as? Bool == true)
        #expect(chain["event_count"] as? Int == 9)

        let again = try run(["show", Self.parkedID, "--format", "json"], state: state)
        #expect(again.stdout == result.stdout)
    }

    @Test func showJUnitIsWellFormedXML() throws {
        let state = try State()
        let result = try run(["show", "20250301-100", "--format", "junit"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        // XMLDocument recovers from some errors; the SAX parser is strict about well-formedness.
        let parser = XMLParser(data: Data(result.stdout.utf8))
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        let document = try XMLDocument(data: Data(result.stdout.utf8))
        let root = try #require(document.rootElement())
        #expect(root.name == "testsuites")
        #expect(root.attribute(forName: "tests")?.stringValue == "7")
        let suites = root.elements(forName: "testsuite")
        #expect(suites.count == 1)
        let suite = try #require(suites.first)
        #expect(suite.attribute(forName: "name")?.stringValue == "georep-failover")
        #expect(suite.attribute(forName: "tests")?.stringValue == "7")
        #expect(suite.attribute(forName: "failures")?.stringValue == "1")
        #expect(suite.attribute(forName: "skipped")?.stringValue == "3")
        #expect(suite.attribute(forName: "time")?.stringValue == "90.000")

        let cases = suite.elements(forName: "testcase")
        #expect(cases.count == 7)
        #expect(
            cases.map { $0.attribute(forName: "name")?.stringValue } == [
                "pre-flight", "stop-session@gfs-a1", "sync-status@gfs-b1", "sync@gfs-b1", "cleanup@gfs-a1", "promote",
                "final-check",
            ])
        #expect(cases.allSatisfy { $0.attribute(forName: "classname")?.stringValue == "georep-failover" })
        #expect(
            cases.map { $0.attribute(forName: "time")?.stringValue } == [
                "4.000", "2.000", "0.500", "72.000", "0.000", "9.000", "0.000",
            ])
        let failures = cases.flatMap { $0.elements(forName: "failure") }
        #expect(failures.count == 1)
        #expect(
            failures.first?.attribute(forName: "message")?.stringValue
                == "rsync exited with 23: connection to \"gfs-b1\" <port 22> refused")
        #expect(failures.first?.stringValue == Self.syncError)
        #expect(cases.map { $0.elements(forName: "skipped").count } == [0, 0, 0, 0, 1, 1, 1])
        let syncOut = try #require(cases[3].elements(forName: "system-out").first?.stringValue)
        #expect(syncOut.contains("  $ \(Self.syncCommand)\n"))
        #expect(syncOut.contains("apply #2 of sync@gfs-b1: failed (exit 23)"))
        let properties = suite.elements(forName: "properties").first?.elements(forName: "property") ?? []
        let run = properties.first { $0.attribute(forName: "name")?.stringValue == "run" }
        #expect(run?.attribute(forName: "value")?.stringValue == Self.parkedID)
    }

    @Test func showReportsABrokenChain() throws {
        let state = try State()
        // Tamper with an event behind the journal's back, as someone with the file could.
        let tamperer = try DatabaseQueue(path: state.journalPath)
        try tamperer.write { db in
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(
                sql: "UPDATE events SET payloadJSON = ? WHERE runID = ? AND seq = 3",
                arguments: [#"{"by":"mallory","decision":"approved"}"#, Self.parkedID])
        }
        try tamperer.close()

        let result = try run(["show", Self.parkedID], state: state)
        #expect(result.status == 0)
        #expect(
            lines(result.stdout).contains {
                $0.hasPrefix("event chain BROKEN at event 3: content does not match its hash")
            })
        #expect(
            result.stderr.hasPrefix(
                "runbook: warning: the event log of run \(Self.parkedID) in \(state.journalPath) is broken at event 3"))
        let json = try run(["show", Self.parkedID, "--format", "json"], state: state)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let chain = try #require(object["chain"] as? [String: Any])
        #expect(chain["intact"] as? Bool == false)
        #expect(chain["broken_at_seq"] as? Int == 3)
    }

    // MARK: - approve

    @Test func approveRecordsTheDecisionAndItsEvent() throws {
        let state = try State()
        let result = try run(
            ["approve", "20250301-10", "promote", "--by", "alice", "--reason", "CHG-1235: site B verified"],
            state: state)
        #expect(result.status == 0, "\(result.stderr)")
        let out = lines(result.stdout)
        #expect(
            out.first?.hasPrefix("recorded: gate 'promote' of run 20250301-100000-3f9a approved by alice at ") == true)
        #expect(out.contains("  reason: CHG-1235: site B verified"))
        #expect(out.contains("  plan:   \(Self.planHash)"))
        #expect(out.contains("  event:  #10 (approval) in the run's event chain"))
        #expect(out.contains("next: runbook resume 20250301-100000-3f9a"))

        let journal = try state.journal()
        let approval = try #require(try journal.approval(runID: Self.parkedID, gate: "promote"))
        #expect(approval.by == "alice")
        #expect(approval.reason == "CHG-1235: site B verified")
        #expect(approval.decision == .approved)
        #expect(approval.planHash == Self.planHash)
        #expect(try journal.approvals(runID: Self.parkedID).count == 2)
        let events = try journal.events(runID: Self.parkedID)
        #expect(events.count == 10)
        let event = try #require(events.last)
        #expect(event.type == "approval")
        #expect(event.step == "promote")
        #expect(
            event.payload == [
                "by": "alice", "decision": "approved", "plan_hash": Self.planHash,
                "reason": "CHG-1235: site B verified", "via": "runbook approve",
            ])
        #expect(try journal.verifyChain(runID: Self.parkedID) == .ok(eventCount: 10))
        // The gate's state is the executor's business: approve only records the decision.
        #expect(try journal.step(runID: Self.parkedID, nodeID: "promote")?.state == .waiting)
    }

    @Test func approveDefaultsAndRejection() throws {
        let state = try State()
        let byUser = try run(
            ["approve", Self.parkedID, "final-check"], state: state,
            environment: ["SUDO_USER": nil, "USER": "carol"])
        #expect(byUser.status == 0, "\(byUser.stderr)")
        let journal = try state.journal()
        let first = try #require(try journal.approval(runID: Self.parkedID, gate: "final-check"))
        #expect(first.by == "carol")
        #expect(first.reason == "approved with runbook approve")

        let bySudo = try run(
            ["approve", Self.parkedID, "final-check", "--reject"], state: state,
            environment: ["SUDO_USER": "dave", "USER": "root"])
        #expect(bySudo.status == 0, "\(bySudo.stderr)")
        #expect(bySudo.stdout.contains("recorded: gate 'final-check' of run 20250301-100000-3f9a rejected by dave at "))
        #expect(bySudo.stdout.contains("  note:   it was approved by carol at "))
        let latest = try #require(try journal.approval(runID: Self.parkedID, gate: "final-check"))
        #expect(latest.by == "dave")
        #expect(latest.decision == .rejected)
        #expect(latest.reason == "rejected with runbook approve --reject")
        #expect(try journal.verifyChain(runID: Self.parkedID) == .ok(eventCount: 11))
    }

    @Test func approveTellsALiveRunWillContinue() throws {
        let state = try State()
        let result = try run(["approve", "20250301-13", "go-ahead", "--by", "erin"], state: state)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            lines(result.stdout).contains(
                "next: the waiting run will continue (pid \(Self.livePID) on \(Self.host)); `runbook status 20250301-130000-cccc` follows it"
            ))
        #expect(try state.journal().verifyChain(runID: Self.liveID) == .ok(eventCount: 2))

        // The plan names who may answer this gate: anyone else is refused, nothing is recorded.
        let stranger = try run(
            ["approve", Self.liveID, "go-ahead"], state: state, environment: ["SUDO_USER": nil, "USER": "mallory"])
        #expect(stranger.status == 1)
        #expect(
            stranger.stderr
                == "runbook: error: 'mallory' (from $SUDO_USER/$USER; --by names someone else) is not among the approvers of gate 'go-ahead' of run 20250301-130000-cccc (erin, frank): the run would ignore the decision; have one of them answer it\n"
        )
        #expect(try state.journal().approvals(runID: Self.liveID).map(\.by) == ["erin"])
    }

    @Test func approveRefusesUnknownGatesWithASuggestion() throws {
        let state = try State()
        let result = try run(["approve", "20250301-10", "promot", "--by", "alice"], state: state)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr
                == "runbook: error: run 20250301-100000-3f9a has no gate 'promot' (did you mean 'promote'?); its gates: pre-flight, promote, final-check; `runbook status 20250301-100000-3f9a` shows which are waiting\n"
        )

        let notAGate = try run(["approve", Self.parkedID, "sync@gfs-b1"], state: state)
        #expect(notAGate.status == 1)
        #expect(
            notAGate.stderr.hasPrefix(
                "runbook: error: 'sync@gfs-b1' is a step of run 20250301-100000-3f9a but not a gate, so it cannot be approved"
            ))

        let passed = try run(["approve", Self.parkedID, "pre-flight"], state: state)
        #expect(passed.status == 1)
        #expect(
            passed.stderr.hasPrefix(
                "runbook: error: gate 'pre-flight' of run 20250301-100000-3f9a is succeeded, not waiting or pending"))

        let journal = try state.journal()
        #expect(try journal.approvals(runID: Self.parkedID).count == 1)
        #expect(try journal.events(runID: Self.parkedID).count == 9)
    }

    @Test func approveRefusesAFinishedRun() throws {
        let state = try State()
        let result = try run(["approve", "20250228", "promote", "--by", "alice"], state: state)
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "runbook: error: run 20250228-090000-aaaa has already succeeded (at 2025-02-28T09:02:05Z): there is no gate left to answer; `runbook show 20250228-090000-aaaa` has its record\n"
        )
        let journal = try state.journal()
        #expect(try journal.approvals(runID: Self.finishedID).isEmpty)
        #expect(try journal.events(runID: Self.finishedID).count == 1)

        let unknown = try run(["approve", "2099", "promote"], state: state)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no run id starts with \"2099\""))
    }
}
