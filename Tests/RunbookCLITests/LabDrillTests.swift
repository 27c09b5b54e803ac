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

    @Test func drillPassesTwiceUnattendedAndLeavesTheSessionAndSecondaryAsTheyWere() throws {
        try healthyLab()
        try waitUntil(120, "one Active and one Passive worker") { try workerStates() == ["Active", "Passive"] }
        let before = (
            workers: try workerStates(), readOnly: try option("gfs-b1", secondaryVolume, "features.read-only"),
            indexing: try option("gfs-b1", secondaryVolume, "geo-replication.indexing")
        )
        #expect(before.readOnly == "on")
        let state = try newState()
        for round in 1...2 {
            let result = try timed("drill \(round)") {
                try unattended(state, ["run", drill, "-i", inventory, "--yes"])
            }
            #expect(result.status == 0, "drill \(round): \(result.stdout.suffix(3000))\n\(result.stderr.suffix(2000))")
            let run = try runID(state)
            let steps = try journal(state).steps(runID: run)
            let rpo = try #require(steps.first { $0.stepID == "rpo" })
            let outputs = ValueJSON.decode(rpo.outputsJSON)
            print(
                "drill \(round) RPO: checkpoint_lag \(outputs["checkpoint_lag"]?.renderedForText ?? "?"), oldest_last_synced \(outputs["oldest_last_synced"]?.renderedForText ?? "?"), last_synced_age \(outputs["last_synced_age"]?.renderedForText ?? "?")"
            )
            // Journaled outputs keep numbers as numbers and durations and times as their text.
            switch outputs["checkpoint_lag_seconds"] {
            case .double(let lag)?: #expect(lag >= 0)
            case .int(let lag)?: #expect(lag >= 0)
            default: Issue.record("drill \(round): no checkpoint_lag_seconds in \(outputs)")
            }
            #expect(outputs["oldest_last_synced"].map { $0 != .null && !$0.renderedForText.isEmpty } == true)
            let check = try #require(steps.first { $0.stepID == "content-check" })
            #expect(check.state == .succeeded || check.state == .alreadyDone, "\(check)")
            #expect(
                steps.filter { $0.stepID.hasPrefix("snapshot") || $0.stepID.hasSuffix("clone") }.allSatisfy {
                    $0.state == .skipped
                })
            #expect(drillMarkers().isEmpty, "the marker is removed: \(drillMarkers())")
            let status = try sessionStatus()
            #expect(try workerStates() == before.workers, "\(status)")
            #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == before.readOnly)
            #expect(try option("gfs-b1", secondaryVolume, "geo-replication.indexing") == before.indexing)
        }
        #expect(try journal(state).runs(limit: 5).count == 2)

        // snapshot: true is refused before anything changes: the lab's bricks are not thin LVs.
        // The precondition is per session: the lab's one session is left out, the run fails (1).
        let refused = try unattended(state, ["run", drill, "-i", inventory, "--yes", "-p", "snapshot=true"])
        #expect(refused.status == 1, "\(refused.stdout.suffix(2000))\(refused.stderr.suffix(1000))")
        let text = refused.stdout + refused.stderr
        #expect(
            text.contains("snapshot-possible[gvprimary]") && text.contains("thinly provisioned"), "\(text.suffix(2000))"
        )
        #expect(text.contains("item [gvprimary] left out"), "\(text.suffix(2000))")
        #expect(drillMarkers().isEmpty)
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
        // Behind geo-rep's back: on the secondary's brick, not through a mount.
        let removed = try node("gfs-b1", ["rm", "-f", "/bricks/gvsecondary/\(name)"])
        #expect(removed.status == 0, "\(removed.stderr)")
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
}
