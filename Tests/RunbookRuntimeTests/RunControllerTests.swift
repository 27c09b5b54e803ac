import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime
import RunbookTestSupport
import Synchronization
import Testing

/// The run controller in-process, over the in-memory journal and a test pack's `scripted`
/// transport: the claim on the inventory, the run-level journal batches, the sinks, the approver
/// rule; no terminal, no binary.
@Suite struct RunControllerTests {
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: mem}
        defaults: {transport: scripted}
        hosts:
          a1: {roles: [site]}
        """

    static let steps = """
        steps:
          - id: change
            on: a1
            action: shell
            with: {run: [do, change], check: [check, change]}
          - id: go
            needs: [change]
            gate: {approval: {prompt: "Go on?", approvers: [alice]}}
          - id: after
            needs: [go]
            on: a1
            action: shell
            with: {run: [do, after]}
        """

    /// Records what the end-of-run sinks were told.
    final class Sink: RunSink, Sendable {
        let told = Mutex<[String]>([])
        func runEnded(runID: String, journal: any RunJournal) {
            let status = (try? journal.run(id: runID))?.status.rawValue ?? "none"
            told.withLock { $0.append("ended \(runID): \(status)") }
        }
        func runNotStarted(_ run: NotStartedRun, journal: any RunJournal) {
            told.withLock { $0.append("not started \(run.runID) (exit \(run.exitCode)): \(run.why)") }
        }
    }

    /// A coordination that hands out claims it remembers, or refuses with `held`.
    final class Claims: RunCoordination, Sendable {
        final class Claim: RunClaim, Sendable {
            let kept = Mutex<Bool?>(nil)
            var tookOverFrom: LockHolder? { nil }
            func keep(_ keep: Bool) { kept.withLock { $0 = keep } }
            func release() {}
        }
        let held: LockHeldError?
        let made = Mutex<[Claim]>([])
        init(held: LockHeldError? = nil) { self.held = held }
        func claim(runbook: String, inventory: String, runID: String, journal: any RunJournal) throws -> any RunClaim {
            if let held { throw held }
            let claim = Claim()
            made.withLock { $0.append(claim) }
            return claim
        }
        func driver(of run: RunRecord) -> RunDriver { .alive }
    }

    final class Observed: RunObserver, Sendable {
        let types = Mutex<[String]>([])
        func record(_ event: RunEvent, runID: String) { types.withLock { $0.append(event.type) } }
    }

    let hosts = ScriptedHosts()
    let journal = InMemoryJournal()
    let sink = Sink()
    let observed = Observed()

    init() {
        // `change` is not done until it is applied: the live plan's probe and the run's say so.
        hosts.answer(["check", "change"], with: .exit(1), .exit(1), .ok())
    }

    var packs: [any Pack] { [CorePack(), ScriptedTransportPack(hosts: hosts)] }

    func controller(_ claims: Claims) -> RunController {
        RunController(
            RunEnvironment(
                packs: packs, transports: TransportContext(controlDirectory: "/nonexistent"), journal: journal,
                coordination: claims, observers: [observed], sinks: [sink]))
    }

    func documents(_ steps: String = Self.steps) throws -> RunDocuments {
        try Self.documents(
            runbookText: TestDocuments.runbookHeader(name: "mem") + steps, inventoryText: Self.inventory,
            registry: ActionRegistry(packs: packs))
    }

    /// The run documents of a runbook and an inventory text, compiled with `registry` (the
    /// runtime suites' one way to make them).
    static func documents(runbookText: String, inventoryText: String, registry: ActionRegistry) throws
        -> RunDocuments
    {
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(text: runbookText, file: "r.yaml", diagnostics: &diagnostics)
        let inventory = InventoryLoader.load(
            text: inventoryText, file: "i.yaml", registry: registry, diagnostics: &diagnostics)
        let plan = try #require(
            runbook.flatMap { runbook in
                inventory.flatMap {
                    Compiler(registry: registry).compile(
                        Compiler.Request(runbook: runbook, inventory: $0), diagnostics: &diagnostics)
                }
            }, "\(diagnostics.all)")
        return RunDocuments(
            runbookPath: "/r.yaml", runbookText: runbookText, inventoryPath: "/i.yaml", inventoryText: inventoryText,
            plan: plan)
    }

    static func options(approve: [String] = [], by approver: String = "alice") -> ExecutionOptions {
        var options = ExecutionOptions()
        options.approvals = Set(approve)
        options.approver = approver
        return options
    }

    @Test func aHeldClaimRefusesTheRunBeforeAnythingIsProbedOrJournaled() async throws {
        let holder = LockHolder(runID: "other", hostname: "h", pid: 1, startedAt: Date())
        let held = LockHeldError(holder: holder, runbook: "mem", inventory: "mem", path: "/locks/mem.lock")
        let shown = Mutex(false)
        await #expect {
            _ = try await controller(Claims(held: held)).start(
                try documents(), runID: "run-1", options: Self.options(), shown: { _ in shown.withLock { $0 = true } },
                confirm: { _ in true })
        } throws: { error in
            guard case .locked(let refused)? = error as? RunRefusal else { return false }
            return refused == held
        }
        #expect(!shown.withLock { $0 })
        #expect(hosts.ran.isEmpty, "\(hosts.ran)")
        #expect(try journal.run(id: "run-1") == nil)
        #expect(sink.told.withLock { $0 } == ["not started run-1 (exit 5): \(held)"])
    }

    /// Issue 24, item 4: the time the plan's "Run this plan?" waits for its answer is waiting for
    /// people, not machine time: an answer after 1.5 s to a run of a few milliseconds meets an
    /// `rto` of 1 s measured as `run.elapsed - run.waited` (before: 1.5 s, missed, exit 6), and
    /// the rehearsal report counts it as waited.
    @Test func theWaitForTheConfirmationIsWaitingForPeople() async throws {
        let steps = """
            objectives:
              rto: {max: 1s, measure: run.elapsed - run.waited}
            steps:
              - id: change
                on: a1
                action: shell
                with: {run: [do, change], check: [check, change]}
            """
        let end = try await controller(Claims()).start(
            try documents(steps), runID: "run-1", options: Self.options(), shown: { _ in },
            confirm: { _ in
                Thread.sleep(forTimeInterval: 1.5)
                return true
            })
        #expect(end.outcome == .succeeded)
        #expect(end.exitCode == 0, "missed: \(end.missed)")
        let record = try #require(try journal.run(id: "run-1"))
        let events = try journal.events(runID: "run-1")
        let span = try #require(ObjectiveMeasurer.confirmation(startedAt: record.startedAt, events: events))
        #expect(span.1.timeIntervalSince(span.0) >= 1.4, "\(span)")
        let waited = ObjectiveMeasurer.waited(
            steps: try journal.steps(runID: "run-1"), approvalGates: [], end: record.finishedAt ?? Date(),
            confirmation: span)
        #expect(waited >= 1.4, "\(waited)")
    }

    @Test func aRefusedConfirmationChangesNothingAndJournalsNothing() async throws {
        let claims = Claims()
        await #expect {
            _ = try await controller(claims).start(
                try documents(), runID: "run-1", options: Self.options(), shown: { _ in }, confirm: { _ in false })
        } throws: { error in
            if case .cancelled? = error as? RunRefusal { return true }
            return false
        }
        #expect(!hosts.commands().contains("do change"), "\(hosts.commands())")
        #expect(try journal.run(id: "run-1") == nil)
        #expect(sink.told.withLock { $0 }.isEmpty)
    }

    /// The run executes the plan it showed; a parked run keeps its claim, and its resume (once
    /// the gate is answered by one of its approvers) ends and lets the claim go.
    @Test func aParkedRunKeepsItsClaimAndItsResumeEndsIt() async throws {
        let claims = Claims()
        let controller = controller(claims)
        var shownPlan: Plan?
        let parked = try await controller.start(
            try documents(), runID: "run-1", options: Self.options(), shown: { shownPlan = $0.plan },
            confirm: { _ in true })
        #expect(parked.outcome == .parked(["go"]))
        #expect(parked.exitCode == 4)
        #expect(parked.plan.nodes.map(\.effect) == shownPlan?.nodes.map(\.effect), "the plan shown is the one run")
        #expect(claims.made.withLock { $0.map { $0.kept.withLock { $0 } } } == [true])
        let record = try #require(try journal.run(id: "run-1"))
        #expect(record.status == .parked)
        #expect(sink.told.withLock { $0 } == ["ended run-1: parked"])

        // bob is not among the gate's approvers: the one rule refuses him here as the run would.
        let steps = try journal.steps(runID: "run-1")
        #expect(throws: ApprovalRefusal.self) {
            try controller.approve(
                record, gate: "go", steps: steps, decision: .approved, by: "bob", reason: "r", via: "test")
        }
        let recorded = try controller.approve(
            record, gate: "go", steps: steps, decision: .approved, by: "alice", reason: "ok", via: "test")
        #expect(recorded.event.type == "approval" && recorded.gateState == .waiting)

        let ended = try await controller.resume(
            try #require(try journal.run(id: "run-1")), documents: try documents(), options: Self.options(),
            confirmRollingBack: { _ in
                Issue.record("nothing to roll back")
                return false
            })
        #expect(ended.outcome == .succeeded)
        #expect(claims.made.withLock { $0.map { $0.kept.withLock { $0 } } } == [true, false])
        #expect(try journal.run(id: "run-1")?.status == .succeeded)
        #expect(hosts.commands().filter { $0 == "do change" }.count == 1, "\(hosts.commands())")
        #expect(hosts.commands().filter { $0 == "do after" }.count == 1, "\(hosts.commands())")
        let types = observed.types.withLock { $0 }
        #expect(types.first == "run.started" && types.contains("run.parked") && types.contains("run.resumed"))
        #expect(types.last == "run.finished", "\(types)")
        #expect(sink.told.withLock { $0 } == ["ended run-1: parked", "ended run-1: succeeded"])
    }
}
