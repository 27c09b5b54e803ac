import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// `objectives:`: what `validate` refuses, at the position, and how a measure compares with its max.
@Suite struct ObjectiveTests {
    static let header = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: t}
        steps:
          - id: lag
            probe: command
            with: {run: [echo, "0"]}
          - id: go
            gate: {approval: {prompt: go?}}

        """

    @Test func validObjectivesHaveNoDiagnostics() {
        expect(
            Self.header + """
                objectives:
                  rto: {max: 15m, measure: run.elapsed - run.waited, description: machine time}
                  rpo: {max: 5m, measure: "${{ steps.lag.outputs.stdout }}"}
                  files: {max: 0, measure: len(steps.lag.outputs.stdout)}
                  started: {max: 1h, measure: since(run.started)}
                """, [])
    }

    @Test func shapeErrorsPointAtTheValue() {
        expect(
            Self.header + """
                objectives:
                  rto: {max: 1️⃣fifteen, measure: run.elapsed}
                  2️⃣rpo: {measure: run.elapsed}
                  3️⃣lag: {max: 5m}
                  x: {max: 5m, measure: run.elapsed, 4️⃣target: 3}
                  5️⃣bad-name: {max: 5m, measure: run.elapsed}
                  y: 6️⃣15m
                """,
            [
                FindingSpec("1️⃣", "the max of objective 'rto' must be a duration like 90s"),
                FindingSpec("2️⃣", "objective 'rpo' needs `max`"),
                FindingSpec("3️⃣", "objective 'lag' needs `measure`"),
                FindingSpec("4️⃣", "unknown key 'target' in objective 'x'"),
                FindingSpec("5️⃣", "objective name 'bad-name' must match"),
                FindingSpec("6️⃣", "objective 'y' must be a mapping"),
            ])
    }

    @Test func theMeasureReadsNamesThatExist() {
        expect(
            Self.header + """
                objectives:
                  a: {max: 5m, measure: run.1️⃣elapsd}
                  b: {max: 5m, measure: steps.2️⃣lga.outputs.stdout}
                  c: {max: 5m, measure: steps.lag.outputs.3️⃣stdot}
                  d: {max: 5m, measure: 4️⃣outputs.x}
                  e: {max: 5m, measure: run.elapsed +5️⃣}
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "run.elapsd: a run offers `run.id`, `run.elapsed`, `run.waited`, `run.started` (did you mean 'elapsed'?)"
                ),
                FindingSpec("2️⃣", "no step has id 'lga' (did you mean 'lag'?)"),
                FindingSpec("3️⃣", "step 'lag' has no output 'stdot'"),
                FindingSpec("4️⃣", "`outputs` is not available in an objective's measure"),
                FindingSpec("5️⃣", "in the measure of objective 'e'"),
            ])
    }

    @Test func theMeasureMustBeComparableWithItsMax() {
        expect(
            Self.header + """
                objectives:
                  a: {max: 10, measure: 1️⃣run.elapsed}
                  b: {max: 5m, measure: 2️⃣run.started}
                  c: {max: 5m, measure: run.elapsed 3️⃣+ 1}
                  d: {max: 5m, measure: "4️⃣'fast'"}
                """,
            [
                FindingSpec("1️⃣", "objective 'a': the measure is duration, but its max 10 needs a number"),
                FindingSpec("2️⃣", "objective 'b': the measure is timestamp, but its max 5m needs a duration"),
                FindingSpec("3️⃣", "objective 'c':"),
                FindingSpec("4️⃣", "objective 'd': the measure is string"),
            ])
    }

    @Test func runTimingsAreOnlyForObjectives() {
        expect(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            steps:
              - id: a
                when: run.1️⃣elapsed > 1m
                action: shell
                with: {run: ["true"], check: ["false"]}
                irreversible: false
                undo: {action: shell, with: {run: ["true"]}}
            """,
            [FindingSpec("1️⃣", "the run's timings are for an objective's `measure`")])
    }

    @Test func duplicateObjectiveIsRefusedAtTheSecond() {
        expect(
            Self.header + """
                objectives:
                  rto: {max: 5m, measure: run.elapsed}
                  1️⃣rto: {max: 6m, measure: run.elapsed}
                """, [FindingSpec("1️⃣", "duplicate")])
    }

    // MARK: Measuring

    func objective(_ yaml: String) throws -> Objective {
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(
                text: Self.header + "objectives:\n  " + yaml, file: "r.yaml", diagnostics: &diagnostics))
        #expect(!diagnostics.hasErrors, "\(diagnostics.all)")
        return try #require(runbook.objectives.first)
    }

    func context(elapsed: Double, waited: Double, lag: Value = .unknown) -> EvaluationContext {
        EvaluationContext(roots: [
            "run": .map(["elapsed": .duration(elapsed), "waited": .duration(waited), "id": .string("r")]),
            "steps": .map(["lag": .map(["outputs": .map(["seconds": lag]), "status": .string("succeeded")])]),
        ])
    }

    @Test func metAndMissedSayByHowMuch() throws {
        let rto = try objective("rto: {max: 15m, measure: run.elapsed - run.waited}")
        let met = rto.measured(in: context(elapsed: 3600, waited: 3000))
        #expect(met.met == true)
        #expect(met.measured == .duration(600))
        #expect(met.excess == -300)
        #expect(met.summary == "rto: 10m, objective 15m: met (5m to spare)")
        let missed = rto.measured(in: context(elapsed: 1200, waited: 150))
        #expect(missed.met == false)
        #expect(missed.summary == "rto: 17m30s, objective 15m: MISSED by 2m30s")
    }

    @Test func aNumberAgainstADurationIsSeconds() throws {
        let rpo = try objective("rpo: {max: 5m, measure: steps.lag.outputs.seconds}")
        #expect(rpo.measured(in: context(elapsed: 0, waited: 0, lag: .int(301))).met == false)
        #expect(rpo.measured(in: context(elapsed: 0, waited: 0, lag: .double(42.5))).measured == .duration(42.5))
        #expect(rpo.measured(in: context(elapsed: 0, waited: 0, lag: .int(300))).met == true)
    }

    @Test func aValueMissingAtRunTimeIsNotMeasuredAndNotMet() throws {
        let rpo = try objective("rpo: {max: 5m, measure: steps.lag.outputs.seconds}")
        let unknown = rpo.measured(in: context(elapsed: 0, waited: 0))
        #expect(unknown.met == nil)
        #expect(unknown.missed)
        #expect(unknown.note?.contains("has no value in this run") == true)
        let text = rpo.measured(in: context(elapsed: 0, waited: 0, lag: .string("soon")))
        #expect(text.note?.contains("is string, not a duration") == true)
    }
}
