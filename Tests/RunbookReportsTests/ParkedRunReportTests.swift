import Foundation
import FoundationXML
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookTestSupport
import Testing

/// `show`'s three formats (text, JSON v2, JUnit) rendered in-process over an `InMemoryJournal`
/// holding the parked run `ReportCommandsTests` writes to a SQLite journal and reads back through
/// the binary: the same run, the same assertions, no process and no database.
@Suite struct ParkedRunReportTests {
    /// 2025-03-01T10:00:00Z.
    static let base = Date(timeIntervalSince1970: 1_740_823_200)
    static let planHash = "sha256:4f9a2c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"
    static let parkedID = "20250301-100000-3f9a"
    static let syncError = "rsync exited with 23: connection to \"gfs-b1\" <port 22> refused\nsee the attempt's stderr"
    static let syncCommand = "rsync -a /data/ gfs-b1:/data/ && echo \"<done & dusted>\""

    static func at(_ seconds: Double) -> Date { base.addingTimeInterval(seconds) }

    /// The stored plan, wrapped as `runbook run` journals it.
    static func plan(_ steps: [(id: String, kind: String, prompt: String?)]) -> String {
        let nodes = steps.map { step -> [String: Any] in
            var node: [String: Any] = ["id": step.id, "kind": step.kind]
            if step.kind == "gate" {
                var gate: [String: Any] = ["type": "approval", "on_timeout": "rollback"]
                if let prompt = step.prompt { gate["prompt"] = prompt }
                node["gate"] = gate
            }
            return node
        }
        let object: [String: Any] = ["plan": ["version": 1, "steps": nodes], "mode": "run", "params": [:]]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The parked run: a gate passed, two steps done, a failed sync, a skipped cleanup, a waiting
    /// gate, written as batches (the clock stands at the park, 90 s after the start).
    static func parkedRun() throws -> (InMemoryJournal, RunRecord) {
        let journal = InMemoryJournal(now: { at(90) })
        try journal.commit(parkedBatch())
        let run = try #require(try journal.run(id: parkedID))
        return (journal, run)
    }

    static func parkedBatch() -> JournalBatch {
        var create = JournalBatch(runID: parkedID)
        create.newRun = RunRecord(
            id: parkedID, runbookName: "georep-failover", runbookPath: "/etc/runbook/georep-failover.yaml",
            inventoryName: "site-a-to-b", inventoryPath: "/etc/runbook/site-a-to-b.yaml", mode: "run",
            paramsJSON: #"{"volume":"gv0"}"#, planHash: planHash,
            planJSON: plan([
                ("pre-flight", "gate", "Start the failover?"), ("stop-session@gfs-a1", "action", nil),
                ("sync-status@gfs-b1", "probe", nil), ("sync@gfs-b1", "action", nil), ("cleanup@gfs-a1", "action", nil),
                ("promote", "gate", "Promote site B?"), ("final-check", "gate", nil),
            ]),
            pid: 4242, hostname: "ops-1", startedAt: base)
        let steps: [StepRecord] = [
            StepRecord(
                runID: parkedID, nodeID: "pre-flight", stepID: "pre-flight", state: .succeeded, startedAt: at(1),
                finishedAt: at(5), firstReachedAt: at(1)),
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
                runID: parkedID, nodeID: "promote", stepID: "promote", state: .waiting, startedAt: at(81),
                firstReachedAt: at(81)),
            StepRecord(runID: parkedID, nodeID: "final-check", stepID: "final-check", state: .pending),
        ]
        for step in steps {
            create.step(step.nodeID, stepID: step.stepID, host: step.host) { $0 = step }
        }
        create.attempts = [
            .record(
                AttemptStart(
                    nodeID: "stop-session@gfs-a1", phase: .apply, number: 1,
                    intent: "gluster volume geo-replication gv0 gfs-b1::gv0-dr stop", startedAt: at(5)),
                AttemptEnd(
                    outcome: AttemptOutcome.ok, exitCode: 0, stdout: "Stopping geo-replication session: success\n",
                    finishedAt: at(7))),
            .record(
                AttemptStart(
                    nodeID: "sync-status@gfs-b1", phase: .probe, number: 1,
                    intent: "gluster volume geo-replication gv0 gfs-b1::gv0-dr status detail", startedAt: at(7)),
                AttemptEnd(outcome: AttemptOutcome.ok, exitCode: 0, stdout: "Sync in Progress\n", finishedAt: at(7.5))),
            .record(
                AttemptStart(nodeID: "sync@gfs-b1", phase: .apply, number: 1, intent: syncCommand, startedAt: at(8)),
                AttemptEnd(
                    outcome: AttemptOutcome.failed, exitCode: 23,
                    stderr: "rsync: connection refused\nrsync error: some files could not be transferred (code 23)\n",
                    error: "exit status 23", finishedAt: at(38))),
            .record(
                AttemptStart(nodeID: "sync@gfs-b1", phase: .apply, number: 2, intent: syncCommand, startedAt: at(50)),
                AttemptEnd(
                    outcome: AttemptOutcome.failed, exitCode: 23, stderr: "rsync: connection refused\n",
                    error: "exit status 23", finishedAt: at(80))),
        ]
        create.approvals = [
            ApprovalRecord(
                runID: parkedID, gate: "pre-flight", by: "bob", reason: "CHG-1234 <approved> & \"go\"",
                planHash: planHash, at: at(4), decision: .approved)
        ]
        create.events = [
            .runStarted(
                .init(runbook: "georep-failover", inventory: "site-a-to-b", mode: "run", planHash: planHash)),
            .gateWaiting(.init(step: "pre-flight", host: "", gate: .approval, firstReached: at(1))),
            .approval(
                .init(
                    step: "pre-flight", decision: .approved, by: "bob", reason: "CHG-1234 <approved> & \"go\"",
                    planHash: planHash)),
            .stepFinished(.init(step: "stop-session@gfs-a1", host: "gfs-a1", state: .succeeded)),
            .stepFinished(.init(step: "sync-status@gfs-b1", host: "gfs-b1", state: .succeeded)),
            .stepFinished(.init(step: "sync@gfs-b1", host: "gfs-b1", state: .failed, error: syncError)),
            .stepSkipped(.init(step: "cleanup@gfs-a1", host: "gfs-a1", reason: "sync@gfs-b1 failed")),
            .gateWaiting(.init(step: "promote", host: "", gate: .approval, firstReached: at(81))),
            .runParked(.init(status: .parked, exitCode: 4)),
        ]
        create.runStatus = RunStatusChange(status: .parked, exitCode: 4, finishedAt: at(90))
        return create
    }

    func report() throws -> RunReport {
        let (journal, run) = try Self.parkedRun()
        return try RunReport.load(run, from: journal, now: Self.at(120))
    }

    func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func text() throws {
        let out = lines(RunReportText.render(try report(), color: false))
        #expect(out.contains("run:        20250301-100000-3f9a"))
        #expect(out.contains("status:     parked (exit 4)"))
        #expect(out.contains("finished:   2025-03-01T10:01:30Z (took 1m30s)"))
        #expect(out.contains("process:    pid 4242 on ops-1 (another host: cannot check it from here)"))
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
        #expect(out.contains("  ⏸ promote  waiting"))
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

    @Test func json() throws {
        let text = RunReportJSON.render(try report())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "version", "run", "steps", "attempts", "approvals", "events", "notifications", "chain",
            ])
        #expect(object["version"] as? Int == 2)
        let order = ["approvals", "attempts", "chain", "events", "run", "steps", "version"].map {
            text.range(of: "\n  \"\($0)\"")?.lowerBound
        }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())

        let run = try #require(object["run"] as? [String: Any])
        #expect(run["id"] as? String == Self.parkedID)
        #expect(run["status"] as? String == "parked")
        #expect(run["exit_code"] as? Int == 4)
        #expect(run["started_at"] as? String == "2025-03-01T10:00:00.000Z")
        #expect(run["duration_seconds"] as? Double == 90)
        #expect((run["params"] as? [String: Any])?["volume"] as? String == "gv0")

        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(
            steps.map { $0["node"] as? String } == [
                "pre-flight", "stop-session@gfs-a1", "sync-status@gfs-b1", "sync@gfs-b1", "cleanup@gfs-a1", "promote",
                "final-check",
            ])
        #expect((steps[2]["outputs"] as? [String: Any])?["state"] as? String == "Sync in Progress")
        #expect(steps[3]["error"] as? String == Self.syncError)
        #expect(steps[3]["failed"] as? Bool == true)
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
        #expect(RunReportJSON.render(try report()) == text)
    }

    @Test func junit() throws {
        let xml = RunReportJUnit.render(try report())
        let parser = XMLParser(data: Data(xml.utf8))
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        let document = try XMLDocument(data: Data(xml.utf8))
        let root = try #require(document.rootElement())
        #expect(root.name == "testsuites")
        #expect(root.attribute(forName: "tests")?.stringValue == "7")
        let suite = try #require(root.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "name")?.stringValue == "georep-failover")
        #expect(suite.attribute(forName: "failures")?.stringValue == "1")
        #expect(suite.attribute(forName: "skipped")?.stringValue == "3")
        #expect(suite.attribute(forName: "time")?.stringValue == "90.000")
        let cases = suite.elements(forName: "testcase")
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
        // The exact lines of the failing case, as the binary writes them.
        #expect(
            xml.contains(
                """
                    <testcase classname="georep-failover" name="sync@gfs-b1" time="72.000">
                      <failure message="rsync exited with 23: connection to &quot;gfs-b1&quot; &lt;port 22&gt; refused" type="failed">rsync exited with 23: connection to &quot;gfs-b1&quot; &lt;port 22&gt; refused
                see the attempt&apos;s stderr</failure>
                """))
        #expect(xml.contains(#"      <property name="eventChain" value="event chain: 9 events, intact"/>"#))
    }

    @Test func aBrokenChainIsReported() throws {
        let (journal, run) = try Self.parkedRun()
        var report = try RunReport.load(run, from: journal)
        report.chain = .broken(seq: 3, reason: .missing(foundSeq: 4))
        #expect(RunReportText.render(report, color: false).contains("event chain BROKEN at event 3: event missing"))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(RunReportJSON.render(report).utf8)) as? [String: Any])
        let chain = try #require(json["chain"] as? [String: Any])
        #expect(chain["intact"] as? Bool == false)
        #expect(chain["broken_at_seq"] as? Int == 3)
    }

    /// The same batches in the SQLite journal and in memory: every report that does not show an
    /// event's own time (which the SQLite journal stamps itself) is the same, byte for byte.
    @Test func theSQLiteJournalAndTheInMemoryOneGiveTheSameReports() throws {
        let scratch = try Scratch("reports")
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let sqlite = try Journal(path: scratch.work + "/journal.sqlite", redactor: Redactor(secrets: []))
        defer { try? sqlite.close() }
        try sqlite.commit(Self.parkedBatch())
        let (memory, run) = try Self.parkedRun()
        let stored = try #require(try sqlite.run(id: Self.parkedID))
        let fromSQLite = try RunReport.load(stored, from: sqlite, now: Self.at(120))
        let fromMemory = try RunReport.load(run, from: memory, now: Self.at(120))
        #expect(fromSQLite.chain == .ok(eventCount: 9))
        #expect(RunReportText.render(fromSQLite, color: false) == RunReportText.render(fromMemory, color: false))
        #expect(RunReportJUnit.render(fromSQLite) == RunReportJUnit.render(fromMemory))
        let rehearsals = (Rehearsal.load(fromSQLite, journal: sqlite), Rehearsal.load(fromMemory, journal: memory))
        #expect(RehearsalMarkdown.render(rehearsals.0) == RehearsalMarkdown.render(rehearsals.1))
        #expect(Metrics.render(rehearsals.0) == Metrics.render(rehearsals.1))
    }

    /// The trend reads the journal's runs (`runs(limit:)`): earlier runs of the same runbook,
    /// inventory and mode, oldest first, this one last; not another runbook's, not a later one.
    @Test func theTrendHoldsTheEarlierRunsOfTheSameDrill() throws {
        let (journal, run) = try Self.parkedRun()
        func add(_ id: String, runbook: String = "georep-failover", startedAt: Double, exitCode: Int) throws {
            var batch = JournalBatch(runID: id)
            batch.newRun = RunRecord(
                id: id, runbookName: runbook, runbookPath: "/etc/runbook/\(runbook).yaml",
                inventoryName: "site-a-to-b", inventoryPath: "/etc/runbook/site-a-to-b.yaml", mode: "run",
                paramsJSON: "{}", planHash: Self.planHash, planJSON: "{}", pid: 1, hostname: "ops-1",
                startedAt: Self.at(startedAt))
            batch.runStatus = RunStatusChange(
                status: exitCode == 0 ? .succeeded : .failed, exitCode: exitCode, finishedAt: Self.at(startedAt + 60))
            try journal.commit(batch)
        }
        try add("20250228-100000-0001", startedAt: -86_400, exitCode: 0)
        try add("20250301-090000-0002", startedAt: -3600, exitCode: 1)
        try add("20250301-080000-0003", runbook: "georep-failback", startedAt: -7200, exitCode: 0)
        try add("20250301-110000-0004", startedAt: 3600, exitCode: 0)
        let rehearsal = Rehearsal.load(try RunReport.load(run, from: journal, now: Self.at(120)), journal: journal)
        #expect(
            rehearsal.trend.map(\.runID) == ["20250228-100000-0001", "20250301-090000-0002", Self.parkedID])
        #expect(rehearsal.trend.map(\.verdict) == [.passed, .failed, .parked])
        #expect(rehearsal.trend.first?.rto == 60, "a passed run without an rto objective: its machine time")
    }

    /// Issue 24, item 4: the second the plan's "Run this plan?" waited for its answer
    /// (`run.started`'s `confirmed_after`) is waiting for people: in the total and on the timeline,
    /// before the first step; a run journaled without it reads as before.
    @Test func theConfirmationsWaitIsPeoplesTimeOnTheTimeline() throws {
        func rehearsal(confirmedAfter: Double?) throws -> Rehearsal {
            var batch = Self.parkedBatch()
            batch.events[0] = .runStarted(
                .init(
                    runbook: "georep-failover", inventory: "site-a-to-b", mode: "run", planHash: Self.planHash,
                    confirmedAfter: confirmedAfter))
            let journal = InMemoryJournal(now: { Self.at(90) })
            try journal.commit(batch)
            let run = try #require(try journal.run(id: Self.parkedID))
            return Rehearsal.load(try RunReport.load(run, from: journal, now: Self.at(120)), journal: journal)
        }
        let asked = try rehearsal(confirmedAfter: 1)
        let before = try rehearsal(confirmedAfter: nil)
        #expect(abs(asked.waited - before.waited - 1) < 0.001, "\(asked.waited) vs \(before.waited)")
        let bar = try #require(asked.timeline.first { $0.node == "(confirm the plan)" })
        #expect(bar.kind == .waiting && bar.busy == 1 && bar.start == Self.base)
        #expect(!before.timeline.contains { $0.node == "(confirm the plan)" })
        #expect(
            RehearsalMarkdown.render(asked).contains(
                "| (confirm the plan) | answered | +0s | 1s | waiting for people |"))
    }

    @Test func theRehearsalOfAParkedRunSaysWhereItWaits() throws {
        let (journal, run) = try Self.parkedRun()
        let rehearsal = Rehearsal.load(try RunReport.load(run, from: journal, now: Self.at(120)), journal: journal)
        #expect(rehearsal.verdict.kind == .parked)
        #expect(rehearsal.verdict.title == "PARKED")
        #expect(rehearsal.verdict.detail.hasPrefix("The run waits at an approval gate."))
        // The trend is this run alone: the journal holds no earlier one.
        #expect(rehearsal.trend.map(\.runID) == [Self.parkedID])
        let markdown = RehearsalMarkdown.render(rehearsal)
        #expect(markdown.contains("PARKED"), "\(markdown)")
        #expect(RehearsalHTML.render(rehearsal).contains("PARKED"))
        // The whole metrics file: a parked run has no RTO, no objectives.
        let labels = #"{runbook="georep-failover",inventory="site-a-to-b",mode="run"}"#
        #expect(
            Metrics.render(rehearsal) == """
                # HELP runbook_last_run_success 1 if the last run succeeded and met every objective, else 0.
                # TYPE runbook_last_run_success gauge
                runbook_last_run_success\(labels) 0
                # HELP runbook_last_run_exit_code The last run's exit code (0 ok, 1 failed, 3 precondition failed, 4 parked, 5 locked, 6 objective missed).
                # TYPE runbook_last_run_exit_code gauge
                runbook_last_run_exit_code\(labels) 4
                # HELP runbook_last_run_start_time_seconds When the last run started, in seconds since the epoch.
                # TYPE runbook_last_run_start_time_seconds gauge
                runbook_last_run_start_time_seconds\(labels) 1740823200
                # HELP runbook_last_run_end_time_seconds When the last run ended, in seconds since the epoch.
                # TYPE runbook_last_run_end_time_seconds gauge
                runbook_last_run_end_time_seconds\(labels) 1740823290
                # HELP runbook_last_run_duration_seconds The last run's wall time, waits at gates included.
                # TYPE runbook_last_run_duration_seconds gauge
                runbook_last_run_duration_seconds\(labels) 90
                # HELP runbook_last_run_waited_seconds Time the last run spent waiting for people (its confirmation, approval gates).
                # TYPE runbook_last_run_waited_seconds gauge
                runbook_last_run_waited_seconds\(labels) 13

                """)
    }
}
