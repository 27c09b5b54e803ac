import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `Runbooks/georep-drill.yaml` on the two-site lab, run the way a timer runs it (no terminal:
/// stdin is /dev/null, `--yes`). The lab's bricks are plain directories (no device-mapper), so
/// the drill runs without `snapshot: true`; the snapshot path is tested against the stand-in
/// CLI (SnapshotStandInTests), and its refusal here is checked too.
extension LabEndToEndTests {
    var drill: String { root.appendingPathComponent("Runbooks/georep-drill.yaml").path }

    /// `runbook ARGS` with no terminal: stdin from /dev/null.
    func unattended(_ state: String, _ arguments: [String]) throws -> ProcessOutput {
        var env = environment
        env["RUNBOOK_STATE_DIR"] = state
        env["NO_COLOR"] = "1"
        let start = Date()
        let result = try runProgram(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "exec \"$0\" \"$@\" < /dev/null", binary.path] + arguments,
            environment: env)
        print(
            "$ runbook \(arguments.joined(separator: " ")) < /dev/null -> exit \(result.status) in \(Int(Date().timeIntervalSince(start)))s"
        )
        return result
    }

    /// Worker states of the session, e.g. ["Active", "Passive"], sorted.
    func workerStates() throws -> [String] {
        let text = try sessionStatus()
        return text.split(separator: "\n").compactMap { line -> String? in
            for state in ["Active", "Passive", "Faulty", "Paused", "Stopped", "Created", "Initializing..."]
            where line.split(separator: " ").contains(Substring(state)) {
                return state
            }
            return nil
        }.sorted()
    }

    func drillMarkers() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: primaryMount + "/.runbook-drill")) ?? []
    }

    /// The drill's command line and environment as `Examples/systemd/runbook-drill.service`
    /// states them (ExecStart, Environment=, WorkingDirectory=), with the site's paths replaced
    /// by the test's: the binary, the lab's inventory, the state, report and metrics locations.
    struct ScheduledDrill {
        var arguments: [String]
        var environment: [String: String]
        var workingDirectory: String
        var reports: String
        var metrics: String

        init(unit: String, inventory: String, state: String, root: String) throws {
            // systemd joins lines ending in a backslash.
            let lines = unit.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n").map(String.init)
            func values(_ key: String) -> [String] {
                lines.filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
            }
            let exec = try #require(values("ExecStart").first, "the unit has no ExecStart").split(separator: " ")
                .map(String.init)
            try #require(exec.count > 2 && exec[1] == "run", "ExecStart runs `runbook run`: \(exec)")
            let flags = Set(exec)
            for flag in ["--yes", "--report-dir", "--metrics", "-i"] {
                try #require(flags.contains(flag), "the unit's ExecStart passes \(flag): \(exec)")
            }
            reports = state + "/reports"
            let sitesMetrics = try #require(exec.firstIndex(of: "--metrics")).advanced(by: 1)
            metrics = state + "/textfile/" + (exec[sitesMetrics] as NSString).lastPathComponent
            var arguments = Array(exec.dropFirst())
            for (flag, value) in [("-i", inventory), ("--report-dir", reports), ("--metrics", metrics)] {
                let index = try #require(arguments.firstIndex(of: flag))
                arguments[index + 1] = value
            }
            self.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            for assignment in values("Environment") {
                let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                environment[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            try #require(environment["RUNBOOK_STATE_DIR"] != nil, "the unit sets RUNBOOK_STATE_DIR")
            environment["RUNBOOK_STATE_DIR"] = state
            self.environment = environment
            // The unit runs the shipped runbook by its relative path from WorkingDirectory.
            try #require(!values("WorkingDirectory").isEmpty, "the unit sets WorkingDirectory")
            workingDirectory = root
            // node_exporter's textfile directory exists before the first run.
            try FileManager.default.createDirectory(atPath: state + "/textfile", withIntermediateDirectories: true)
        }
    }

    /// Runs the scheduled drill as systemd does: no terminal at all (a session of its own, with
    /// no controlling terminal; stdin /dev/null; stdout and stderr not terminals).
    func scheduled(_ drill: ScheduledDrill) throws -> ProcessOutput {
        let start = Date()
        let result = try runProgram(
            URL(fileURLWithPath: "/usr/bin/setsid"), ["--wait", binary.path] + drill.arguments,
            environment: drill.environment, currentDirectory: URL(fileURLWithPath: drill.workingDirectory))
        print(
            "$ runbook \(drill.arguments.joined(separator: " ")) (as runbook-drill.service) -> exit \(result.status) in \(Int(Date().timeIntervalSince(start)))s"
        )
        return result
    }

    /// The journaled outputs of a step's instances: `id`, or `id[KEY]` (a `for_each` step, one
    /// instance per session), with or without `@host`.
    func instances(_ steps: [StepRecord], of id: String) -> [StepRecord] {
        steps.filter { step in
            let node = step.nodeID.split(separator: "@", maxSplits: 1).first.map(String.init) ?? step.nodeID
            return node == id || (node.hasPrefix(id + "[") && node.hasSuffix("]"))
        }
    }

    func seconds(_ value: Value?) -> Double? {
        switch value {
        case .double(let number)?: return number
        case .int(let number)?: return Double(number)
        default: return nil
        }
    }

    @Test func drillPassesTwiceUnattendedAndLeavesTheSessionAndSecondaryAsTheyWere() throws {
        try healthyLab()
        try waitUntil(120, "one Active and one Passive worker") { try workerStates() == ["Active", "Passive"] }
        let before = (
            workers: try workerStates(), readOnly: try option("gfs-b1", secondaryVolume, "features.read-only"),
            indexing: try option("gfs-b1", secondaryVolume, "geo-replication.indexing")
        )
        #expect(before.readOnly == "on")
        // Something for the content check to compare (a fresh lab's volumes are empty): written
        // before the first checkpoint, so its completion means they are on the secondary. They
        // are left in place (on both sides, as replicated).
        let content = "\(primaryMount)/drill-content-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: content, withIntermediateDirectories: true)
        for index in 1...3 {
            try write("\(content)/file-\(index).txt", String(repeating: "drill \(index)\n", count: 100))
        }
        let state = try newState()
        let unit = try String(
            contentsOf: root.appendingPathComponent("Examples/systemd/runbook-drill.service"), encoding: .utf8)
        // The site's inventory with a webhook (a real HTTP server on loopback) told of each
        // drill's end, signed with a key the unit's environment holds (issue 24).
        let hooks = try WebhookReceiver(directory: state)
        defer { hooks.stop() }
        let notifying = state + "/inventory-notify.yaml"
        try
            (String(contentsOfFile: inventory, encoding: .utf8)
            + "\nnotify:\n  - name: drills\n    webhook: {url: \"\(hooks.base)/drills\", secret_env: DRILL_HOOK_KEY}\n"
            + "    events: [run.succeeded, run.failed]\n").write(toFile: notifying, atomically: true, encoding: .utf8)
        var drill = try ScheduledDrill(
            unit: unit, inventory: notifying, state: state, root: root.path)
        drill.environment["DRILL_HOOK_KEY"] = "drill-key-0b9d"
        print("drill reports: \(drill.reports), metrics: \(drill.metrics)")
        var runs: [String] = []
        var rpo: Double?
        for round in 1...2 {
            let result = try timed("drill \(round)") { try scheduled(drill) }
            #expect(result.status == 0, "drill \(round): \(result.stdout.suffix(3000))\n\(result.stderr.suffix(2000))")
            let run = try runID(state)
            runs.append(run)
            let steps = try journal(state).steps(runID: run)
            let measured = instances(steps, of: "rpo")
            try #require(!measured.isEmpty, "drill \(round): no rpo step in \(steps.map(\.nodeID))")
            var lags: [Double] = []
            for step in measured {
                let outputs = ValueJSON.decode(step.outputsJSON)
                print(
                    "drill \(round) RPO (\(step.nodeID)): checkpoint_lag \(outputs["checkpoint_lag"]?.renderedForText ?? "?"), oldest_last_synced \(outputs["oldest_last_synced"]?.renderedForText ?? "?"), last_synced_age \(outputs["last_synced_age"]?.renderedForText ?? "?")"
                )
                // Journaled outputs keep numbers as numbers and durations and times as their text.
                let lag = try #require(
                    seconds(outputs["checkpoint_lag_seconds"]), "\(step.nodeID): no checkpoint_lag_seconds: \(outputs)")
                #expect(lag >= 0)
                lags.append(lag)
                #expect(outputs["oldest_last_synced"].map { $0 != .null && !$0.renderedForText.isEmpty } == true)
            }
            rpo = lags.max()
            // The drill's end reached the webhook: run.succeeded with the RTO and RPO as measured.
            let told = try #require(
                hooks.requests.first {
                    $0.json["run"] as? String == run && $0.json["event"] as? String == "run.succeeded"
                },
                "drill \(round): no run.succeeded in \(hooks.requests.map(\.body))")
            let objectives = Dictionary(
                uniqueKeysWithValues: (told.json["objectives"] as? [[String: Any]] ?? []).map {
                    ($0["name"] as? String ?? "", $0)
                })
            let toldRPO = try #require(objectives["rpo"]?["value"] as? Double, "\(told.body)")
            #expect(abs(toldRPO - (rpo ?? -1)) < 0.001, "the webhook's RPO \(toldRPO) s, the rpo step's \(rpo ?? -1) s")
            #expect(objectives["rto"]?["value"] is Double && objectives["rto"]?["met"] as? Bool == true, "\(told.body)")
            #expect(told.headers["x-runbook-signature"]?.hasPrefix("sha256=") == true)
            print("drill \(round) webhook: \(told.json["text"] as? String ?? "")")
            let checks = instances(steps, of: "content-check")
            #expect(!checks.isEmpty)
            for check in checks {
                #expect(check.state == .succeeded || check.state == .alreadyDone, "\(check)")
                let outputs = ValueJSON.decode(check.outputsJSON)
                print(
                    "drill \(round) content check: compared \(outputs["compared"]?.renderedForText ?? "?") files of \(outputs["entries"]?.renderedForText ?? "?") entries"
                )
                #expect((seconds(outputs["compared"]) ?? 0) >= 3, "the files written before the drill: \(outputs)")
            }
            #expect(
                steps.filter { $0.stepID.hasPrefix("snapshot") || $0.stepID.hasSuffix("clone") }.allSatisfy {
                    $0.state == .skipped
                })
            #expect(drillMarkers().isEmpty, "the marker is removed: \(drillMarkers())")
            let status = try sessionStatus()
            #expect(try workerStates() == before.workers, "\(status)")
            #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == before.readOnly)
            #expect(try option("gfs-b1", secondaryVolume, "geo-replication.indexing") == before.indexing)
            // The run left its report in the report dir, whatever else happens to it later.
            let files = try FileManager.default.contentsOfDirectory(atPath: drill.reports)
            for name in ["\(run).html", "\(run).json", "latest.html", "latest.json"] {
                #expect(files.contains(name), "drill \(round): \(name) in \(drill.reports): \(files)")
            }
        }
        #expect(try journal(state).runs(limit: 5).count == 2)

        // The second report's trend holds both runs, in the JSON and on the HTML page.
        let second = try #require(runs.last)
        let json = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(drill.reports)/\(second).json"))) as? [String: Any])
        #expect((json["verdict"] as? [String: Any])?["kind"] as? String == "passed", "\(json["verdict"] ?? "")")
        let trend = try #require(json["trend"] as? [[String: Any]])
        #expect(trend.map { $0["run"] as? String } == runs, "\(trend)")
        #expect(trend.allSatisfy { $0["rtoSeconds"] is Double && $0["rpoSeconds"] is Double }, "\(trend)")
        let html = try String(contentsOfFile: "\(drill.reports)/\(second).html", encoding: .utf8)
        #expect(html.contains("The last 2 runs of georep-drill on "), "\(html.suffix(3000))")
        #expect(html.contains("<b>\(second)</b> (this run)"))
        for run in runs { #expect(html.contains("data-run=\"\(run)\""), "\(run) in the HTML trend") }
        // The status probe's workers, one line each (not one JSON blob).
        #expect(html.contains("workers[0]: brick=/bricks/gvprimary"), "\(html.prefix(3000))")
        #expect(!html.contains("workers = [{"))

        // The metrics file, read by Prometheus's own parser: success 1 and the measured RPO,
        // labelled by runbook, inventory and mode.
        if let python = RehearsalReportTests.pythonWithPrometheusClient() {
            let parsed = try runProgram(
                URL(fileURLWithPath: python), ["-c", RehearsalReportTests.parser, drill.metrics],
                environment: environment)
            #expect(parsed.status == 0, "\(parsed.stderr)")
            let samples = try #require(
                try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [[String: Any]])
            let labels = ["runbook": "georep-drill", "inventory": "gluster-lab-two-sites", "mode": "drill"]
            func value(_ name: String) -> Double? {
                samples.first { $0["name"] as? String == name && $0["labels"] as? [String: String] == labels }?[
                    "value"] as? Double
            }
            #expect(value("runbook_last_run_success") == 1, "\(samples)")
            let measured = try #require(value("runbook_last_run_rpo_seconds"), "\(samples)")
            let journaled = try #require(rpo)
            #expect(abs(measured - journaled) < 0.001, "metrics RPO \(measured) s, the rpo step's \(journaled) s")
            print("drill metrics: rpo \(measured) s, rto \(value("runbook_last_run_rto_seconds") ?? -1) s")
        } else {
            Issue.record("python3 with prometheus_client is missing (apt-get install python3-prometheus-client)")
        }

        // snapshot: true is refused before anything changes: the lab's bricks are not thin LVs;
        // the report and metrics say so. The precondition is per session: the lab's one session
        // is left out, the run fails (1).
        var refusedDrill = drill
        refusedDrill.arguments += ["-p", "snapshot=true"]
        let refused = try scheduled(refusedDrill)
        #expect(refused.status == 1, "\(refused.stdout.suffix(2000))\(refused.stderr.suffix(1000))")
        let text = refused.stdout + refused.stderr
        #expect(
            text.contains("snapshot-possible[gvprimary]") && text.contains("thinly provisioned"), "\(text.suffix(2000))"
        )
        #expect(text.contains("item [gvprimary] left out"), "\(text.suffix(2000))")
        #expect(
            hooks.requests.contains {
                $0.json["event"] as? String == "run.failed" && $0.json["exit_code"] as? Int == 1
            },
            "the refused drill's run.failed: \(hooks.requests.map(\.body))")
        #expect(drillMarkers().isEmpty)
        let latest = try String(contentsOfFile: "\(drill.reports)/latest.html", encoding: .utf8)
        #expect(latest.contains("<strong>FAILED</strong>"), "\(latest.prefix(2000))")
        #expect(latest.contains("precondition snapshot-possible[gvprimary] on gfs-b1: "), "\(latest.prefix(3000))")
        let metrics = try String(contentsOfFile: drill.metrics, encoding: .utf8)
        let labels = "{runbook=\"georep-drill\",inventory=\"gluster-lab-two-sites\",mode=\"drill\"}"
        #expect(metrics.contains("runbook_last_run_exit_code\(labels) 1\n"), "\(metrics)")
        #expect(metrics.contains("runbook_last_run_success\(labels) 0\n"), "\(metrics)")
    }

    @Test func drillFailsItsContentCheckOnAFileDeletedOnTheSecondaryAndNamesIt() throws {
        try healthyLab()
        let name = "drill-broken-\(UUID().uuidString.prefix(8).lowercased()).txt"
        try write("\(primaryMount)/\(name)", "written on the primary\n")
        defer { try? FileManager.default.removeItem(atPath: "\(primaryMount)/\(name)") }
        try timed("file synced to the secondary") {
            try waitUntil(300, "\(name) is on the secondary", every: 5) {
                FileManager.default.fileExists(atPath: "\(secondaryMount)/\(name)")
            }
        }
        // Behind geo-rep's back: on both bricks of the secondary's replica 2, not through a mount.
        for brickNode in ["gfs-b1", "gfs-b2"] {
            let removed = try node(brickNode, ["rm", "-f", "/bricks/gvsecondary/\(name)"])
            #expect(removed.status == 0, "\(brickNode): \(removed.stderr)")
        }
        try waitUntil(30, "\(name) is gone from the secondary mount") {
            !FileManager.default.fileExists(atPath: "\(secondaryMount)/\(name)")
        }
        let state = try newState()
        let result = try timed("broken drill") { try unattended(state, ["run", drill, "-i", inventory, "--yes"]) }
        #expect(result.status == 1, "\(result.stdout.suffix(3000))\n\(result.stderr.suffix(2000))")
        let text = result.stdout + result.stderr
        #expect(text.contains("+ \(name)"), "the failure names the path: \(text.suffix(3000))")
        #expect(text.contains("the secondary differs from the primary"), "\(text.suffix(3000))")
        let steps = try journal(state).steps(runID: try runID(state))
        #expect(steps.first { $0.stepID == "content-check" }?.state == .failed)
        #expect(drillMarkers().isEmpty, "the rollback removes the marker: \(drillMarkers())")
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "on")
    }

    /// Issue 17: what breaks real sites. Debian's rsync security update (3.5.0+ds1-0+deb12u1) makes
    /// geo-rep's `sync_method rsync` create every file EMPTY on the secondary while rsync exits 0
    /// and the session reports nothing wrong (GlusterFS issue 4533); the lab pins the working
    /// 3.2.7. Here the broken binary is bind-mounted over /usr/bin/rsync inside the nodes only
    /// (`rsync.sh broken`; the machine keeps the pinned one): a 100 kB file written on the primary
    /// arrives empty, the checkpoint still completes, and the drill fails its content check naming
    /// the file and its sizes. The file is then deleted (a delete replicates) and the nodes get
    /// the pinned rsync back.
    @Test func drillWithTheBrokenRsyncFailsItsContentCheckNamingTheEmptyFile() throws {
        try healthyLab()
        // Named to sort first: the failure message shows the first differences.
        let name = "-rsync-empty-\(UUID().uuidString.prefix(8).lowercased()).bin"
        let path = "\(primaryMount)/\(name)"
        let broken = try lab("rsync.sh", ["broken"])
        try #require(broken.status == 0, "rsync.sh broken: \(broken.stdout)\(broken.stderr)")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? waitUntil(90, "\(name) is deleted on the secondary too") {
                !FileManager.default.fileExists(atPath: "\(secondaryMount)/\(name)")
            }
            let pinned = try? lab("rsync.sh", ["pinned"])
            #expect(pinned?.status == 0, "rsync.sh pinned: \(pinned?.stdout ?? "")\(pinned?.stderr ?? "")")
        }
        print(broken.stdout)
        let data = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try data.write(to: URL(fileURLWithPath: path))
        try timed("a 100 kB file reaches the secondary under the broken rsync") {
            try waitUntil(90, "\(name) exists on the secondary") {
                FileManager.default.fileExists(atPath: "\(secondaryMount)/\(name)")
            }
            Thread.sleep(forTimeInterval: 5)  // its data would follow its entry within the same batch
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: "\(secondaryMount)/\(name)")[.size] as? Int) ?? -1
        print("lab: \(name) on the secondary: \(size) bytes (100000 on the primary)")
        #expect(size == 0, "the broken rsync leaves the file empty on the secondary")

        let state = try newState()
        let result = try timed("drill with the broken rsync") {
            try unattended(state, ["run", drill, "-i", inventory, "--yes"])
        }
        let text = result.stdout + result.stderr
        print(text.suffix(3000))
        #expect(result.status == 1, "\(text.suffix(3000))")
        #expect(text.contains("~ \(name) (size 100000 -> 0"), "the failure names the empty file: \(text.suffix(3000))")
        #expect(text.contains("the secondary differs from the primary although the checkpoint completed"))
        let steps = try journal(state).steps(runID: try runID(state))
        #expect(steps.first { $0.stepID == "wait-synced" }?.state == .succeeded, "the checkpoint completed regardless")
        #expect(steps.first { $0.stepID == "content-check" }?.state == .failed)
        #expect(drillMarkers().isEmpty, "the rollback removes the marker: \(drillMarkers())")
    }
}
