import Foundation
import RunbookCore
import RunbookExecution
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

    init(_ scratch: Scratch) throws {
        self.scratch = scratch
        state = try StateDirectory(environment: ["RUNBOOK_STATE_DIR": scratch.state])
    }

    func controller(redactor: Redactor) throws -> RunController {
        let journal = try Journal(path: state.journalPath, redactor: redactor)
        let state = state
        let printed = printed
        let reporter = ProgressReporter(
            tty: false, color: false, redactor: redactor, heartbeat: 0, output: { printed.append($0) })
        return RunController(
            RunEnvironment(
                registry: .standard, connect: { HostPool(inventory: $0, state: state) }, journal: journal,
                coordination: LocalLockCoordination(directory: state.lockDirectory), observers: [observed, reporter]))
    }

    static func options(approve: [String]) -> ExecutionOptions {
        var options = ExecutionOptions()
        options.approvals = Set(approve)
        return options
    }

    /// `runbook run FILE -i INVENTORY --yes [--approve GATE]...`.
    func start(_ file: String, inventory: String, approve: [String] = []) async throws -> RunEnd {
        let runID = RunID.generate(now: Date())
        let inputs = try RunInputs.load(runbook: file, inventory: inventory, mode: nil, params: [], runID: runID)
        return try await controller(redactor: inputs.plan.redactor).start(
            inputs.runDocuments, runID: runID, options: Self.options(approve: approve), shown: { _ in },
            confirm: { _ in true })
    }

    /// `runbook resume RUN --yes [--approve GATE]...`.
    func resume(_ runID: String, approve: [String] = []) async throws -> RunEnd {
        let record = try #require(try scratch.journal().run(id: runID))
        let inputs = try RunSession.reload(record, extraParams: [])
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
        let inputs = try RunSession.reload(record, extraParams: [])
        let listed = Mutex<RollbackPreview?>(nil)
        let result = try await controller(redactor: inputs.plan.redactor).rollback(
            record, documents: inputs.runDocuments, pastCommit: false, dryRun: dryRun,
            confirm: { preview in
                listed.withLock { $0 = preview }
                return !dryRun
            })
        return (try #require(listed.withLock { $0 }), result)
    }
}
