import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime
import RunbookTestSupport
import Testing

@testable import RunbookCLI

/// `runbook report` and `run --report-dir/--metrics`, from real runs on local hosts and a real
/// journal; the HTML is checked in headless Chromium, the metrics with Prometheus's own parser.
/// The runs, approvals and reports are driven in-process through the run controller and the
/// report renderers (the process is not the subject), except the run started from its working
/// directory with relative paths, whose process's working directory is.
@Suite struct RehearsalReportTests {
    let cli = RunTests()
    static let secret = "s3cr3t-t0ken-4417"

    /// A quickstart-like drill: two sites, a marker, a step that takes a second per site and
    /// prints a secret param, a probe, an approval gate, objectives.
    static func runbook(work: String, rtoMax: String = "10m") -> String {
        """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: qs-drill}
        modes: [drill]
        roles:
          sites: {min: 2}
        params:
          token: {type: string, secret: true, from_env: QS_TOKEN}
          broken: {type: bool, default: false}
        preconditions:
          - id: workdir-exists
            probe: command
            with: {run: [test, -d, "\(work)"]}
        steps:
          - id: marker
            probe: command
            with: {run: [date, -u, "+%Y-%m-%dT%H:%M:%SZ"]}
          - id: prepare
            on: sites
            needs: [marker]
            action: shell
            with:
              run: [sh, -c, 'echo "preparing $0 with token $1"; sleep 1; touch "$2"', "${{ host.name }}", "${{ params.token }}", "\(work)/${{ host.name }}"]
              check: [test, -e, "\(work)/${{ host.name }}"]
            undo: {action: shell, with: {run: [rm, -f, "\(work)/${{ host.name }}"]}}
          - id: lag
            needs: [prepare]
            probe: command
            with: {run: [sh, -c, "echo 0; echo a warning >&2"]}
          - id: go
            needs: [lag]
            gate: {approval: {prompt: "Promote the copy?"}}
          - id: verify
            needs: [go]
            on: sites
            probe: command
            with: {run: [sh, -c, 'test "$0" = false', "${{ params.broken }}"]}
        objectives:
          rto: {max: \(rtoMax), measure: run.elapsed - run.waited}
          rpo: {max: 5m, measure: since(steps.marker.outputs.stdout)}
        """
    }

    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: two-local-sites}
        defaults: {transport: local}
        hosts:
          site-a: {roles: [sites]}
          site-b: {roles: [sites]}
        """

    struct Drill {
        let scratch: Scratch
        let file: String
        let inventory: String
        var reports: String { scratch.root.appendingPathComponent("reports").path }
        var metrics: String { scratch.root.appendingPathComponent("metrics/runbook.prom").path }
        /// Runs with `--report-dir reports --metrics metrics/runbook.prom` and QS_TOKEN set.
        var run: InProcessRun {
            get throws {
                var environment = ProcessInfo.processInfo.environment
                environment["QS_TOKEN"] = RehearsalReportTests.secret
                return try InProcessRun(
                    scratch, outputs: RunOutputs(reportDirectory: reports, metricsPath: metrics),
                    environment: environment)
            }
        }
    }

    func drill(rtoMax: String = "10m") throws -> Drill {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(
            atPath: scratch.root.appendingPathComponent("metrics").path, withIntermediateDirectories: true)
        return Drill(
            scratch: scratch, file: try scratch.write("drill.yaml", Self.runbook(work: scratch.work, rtoMax: rtoMax)),
            inventory: try scratch.write("inventory.yaml", Self.inventory))
    }

    /// Runs the drill the way the timer does: no terminal, --yes, --report-dir, --metrics; the
    /// exit code and what the progress reporter printed.
    func scheduled(
        _ d: Drill, approve: [String] = [], params: [(name: String, value: String)] = []
    ) async throws -> (status: Int32, said: String) {
        let run = try d.run
        let status = try await InProcessRun.exitCode {
            try await run.start(d.file, inventory: d.inventory, approve: approve, params: params)
        }
        return (status, run.printed.all)
    }

    func clean(_ d: Drill) {
        for site in ["site-a", "site-b"] { try? FileManager.default.removeItem(atPath: d.scratch.work + "/" + site) }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Two passing runs, the second parked at its gate then approved by alice and resumed.
    func twoRuns() async throws -> (Drill, first: String, second: String) {
        let d = try drill()
        let first = try await scheduled(d, approve: ["go"])
        #expect(first.status == 0, "\(first.said)")
        let firstID = try cli.latestRunID(d.scratch)
        clean(d)
        let parked = try await scheduled(d)
        #expect(parked.status == 4, "\(parked.said)")
        let secondID = try cli.latestRunID(d.scratch)
        try await Task.sleep(for: .seconds(1.5))
        let run = try d.run
        try run.approve(secondID, gate: "go", by: "alice", reason: "CHG-42 drill window")
        let resumed = try await InProcessRun.exitCode { try await run.resume(secondID) }
        #expect(resumed == 0, "\(run.printed.all)")
        return (d, firstID, secondID)
    }

    // MARK: - The report's content

    @Test func jsonReportHasVerdictObjectivesTimelineApprovalsProbesEvidenceAndTrend() async throws {
        let (d, firstID, secondID) = try await twoRuns()
        let out = try d.run.report(secondID, format: .json)
        let report = try json(out)
        let verdict = try #require(report["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "passed")
        let objectives = try #require(report["objectives"] as? [[String: Any]])
        #expect(objectives.map { $0["name"] as? String } == ["rto", "rpo"])
        #expect(objectives.allSatisfy { $0["met"] as? Bool == true })
        // The gate waited at least the 1.5 s before alice approved: people's time, apart.
        let timings = try #require(report["timings"] as? [String: Double])
        #expect((timings["waitedSeconds"] ?? 0) >= 1.5, "\(timings)")
        let rto = try #require(objectives.first?["value"] as? Double)
        #expect(abs(rto - (timings["machineSeconds"] ?? -1)) < 0.05, "rto is the machine time: \(rto) \(timings)")
        let timeline = try #require(report["timeline"] as? [[String: Any]])
        let gate = try #require(timeline.first { $0["node"] as? String == "go" })
        #expect(gate["kind"] as? String == "waiting")
        #expect(Set(timeline.compactMap { $0["host"] as? String }).isSuperset(of: ["site-a", "site-b"]))
        #expect(timeline.filter { $0["kind"] as? String == "machine" }.count >= 6)
        let approvals = try #require(report["approvals"] as? [[String: Any]])
        #expect(approvals.first?["by"] as? String == "alice")
        #expect(approvals.first?["reason"] as? String == "CHG-42 drill window")
        let probes = try #require(report["probes"] as? [[String: Any]])
        #expect(probes.contains { $0["node"] as? String == "workdir-exists" && $0["state"] as? String == "passed" })
        let lag = try #require(probes.first { $0["node"] as? String == "lag" })
        #expect((lag["observed"] as? [String])?.contains("stderr = a warning") == true, "\(lag)")
        let evidence = try #require(report["evidence"] as? [[String: Any]])
        let apply = try #require(
            evidence.first { $0["node"] as? String == "prepare@site-a" && $0["phase"] as? String == "apply" })
        #expect(apply["exitCode"] as? Int == 0)
        #expect((apply["stdout"] as? String)?.contains("preparing site-a with token ***") == true, "\(apply)")
        let trend = try #require(report["trend"] as? [[String: Any]])
        #expect(trend.map { $0["run"] as? String } == [firstID, secondID])
        #expect(trend.allSatisfy { $0["rtoSeconds"] is Double && $0["rpoSeconds"] is Double })
        #expect(!out.contains(Self.secret))
    }

    @Test func markdownAndJUnitCarryTheObjectives() async throws {
        let d = try drill(rtoMax: "200ms")
        let run = try await scheduled(d, approve: ["go"])
        #expect(run.status == 6, "\(run.said)")
        let runID = try cli.latestRunID(d.scratch)
        let markdown = try d.run.report(runID, format: .markdown)
        #expect(markdown.hasPrefix("# OBJECTIVE MISSED: qs-drill on two-local-sites"), "\(markdown)")
        #expect(markdown.contains("| rto | 200ms |"), "\(markdown)")
        #expect(markdown.contains("**MISSED by "), "\(markdown)")
        for section in ["## Objectives", "## Timeline", "## Approvals", "## Probes", "## Evidence", "## Trend"] {
            #expect(markdown.contains(section), "\(section)")
        }
        let junit = try d.run.report(runID, format: .junit)
        #expect(junit.contains("classname=\"qs-drill.objectives\" name=\"rto\""), "\(junit)")
        #expect(junit.contains("type=\"objectiveMissed\""), "\(junit)")
        #expect(junit.contains("tests=\"9\" failures=\"1\""), "7 step instances + 2 objectives: \(junit)")
        for text in [markdown, junit] { #expect(!text.contains(Self.secret)) }
    }

    @Test func aFailedRunsVerdictSaysWhichStepsFailedAndWhy() async throws {
        let d = try drill()
        let run = try await scheduled(d, approve: ["go"], params: [("broken", "true")])
        #expect(run.status == 1, "\(run.said)")
        let runID = try cli.latestRunID(d.scratch)
        let report = try json(String(contentsOfFile: "\(d.reports)/\(runID).json", encoding: .utf8))
        let verdict = try #require(report["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "failed")
        #expect(
            (verdict["detail"] as? String)?.contains("verify@site-a on site-a: expectation failed") == true,
            "\(verdict)")
        let timeline = try #require(report["timeline"] as? [[String: Any]])
        #expect(timeline.first { $0["node"] as? String == "verify@site-b" }?["state"] as? String == "failed")
        let metrics = try String(contentsOfFile: d.metrics, encoding: .utf8)
        #expect(!metrics.contains("runbook_last_run_rto_seconds"), "a failed drill proves no RTO: \(metrics)")
        #expect(metrics.contains("objective=\"rto\",unit=\"seconds\"} 0"), "rto not met: \(metrics)")
        #expect(
            metrics.contains(
                "runbook_last_run_success{runbook=\"qs-drill\",inventory=\"two-local-sites\",mode=\"drill\"} 0"))
    }

    // MARK: - --report-dir and --metrics whatever the outcome

    @Test func aFailedPreconditionStillWritesItsReportAndMetrics() async throws {
        let d = try drill()
        try FileManager.default.removeItem(atPath: d.scratch.work)
        let run = try await scheduled(d)
        #expect(run.status == 3, "\(run.said)")
        let runID = try cli.latestRunID(d.scratch)
        let report = try json(String(contentsOfFile: "\(d.reports)/\(runID).json", encoding: .utf8))
        let verdict = try #require(report["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "preconditionFailed")
        #expect((verdict["detail"] as? String)?.contains("workdir-exists on localhost: ") == true, "\(verdict)")
        // Nothing was recovered: the objectives say so rather than "met".
        let objectives = try #require(report["objectives"] as? [[String: Any]])
        #expect(objectives.count == 2)
        #expect(
            objectives.allSatisfy { $0["met"] is NSNull && ($0["note"] as? String)?.contains("not measured") == true })
        let html = try String(contentsOfFile: "\(d.reports)/latest.html", encoding: .utf8)
        #expect(html.contains("PRECONDITION FAILED"))
        #expect(html.contains(">not measured</span>") && !html.contains(">not measured: "), "said once per objective")
        let metrics = try String(contentsOfFile: d.metrics, encoding: .utf8)
        #expect(
            metrics.contains(
                "runbook_last_run_success{runbook=\"qs-drill\",inventory=\"two-local-sites\",mode=\"drill\"} 0"))
        #expect(
            metrics.contains(
                "runbook_last_run_exit_code{runbook=\"qs-drill\",inventory=\"two-local-sites\",mode=\"drill\"} 3"))
    }

    @Test func aFailedRunsVerdictNamesThePreconditionThatLeftAnItemOut() async throws {
        // A per-item precondition leaves its item out and the run fails (1, not 3): the verdict
        // says which precondition, where and why, not just "The run failed".
        let scratch = try Scratch()
        let file = try scratch.write(
            "sessions.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: per-session}
            modes: [drill]
            preconditions:
              - id: session-healthy
                for_each: vars.sessions
                key: item.name
                probe: command
                with: {run: [test, "${{ item.name }}", "!=", gv1]}
                message: the session is not healthy
            steps:
              - id: touch
                for_each: vars.sessions
                key: item.name
                action: shell
                with: {run: [touch, "\(scratch.work)/${{ item.name }}"]}
                undo: {action: shell, with: {run: [rm, -f, "\(scratch.work)/${{ item.name }}"]}}
            """)
        let inventory = try scratch.write(
            "inventory.yaml",
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: local}
            defaults: {transport: local}
            hosts: {}
            vars:
              sessions: [{name: gv0}, {name: gv1}]
            """)
        let reports = scratch.root.appendingPathComponent("reports").path
        let inProcess = try InProcessRun(scratch, outputs: RunOutputs(reportDirectory: reports))
        let run = try await InProcessRun.exitCode { try await inProcess.start(file, inventory: inventory) }
        #expect(run == 1, "\(inProcess.printed.all)")
        #expect(FileManager.default.fileExists(atPath: scratch.work + "/gv0"), "the other item ran")
        let runID = try cli.latestRunID(scratch)
        let report = try json(String(contentsOfFile: "\(reports)/\(runID).json", encoding: .utf8))
        let verdict = try #require(report["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "failed")
        #expect(
            (verdict["detail"] as? String)?.contains(
                "precondition session-healthy[gv1] on localhost: the session is not healthy")
                == true, "\(verdict)")
    }

    @Test func anUntilGatesProbeIsShownOnTheHostItPolled() async throws {
        // The gate itself runs on the controller (localhost); its probe read site-b.
        let scratch = try Scratch()
        let file = try scratch.write(
            "until.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: until-host}
            roles:
              sites: {min: 2}
            steps:
              - id: synced
                gate:
                  until:
                    probe: command
                    on: site-b
                    with: {run: [echo, done]}
                    condition: outputs.stdout == "done"
                    every: 1s
                    timeout: 30s
            """)
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let inProcess = try InProcessRun(scratch)
        let run = try await InProcessRun.exitCode { try await inProcess.start(file, inventory: inventory) }
        #expect(run == 0, "\(inProcess.printed.all)")
        let out = try inProcess.report(try cli.latestRunID(scratch), format: .json)
        let probes = try #require(try json(out)["probes"] as? [[String: Any]])
        let gate = try #require(probes.first { $0["node"] as? String == "synced" }, "\(probes)")
        #expect(gate["host"] as? String == "site-b", "\(gate)")
    }

    @Test func aRunThatCannotTakeItsLockStillWritesItsReportAndMetrics() async throws {
        let d = try drill()
        let parked = try await scheduled(d)
        #expect(parked.status == 4, "\(parked.said)")
        let holder = try cli.latestRunID(d.scratch)
        // The parked run holds no lock once it ends; a run that is still going does: hold it
        // the way a running runbook does, with a live process (this one; the lock is a flock,
        // which a second open file of the same process cannot take either).
        let lockDirectory = d.scratch.state + "/locks"
        let lock = try RunLock.acquire(
            directory: lockDirectory, runbook: "qs-drill", inventory: "two-local-sites", runID: "20261201-000000-beef")
        defer { lock.release() }
        let locked = try await scheduled(d)
        #expect(locked.status == 5, "\(locked.said)")
        let files = try FileManager.default.contentsOfDirectory(atPath: d.reports).filter { $0.hasSuffix(".json") }
        let lockedReport = try #require(files.first { !$0.hasPrefix(holder) && $0 != "latest.json" })
        let report = try json(String(contentsOfFile: "\(d.reports)/\(lockedReport)", encoding: .utf8))
        let verdict = try #require(report["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "locked")
        #expect((verdict["detail"] as? String)?.contains("20261201-000000-beef") == true, "\(verdict)")
        #expect((report["trend"] as? [[String: Any]])?.first?["run"] as? String == holder)
        let html = try String(
            contentsOfFile: "\(d.reports)/\(lockedReport.dropLast(".json".count)).html", encoding: .utf8)
        #expect(html.contains("NOT RUN: LOCKED") && html.contains("20261201-000000-beef"), "\(html.prefix(2000))")
        let metrics = try String(contentsOfFile: d.metrics, encoding: .utf8)
        #expect(
            metrics.contains(
                "runbook_last_run_exit_code{runbook=\"qs-drill\",inventory=\"two-local-sites\",mode=\"drill\"} 5"))
        #expect(!metrics.contains("runbook_last_run_rto_seconds"), "a run that did not start has no RTO")
    }

    @Test func aRunStartedWithRelativePathsFromItsWorkingDirectoryResumesFromAnywhere() throws {
        // As runbook-drill.service does: WorkingDirectory=/opt/runbook, `run Runbooks/...`.
        let d = try drill()
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = d.scratch.state
        environment["NO_COLOR"] = "1"
        environment["QS_TOKEN"] = Self.secret
        let parked = try runProgram(
            cli.binary, ["run", "drill.yaml", "-i", "inventory.yaml", "--yes", "--report-dir", "reports"],
            environment: environment, currentDirectory: d.scratch.root)
        #expect(parked.status == 4, "\(parked.stderr)")
        let runID = try cli.latestRunID(d.scratch)
        let record = try #require(try d.scratch.journal().run(id: runID))
        #expect(record.runbookPath == d.file, "journaled absolute: \(record.runbookPath)")
        #expect(record.inventoryPath == d.inventory, "\(record.inventoryPath)")
        #expect(FileManager.default.fileExists(atPath: d.reports + "/\(runID).html"))
        let approve = try RunbookTestSupport.runbook(
            d.scratch, ["approve", runID, "go", "--by", "alice", "--reason", "timer drill"])
        #expect(approve.status == 0, "\(approve.stderr)")
        let resumed = try runProgram(
            cli.binary, ["resume", runID], environment: environment, currentDirectory: URL(fileURLWithPath: "/"))
        #expect(resumed.status == 0, "resumed from /: \(resumed.stderr)")
    }

    @Test func theMetricsFileParsesWithPrometheusParserAndHoldsTheMeasuredRPO() async throws {
        guard let python = Self.pythonWithPrometheusClient() else {
            print(
                "skipped: python3 with prometheus_client is missing (apt-get install python3-prometheus-client; .ci/run does)"
            )
            return
        }
        let (d, _, secondID) = try await twoRuns()
        let attributes = try FileManager.default.attributesOfItem(atPath: d.metrics)
        #expect((attributes[.posixPermissions] as? Int) == 0o644, "node_exporter reads it as another user")
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: (d.metrics as NSString).deletingLastPathComponent)
        #expect(leftovers == ["runbook.prom"], "written atomically: no temporary file left: \(leftovers)")
        let parsed = try runProgram(
            URL(fileURLWithPath: python), ["-c", Self.parser, d.metrics],
            environment: ProcessInfo.processInfo.environment)
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let samples = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [[String: Any]])
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in
                sample["name"] as? String == name
                    && labels.allSatisfy { (sample["labels"] as? [String: String])?[$0.key] == $0.value }
            }?["value"] as? Double
        }
        let base = ["runbook": "qs-drill", "inventory": "two-local-sites", "mode": "drill"]
        #expect(value("runbook_last_run_success", base) == 1)
        #expect(value("runbook_last_run_exit_code", base) == 0)
        let record = try #require(try d.scratch.journal().run(id: secondID))
        #expect(
            abs((value("runbook_last_run_start_time_seconds", base) ?? 0) - record.startedAt.timeIntervalSince1970)
                < 0.01)
        let events = try d.scratch.journal().events(runID: secondID)
        let rpo = try #require(
            events.compactMap { record -> RunEvent.ObjectiveMeasured? in
                if case .objectiveMeasured(let m)? = record.event, m.name == "rpo" { return m }
                return nil
            }.last?.value)
        #expect(abs((value("runbook_last_run_rpo_seconds", base) ?? -1) - rpo) < 0.001)
        #expect(value("runbook_objective_max", base.merging(["objective": "rpo"]) { a, _ in a }) == 300)
        #expect(value("runbook_objective_met", base.merging(["objective": "rto"]) { a, _ in a }) == 1)
        #expect((value("runbook_last_run_waited_seconds", base) ?? 0) >= 1.5)
        #expect(value("runbook_last_run_rto_seconds", base) != nil)
    }

    /// Prints every sample of a textfile as JSON, through prometheus_client's own parser.
    static let parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for family in text_string_to_metric_families(open(sys.argv[1]).read()):
            for s in family.samples:
                out.append({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type})
        print(json.dumps(out))
        """

    static func pythonWithPrometheusClient() -> String? {
        for python in ["/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: python) {
            if let check = try? runProgram(URL(fileURLWithPath: python), ["-c", "import prometheus_client"]),
                check.status == 0
            {
                return python
            }
        }
        return nil
    }
}
