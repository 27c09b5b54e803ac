import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Synchronization
import Testing

/// How many synced commits a step costs, and the write-ahead rules they keep.
@Suite struct JournalCommitTests {
    @Test func aChangedStepCostsTwoCommitsAndAStepFoundDoneOne() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "done"], with: .ok())
        hosts.answer(["check", "todo"], with: .exit(1))
        let harness = try Harness(
            "concurrency: 1\nsteps:\n" + shell("plain") + shell("todo", needs: ["plain"], check: true)
                + shell("done", needs: ["todo"], check: true), hosts: hosts)
        let before = try harness.journal.commitCount()
        #expect(await harness.run() == .succeeded)
        // The pending records, then 2 + 2 + 1.
        #expect(try harness.journal.commitCount() - before == 1 + 2 + 2 + 1)
        #expect(
            Array(harness.journal.batches.suffix(5)) == [
                ["+apply", "step.started"], ["=finish", "step.finished"],
                ["~probe", "+apply", "step.started"], ["=finish", "step.finished"],
                ["~probe", "step.started", "step.finished"],
            ])
    }

    @Test func aVerifyIsJournaledWithTheOutcome() async throws {
        let harness = try Harness(
            "steps:\n"
                + shell("v", check: true, extra: []).replacingOccurrences(
                    of: "check: [check, v]}", with: "check: [check, v], verify: [verify, v]}"))
        harness.hosts.answer(["check", "v"], with: .exit(1))
        #expect(await harness.run() == .succeeded)
        #expect(harness.hosts.commands() == ["check v", "do v", "verify v"])
        #expect(harness.journal.batches.last == ["=finish", "~verify", "step.finished"])
        #expect(try harness.attempts() == ["probe v", "apply v", "verify v"])
    }

    @Test func theApplyIntentIsDurableBeforeTheApplyRuns() async throws {
        let journal = InMemoryJournal()
        let seen = Observed()
        let hosts = ScriptedHosts(onRun: { _, argv in
            guard argv.first == "do" else { return }
            let inFlight = (try? journal.inFlightAttempts(runID: "run-1")) ?? []
            let step = try? journal.step(runID: "run-1", nodeID: argv[1])
            let events = ((try? journal.events(runID: "run-1")) ?? []).map(\.type)
            let state = step?.state.rawValue ?? "-"
            seen.add("\(argv[1]): \(inFlight.map(\.phase.rawValue)) \(state) \(events.last ?? "-")")
        })
        hosts.answer(["check", "a"], with: .exit(1))
        let harness = try Harness(
            "steps:\n" + shell("a", check: true) + shell("b", needs: ["a"]), hosts: hosts, journal: journal)
        #expect(await harness.run() == .succeeded)
        // When each apply runs, its intent (and the step's start) is already committed, alone in flight.
        #expect(seen.lines == ["a: [\"apply\"] running step.started", "b: [\"apply\"] running step.started"])
        #expect(try journal.inFlightAttempts(runID: harness.runID).isEmpty)
        let probe = try #require(try journal.attempts(runID: harness.runID).first)
        #expect(probe.phase == .probe && probe.outcome == "notDone" && probe.commands.map(\.argv) == [["check", "a"]])
    }

    @Test func anIntentTheJournalRefusesRunsNothing() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "a"], with: .exit(1))
        let harness = try Harness("on_failure: stop\nsteps:\n" + shell("a", check: true), hosts: hosts)
        harness.journal.failCommits(2)  // the pending records, then the intent
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("refused"))
        #expect(hosts.commands() == ["check a"])
        #expect(try harness.state("a") == .failed)
        #expect(try harness.attempts() == ["probe a"])
    }

    @Test func theSQLiteJournalCommitsTheSameBatchesAsTheInMemoryOne() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("runbook-mem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try Journal(
            path: directory.appendingPathComponent("j.sqlite").path, redactor: Redactor(secrets: []))
        try sqlite.commit(
            {
                var batch = JournalBatch(runID: "run-1")
                batch.newRun = InMemoryJournal.run(id: "run-1")
                return batch
            }())
        let body =
            "on_failure: rollback\nsteps:\n" + shell("a", check: true) + shell("b", needs: ["a"])
            + shell("c", needs: ["b"], extra: ["retries: 1"])
        func scripted() -> ScriptedHosts {
            let hosts = ScriptedHosts()
            hosts.answer(["check", "a"], with: .exit(1))
            hosts.answer(["do", "c"], with: .exit(1))
            return hosts
        }
        let memory = try Harness(body, hosts: scripted())
        let real = Harness.Other(harness: memory, journal: sqlite, hosts: scripted())
        let outcomes = (await memory.run(), await real.executor().run())
        guard case .rolledBack = outcomes.0, case .rolledBack = outcomes.1 else {
            Issue.record("\(outcomes)")
            return
        }
        #expect(try memory.journal.commitCount() == sqlite.commitCount())
        let (mine, theirs) = (try memory.journal.steps(runID: "run-1"), try sqlite.steps(runID: "run-1"))
        #expect(mine.map(\.state) == theirs.map(\.state))
        #expect(mine.map(\.completionSeq) == theirs.map(\.completionSeq))
        func phases(_ journal: any RunJournal) throws -> [String] {
            try journal.attempts(runID: "run-1").map { "\($0.phase) \($0.outcome ?? "-")" }
        }
        #expect(try phases(memory.journal) == phases(sqlite))
        let events = (try memory.journal.events(runID: "run-1"), try sqlite.events(runID: "run-1"))
        #expect(events.0.map(\.type) == events.1.map(\.type))
        #expect(events.0.map(\.payloadJSON) == events.1.map(\.payloadJSON))
        #expect(try sqlite.verifyChain(runID: "run-1").isOK)
    }
}

/// Lines a callback saw, in order.
final class Observed: Sendable {
    private let state = Mutex<[String]>([])
    func add(_ line: String) { state.withLock { $0.append(line) } }
    var lines: [String] { state.withLock { $0 } }
}

extension Harness {
    /// An executor for the same plan over another journal and hosts.
    struct Other {
        let harness: Harness
        let journal: any RunJournal
        let hosts: ScriptedHosts

        func executor() -> Executor {
            var options = ExecutionOptions()
            options.defaultRetryDelay = 0.01
            return Executor(
                plan: harness.plan, runID: harness.runID, planHash: "sha256:test", journal: journal, hosts: hosts,
                compiler: harness.compiler, options: options, observer: EventLog(), stop: StopController())
        }
    }
}
