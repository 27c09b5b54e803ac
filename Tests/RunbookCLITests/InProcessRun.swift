import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookRuntime
import RunbookTestSupport
import Synchronization
import Testing

@testable import RunbookCLI

/// A run driven in-process through the run controller, as `runbook run --yes` and `runbook
/// resume` drive it: the standard packs and this machine's transports, the SQLite journal and the
/// lock files of a scratch state directory. For tests of what a run does, where the process is
/// not the subject (signals, kills, exit codes of the process, the terminal and stdin are).
struct InProcessRun {
    let scratch: Scratch
    let state: StateDirectory
    /// Every event the run's observers were told, in order.
    let observed = Observed()
    /// What the progress reporter printed to standard error (no terminal, no colour, no heartbeat),
    /// over every call on this value.
    let printed = Printed()

    final class Printed: Sendable {
        private let text = Mutex("")
        func append(_ more: String) { text.withLock { $0 += more } }
        var all: String { text.withLock { $0 } }
    }

    final class Observed: RunObserver, Sendable {
        private let events = Mutex<[RunEvent]>([])
        func record(_ event: RunEvent, runID: String) { events.withLock { $0.append(event) } }
        var all: [RunEvent] { events.withLock { $0 } }
        /// The objectives measured, as the progress reporter prints them (`objective rto: ...`).
        var objectiveLines: [String] {
            all.compactMap { if case .objectiveMeasured(let m) = $0 { "objective " + m.summary } else { nil } }
        }
    }

    /// `--report-dir` and `--metrics` of every run, resume and rollback.
    let outputs: RunOutputs
    /// The environment the runbook's `from_env` params are read from.
    let environment: [String: String]

    init(
        _ scratch: Scratch, outputs: RunOutputs = RunOutputs(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.scratch = scratch
        self.outputs = outputs
        self.environment = environment
        state = try StateDirectory(environment: ["RUNBOOK_STATE_DIR": scratch.state])
    }

    func controller(redactor: Redactor) throws -> RunController {
        let journal = try Journal(path: state.journalPath, redactor: redactor)
        let state = state
        let printed = printed
        let reporter = ProgressReporter(
            tty: false, color: false, redactor: redactor, heartbeat: 0, output: { printed.append($0) })
        var environment = RunEnvironment(
            registry: .standard, connect: { HostPool(inventory: $0, state: state) }, journal: journal,
            coordination: LocalLockCoordination(directory: state.lockDirectory), observers: [observed, reporter],
            sinks: outputs.isEmpty ? [] : [RunOutputsSink(outputs: outputs)])
        // Where a webhook's `secret_env` is read, as `from_env` params are.
        environment.processEnvironment = self.environment
        return RunController(environment)
    }

    static func options(approve: [String]) -> ExecutionOptions {
        var options = ExecutionOptions()
        options.approvals = Set(approve)
        return options
    }

    /// `runbook run FILE -i INVENTORY --yes [--approve GATE]... [-p NAME=VALUE]...`.
    func start(
        _ file: String, inventory: String, approve: [String] = [], params: [(name: String, value: String)] = []
    ) async throws -> RunEnd {
        let runID = RunID.generate(now: Date())
        let inputs = try RunInputs.load(
            runbook: file, inventory: inventory, mode: nil, params: params, runID: runID, environment: environment)
        return try await controller(redactor: inputs.plan.redactor).start(
            inputs.runDocuments, runID: runID, options: Self.options(approve: approve), shown: { _ in },
            confirm: { _ in true })
    }

    /// `runbook resume RUN --yes [--approve GATE]...`.
    func resume(_ runID: String, approve: [String] = []) async throws -> RunEnd {
        let record = try #require(try scratch.journal().run(id: runID))
        let inputs = try RunSession.reload(record, extraParams: [], environment: environment)
        return try await controller(redactor: inputs.plan.redactor).resume(
            record, documents: inputs.runDocuments, options: Self.options(approve: approve),
            confirmRollingBack: { _ in true })
    }

    /// `runbook rollback RUN --yes` (or `--dry-run`): what it listed, and what it did (nil for a
    /// dry run).
    func rollback(_ runID: String, dryRun: Bool = false) async throws -> (
        listed: RollbackPreview, result: Rollback.Result?
    ) {
        let record = try #require(try scratch.journal().run(id: runID))
        let inputs = try RunSession.reload(record, extraParams: [], environment: environment)
        let listed = Mutex<RollbackPreview?>(nil)
        let result = try await controller(redactor: inputs.plan.redactor).rollback(
            record, documents: inputs.runDocuments, pastCommit: false, dryRun: dryRun,
            confirm: { preview in
                listed.withLock { $0 = preview }
                return !dryRun
            })
        return (try #require(listed.withLock { $0 }), result)
    }

    /// The exit code `runbook run` or `runbook resume` would exit with: the run's end, or a
    /// refusal (a held lock: 5), as the CLI maps them.
    static func exitCode(_ body: () async throws -> RunEnd) async throws -> Int32 {
        do {
            return RunSession.exitCode(of: try await body())
        } catch let refusal as RunRefusal {
            return RunSession.exit(for: refusal, notDone: "not run").rawValue
        }
    }

    /// `runbook approve RUN GATE --by BY --reason REASON`.
    @discardableResult
    func approve(_ runID: String, gate: String, by approver: String, reason: String) throws -> ApprovalRecorded {
        let journal = try scratch.journal()
        let record = try #require(try journal.run(id: runID))
        let state = state
        return try RunController(
            RunEnvironment(
                registry: .standard, connect: { HostPool(inventory: $0, state: state) }, journal: journal,
                coordination: LocalLockCoordination(directory: state.lockDirectory))
        ).approve(
            record, gate: gate, steps: try journal.steps(runID: runID), decision: .approved, by: approver,
            reason: reason, via: "runbook approve")
    }

    /// `runbook report RUN --format FORMAT`: what it prints.
    func report(_ runID: String, format: RunbookCommand.Report.Format) throws -> String {
        let journal = try scratch.journal()
        let record = try #require(try journal.run(id: runID))
        return RunbookCommand.Report.render(
            Rehearsal.load(try RunReport.load(record, from: journal), journal: journal), format: format)
    }
}
