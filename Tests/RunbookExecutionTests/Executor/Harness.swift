import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Synchronization
import Testing

/// A compiled plan with an in-memory journal and scripted hosts: the executor, gates, rollback
/// and the live planner run in-process, without starting a process.
struct Harness {
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: mem}
        hosts:
          a1: {roles: [site, primary]}
          b1: {roles: [site, secondary]}
          b2: {roles: [site, secondary]}
        """

    static let header = TestDocuments.runbookHeader(name: "mem")

    let plan: Plan
    let journal: InMemoryJournal
    let hosts: ScriptedHosts
    let events = EventLog()
    let runID: String
    let compiler: Compiler

    /// Compiles `steps` (the runbook after its header; `steps:` and anything above it).
    init(
        _ body: String, inventory: String = Harness.inventory, hosts: ScriptedHosts = ScriptedHosts(),
        journal: InMemoryJournal = InMemoryJournal(), runID: String = "run-1", registry: ActionRegistry = .builtIn
    ) throws {
        self.compiler = Compiler(registry: registry)
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(text: Self.header + body, file: "r.yaml", diagnostics: &diagnostics)
        // A registry that brings transports (a test pack's) validates the inventory's kinds against them.
        let inventory =
            registry.transportKinds.isEmpty
            ? InventoryLoader.load(text: inventory, file: "i.yaml", diagnostics: &diagnostics)
            : InventoryLoader.load(text: inventory, file: "i.yaml", registry: registry, diagnostics: &diagnostics)
        let compiled = try #require(
            runbook.flatMap { runbook in
                inventory.flatMap { inventory in
                    Compiler(registry: registry).compile(
                        Compiler.Request(runbook: runbook, inventory: inventory), diagnostics: &diagnostics)
                }
            }, "\(diagnostics.all)")
        try #require(!diagnostics.hasErrors, "\(diagnostics.all)")
        self.plan = compiled
        self.hosts = hosts
        self.journal = journal
        self.runID = runID
        if try journal.run(id: runID) == nil {
            var batch = JournalBatch(runID: runID)
            batch.newRun = InMemoryJournal.run(id: runID)
            try journal.commit(batch)
        }
    }

    /// The same plan, journal and hosts as another process would see them (a resume).
    func executor(_ configure: (inout ExecutionOptions) -> Void = { _ in }, stop: StopController = StopController())
        -> Executor
    {
        var options = ExecutionOptions()
        options.defaultRetryDelay = 0.01
        options.approver = "tester"
        configure(&options)
        return Executor(
            plan: plan, runID: runID, planHash: "sha256:test", journal: journal, hosts: hosts, compiler: compiler,
            options: options, observer: events, stop: stop)
    }

    func run(_ configure: (inout ExecutionOptions) -> Void = { _ in }) async -> RunOutcome {
        await executor(configure).run()
    }

    /// The plan as `runbook plan` shows it (without colour).
    var planText: String { PlanTextRenderer(plan: plan).render() }

    func step(_ nodeID: String) throws -> StepRecord? { try journal.step(runID: runID, nodeID: nodeID) }

    func state(_ nodeID: String) throws -> StepState? { try step(nodeID)?.state }

    /// The journal's attempts as `phase node`, in order.
    func attempts() throws -> [String] {
        try journal.attempts(runID: runID).map { "\($0.phase.rawValue) \($0.nodeID)" }
    }
}

/// Records the events shown to observers.
final class EventLog: RunObserver, Sendable {
    private let events = Mutex<[RunEvent]>([])

    func record(_ event: RunEvent, runID: String) { events.withLock { $0.append(event) } }

    var all: [RunEvent] { events.withLock { $0 } }

    /// `type step` of every event, in order.
    var lines: [String] { all.map { [$0.type, $0.step].compactMap { $0 }.joined(separator: " ") } }
}
