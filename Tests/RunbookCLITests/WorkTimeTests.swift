import Foundation
import RunbookExecution
import RunbookReports
import Testing

@testable import RunbookCLI

/// Issue 19, defect 14: a run parked for an hour and resumed. The time it worked is told apart
/// from its wall time; a step re-verified after the resume does not count the hour parked in
/// between; a gate's time is how long it waited, parked or not.
@Suite struct WorkTimeTests {
    let t0 = Date(timeIntervalSince1970: 1_795_598_100)

    func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    func event(_ seq: Int, _ type: String, _ seconds: Double) -> EventRecord {
        EventRecord(
            runID: "R", seq: seq, ts: at(seconds), type: type, step: nil, host: nil, payloadJSON: "{}", prevHash: "",
            hash: "")
    }

    @Test func aResumedRunsWorkTimeLeavesOutTheHourItWasParked() {
        let run = RunRecord(
            id: "R", runbookName: "r", runbookPath: "/r.yaml", inventoryName: "i", inventoryPath: "/i.yaml",
            mode: "planned", paramsJSON: "{}", planHash: "", planJSON: "{}", status: .succeeded, exitCode: 0, pid: 1,
            hostname: "elsewhere", startedAt: t0, finishedAt: at(3700))
        let events = [
            event(1, "run.started", 0), event(2, "run.parked", 60), event(3, "run.resumed", 3660),
            event(4, "run.finished", 3700),
        ]
        let steps = [
            // Done before the park, re-verified after the resume.
            StepRecord(
                runID: "R", nodeID: "check", stepID: "check", host: "h", state: .succeeded, startedAt: at(10),
                finishedAt: at(3670)),
            // A gate reached before the park, answered after it.
            StepRecord(
                runID: "R", nodeID: "go", stepID: "go", state: .succeeded, startedAt: at(50), finishedAt: at(3665),
                firstReachedAt: at(50)),
        ]
        let out = RunbookCommand.Status.render(run, steps: steps, now: at(4000), color: false, events: events)
        #expect(out.contains("(took 1h01m40s wall; 1m40s at work, the rest parked or stopped)"), "\(out)")
        let check = out.split(separator: "\n").first { $0.contains("✓ check ") }
        #expect(check?.contains(" 1m00s") == true, "\(out)")
        let gate = out.split(separator: "\n").first { $0.contains("✓ go ") }
        #expect(gate?.contains(" 1h00m15s") == true, "\(out)")

        let table = summaryTable(steps, color: false, run: .succeeded, idle: ReportText.idleIntervals(events))
        let rows = table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first { $0.first == "check" }?.contains("60.0s") == true, "\(table)")
        #expect(rows.first { $0.first == "go" }?.contains("3615.0s") == true, "\(table)")
    }
}
