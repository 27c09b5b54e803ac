import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime
import RunbookTestSupport
import Testing

/// Objectives measured by real runs on local hosts: journaled, and a missed one exits 6. The
/// runs are driven in-process through the run controller (the objectives are its work, not the
/// process's).
@Suite struct ObjectiveRunTests {

    /// A quickstart-like runbook: a step that takes `sleep` seconds, a marker written before it
    /// (the "last synced" time), and an approval gate.
    static func runbook(rtoMax: String, rpoMax: String, sleep: String = "1") -> String {
        """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: drill}
        modes: [drill]
        steps:
          - id: marker
            probe: command
            with: {run: [date, -u, "+%Y-%m-%dT%H:%M:%SZ"]}
          - id: work
            needs: [marker]
            probe: command
            with: {run: [sleep, "\(sleep)"]}
          - id: go
            needs: [work]
            gate: {approval: {prompt: "Go?"}}
        objectives:
          rto: {max: \(rtoMax), measure: run.elapsed - run.waited, description: machine time}
          rpo: {max: \(rpoMax), measure: since(steps.marker.outputs.stdout)}
        """
    }

    func measured(_ scratch: Scratch, _ runID: String) throws -> [String: RunEvent.ObjectiveMeasured] {
        var result: [String: RunEvent.ObjectiveMeasured] = [:]
        for record in try scratch.journal().events(runID: runID) {
            if case .objectiveMeasured(let m)? = record.event { result[m.name] = m }
        }
        return result
    }

    @Test func metObjectivesAreJournaledAndExitZero() async throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(rtoMax: "10m", rpoMax: "10m"))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let run = try InProcessRun(scratch)
        let end = try await run.start(file, inventory: inventory, approve: ["go"])
        #expect(end.exitCode == 0, "\(end.outcome)")
        #expect(run.observed.objectiveLines.contains { $0.contains("objective rto: ") }, "\(run.observed.all)")
        let runID = end.runID
        let objectives = try measured(scratch, runID)
        let rto = try #require(objectives["rto"])
        #expect(rto.met == true)
        #expect(rto.unit == "seconds")
        #expect(rto.maxValue == 600)
        #expect((rto.value ?? 0) >= 1, "the step slept a second: \(rto)")
        #expect(rto.measure == "run.elapsed - run.waited")
        let rpo = try #require(objectives["rpo"])
        #expect(rpo.met == true)
        #expect((rpo.value ?? -1) >= 0)
        #expect(try scratch.journal().run(id: runID)?.exitCode == 0)
    }

    @Test func aMissedObjectiveExitsSixSayingWhichAndByHowMuch() async throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(rtoMax: "100ms", rpoMax: "10m"))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let run = try InProcessRun(scratch)
        let end = try await run.start(file, inventory: inventory, approve: ["go"])
        #expect(end.exitCode == 6, "\(end.outcome)")
        // `MISSED an objective (exit 6)`, then each missed one's summary.
        #expect(end.outcome == .succeeded && end.missed.count == 1, "\(end.missed)")
        let missed = end.missed.map(\.summary).joined(separator: "\n")
        #expect(missed.contains("rto: "), "\(missed)")
        #expect(missed.contains("objective 100ms: MISSED by "), "\(missed)")
        let runID = end.runID
        let rto = try #require(try measured(scratch, runID)["rto"])
        #expect(rto.met == false)
        #expect((rto.excess ?? 0) >= 0.9, "slept 1 s against 100 ms: \(rto)")
        let record = try #require(try scratch.journal().run(id: runID))
        #expect(record.status == .succeeded)
        #expect(record.exitCode == 6)
        // Every step did its work: nothing to resume (exit 0).
        await #expect {
            try await run.resume(runID)
        } throws: { error in
            if case .alreadySucceeded(let record)? = error as? RunRefusal { return record.id == runID }
            return false
        }
    }

    @Test func timeParkedAtAnApprovalGateIsNotMachineTime() async throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(rtoMax: "1m", rpoMax: "1h", sleep: "0"))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let run = try InProcessRun(scratch)
        let parked = try await run.start(file, inventory: inventory)
        #expect(parked.exitCode == 4, "\(parked.outcome)")
        let runID = parked.runID
        #expect(try measured(scratch, runID).isEmpty, "a parked run has not ended: nothing measured yet")
        try await Task.sleep(for: .seconds(2))
        let resumed = try await run.resume(runID, approve: ["go"])
        #expect(resumed.exitCode == 0, "\(resumed.outcome)")
        let rto = try #require(try measured(scratch, runID)["rto"])
        #expect((rto.value ?? 99) < 2, "the 2 s parked at the gate are people's time, not the run's: \(rto)")
        // The marker probe ran again on resume (done steps are re-verified): measured, from its new output.
        #expect(try measured(scratch, runID)["rpo"]?.met == true)
    }

    @Test func aStepThatDidNotRunLeavesItsObjectiveNotMeasured() async throws {
        let scratch = try Scratch()
        let text = Self.runbook(rtoMax: "1m", rpoMax: "1h").replacingOccurrences(
            of: "  - id: marker\n", with: "  - id: marker\n    when: mode == 'never'\n")
        let file = try scratch.write("r.yaml", text)
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let end = try await InProcessRun(scratch).start(file, inventory: inventory, approve: ["go"])
        #expect(end.exitCode == 6, "\(end.outcome)")
        let missed = end.missed.map(\.summary).joined(separator: "\n")
        #expect(missed.contains("rpo (at most 1h): could not be measured"), "\(missed)")
    }

    /// An objective over a `for_each` step reads every instance (`steps.ID.items`, each one's
    /// key, host, outputs and status): the worst item's value, as the drill's RPO is the worst
    /// session's; a step without `for_each` reads them the same way.
    @Test func anObjectiveOverAForEachStepIsTheWorstItems() async throws {
        let scratch = try Scratch()
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: per-item}
            modes: [drill]
            steps:
              - id: lag
                for_each: vars.sessions
                key: item.name
                probe: command
                with: {run: [sh, -c, "exit ${{ item.lag }}"]}
                expect: "true"
              - id: worst
                needs: [lag]
                probe: command
                with: {run: [echo, "${{ join(steps.lag.items[*].key, ',') }}: ${{ max(steps.lag.items[*].outputs.exit_code) }}"]}
            objectives:
              rpo: {max: 5, measure: "max(steps.lag.items[*].outputs.exit_code)", description: the worst session}
            """)
        let inventory = try scratch.write(
            "i.yaml",
            RunTests.inventory + """

                vars:
                  sessions: [{name: gv0, lag: 2}, {name: gv1, lag: 7}, {name: gv2, lag: 4}]
                """)
        let end = try await InProcessRun(scratch).start(file, inventory: inventory)
        #expect(end.exitCode == 6, "\(end.outcome)")
        let runID = end.runID
        let rpo = try #require(try measured(scratch, runID)["rpo"])
        #expect(rpo.value == 7 && rpo.met == false, "\(rpo)")
        let worst = try #require(try scratch.journal().steps(runID: runID).first { $0.stepID == "worst" })
        let said = worst.outputsJSON ?? ""
        #expect(said.contains(": 7") && ["gv0", "gv1", "gv2"].allSatisfy(said.contains), "\(worst)")
    }
}
