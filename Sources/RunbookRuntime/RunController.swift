import Foundation
import RunbookCore
import RunbookExecution

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a run ended, once journaled: what the front end shows and the exit code it returns.
public struct RunEnd: Sendable {
    public var runID: String
    public var outcome: RunOutcome
    /// The outcome's exit code, or 6 when it succeeded and missed an objective.
    public var exitCode: Int32
    /// The objectives it missed (or could not measure), when it succeeded.
    public var missed: [RunEvent.ObjectiveMeasured]
    /// The plan the run executed.
    public var plan: Plan
}

/// Why a run did not start or go on; nothing was changed.
public enum RunRefusal: Error, Sendable {
    /// Another run holds the inventory (exit 5).
    case locked(LockHeldError)
    /// Commands a killed run left running have not ended (exit 5).
    case leftoversRunning(runID: String, [LeftoverCommands.Leftover])
    /// The person (or the lack of `--yes`) said no.
    case cancelled
    /// `resume` of a run that succeeded: nothing to do (exit 0).
    case alreadySucceeded(RunRecord)
    /// `resume` of a run that was rolled back (exit 1).
    case rolledBack(RunRecord)
    /// The epoch fence: the storage carries a newer epoch than the run (split brain, exit 5).
    case splitBrain(EpochFence.Refusal)
}

/// What a rollback will undo, shown before it asks.
public struct RollbackPreview: Sendable {
    public enum Reason: Sendable {
        /// `runbook rollback`.
        case requested
        /// A resume finishes a rollback begun before the run stopped.
        case unfinishedRollback
        /// A resume finds a gate past its deadline with `on_timeout: rollback`, unanswered.
        case gateTimedOut(GateDeadline)
    }

    public var runID: String
    public var reason: Reason
    public var entries: [Rollback.Entry]
    public var stoppedAt: String?

    /// Whether anything will be undone (else there is nothing to ask).
    public var undoable: Bool { entries.contains(where: \.undoable) }
}

/// The plan shown before a run starts: the live planner's, with its hash.
public struct ShownPlan: Sendable {
    public var live: LivePlanner.Result
    public var planHash: String
    /// What the epoch fence read, and the epoch the run writes (nil when the plan marks nothing).
    public var epoch: RunEvent.EpochRead?
    /// Each marked resource as the fence read it.
    public var fenceReadings: [EpochFence.Reading]
    public var plan: Plan { live.plan }

    public init(
        live: LivePlanner.Result, planHash: String, epoch: RunEvent.EpochRead? = nil,
        fenceReadings: [EpochFence.Reading] = []
    ) {
        self.live = live
        self.planHash = planHash
        self.epoch = epoch
        self.fenceReadings = fenceReadings
    }
}

/// The run's lifecycle, out of any front end: `start`, `resume`, `rollback`, `approve`, `status`.
/// It claims the inventory, journals the run-level batches (start, resume, end), measures
/// objectives, tells observers and end-of-run sinks, and returns outcome values. It prints nothing
/// and reads no terminal: what needs a person is a callback.
public struct RunController: Sendable {
    public var environment: RunEnvironment

    /// How long a run waits for commands a killed run left running before giving up (exit 5).
    public static let leftoverWaitSeconds: Double = 30
    /// The exit codes the controller decides itself (SPEC §6).
    public static let lockedExitCode: Int32 = 5
    public static let objectiveMissedExitCode: Int32 = 6
    public static let rollbackIncompleteExitCode: Int32 = 7

    public init(_ environment: RunEnvironment) {
        self.environment = environment
    }

    var journal: any RunJournal { environment.journal }

    /// One run's connections, observers, claim and stop switch.
    final class Session: @unchecked Sendable {
        let runID: String
        let documents: RunDocuments
        let hosts: any RunHosts
        let observers: ObserverList
        /// Tells the documents' notify sinks (nil when they name none).
        let notifier: Notifier?
        var claim: (any RunClaim)?
        let stop = StopController()

        init(runID: String, documents: RunDocuments, environment: RunEnvironment) {
            self.runID = runID
            self.documents = documents
            self.hosts = environment.connect(documents.plan.inventory)
            let plan = documents.plan
            let sinks = NotifySink.effective(inventory: plan.inventory.notify, runbook: plan.runbook.notify)
            self.notifier =
                sinks.isEmpty
                ? nil
                : Notifier(
                    sinks: sinks, runID: runID, plan: plan, journal: environment.journal,
                    observers: environment.observers, environment: environment.processEnvironment,
                    sender: environment.notifySender)
            self.observers = ObserverList(environment.observers + (notifier.map { [$0] } ?? []))
        }

        var runbook: String { documents.plan.runbook.name.value }
        var inventory: String { documents.plan.inventory.name.value }
    }

    // MARK: - start

    /// Claims the inventory, probes the hosts (the live plan), shows the plan (`shown`, which may
    /// refuse by throwing), runs the preconditions' verdict, asks (`confirm`), journals the start
    /// and executes the plan it showed; journals the end.
    public func start(
        _ documents: RunDocuments, runID: String, options: ExecutionOptions,
        probeProgress: (@Sendable (LivePlanner.Progress) -> Void)? = nil,
        shown: (ShownPlan) throws -> Void, confirm: (ShownPlan) throws -> Bool
    ) async throws -> RunEnd {
        let session = Session(runID: runID, documents: documents, environment: environment)
        try claim(session)
        let live = await LivePlanner(
            hosts: session.hosts, compiler: Compiler(registry: environment.registry), progress: probeProgress
        ).run(documents.plan)
        let planHash = documents.planHash(facts: live.facts)
        // The epoch fence reads the marked volumes before anything is shown or changed.
        let fence = EpochFence(
            plan: documents.plan, compiler: Compiler(registry: environment.registry), hosts: session.hosts)
        var epochRead: RunEvent.EpochRead?
        var readings: [EpochFence.Reading] = []
        var options = options
        if fence.marks {
            readings = await fence.read()
            let known = EpochFence.known(in: journal, inventory: session.inventory)
            switch EpochFence.admit(readings, known: known) {
            case .failure(let refusal):
                notStarted(session, why: refusal.message)
                throw RunRefusal.splitBrain(refusal)
            case .success(let admission):
                epochRead = RunEvent.EpochRead(
                    basis: admission.basis, epoch: admission.epoch, known: known,
                    readings: readings.map(\.line).joined(separator: "; "))
                options.runEpoch = admission.epoch
            }
        }
        let view = ShownPlan(live: live, planHash: planHash, epoch: epochRead, fenceReadings: readings)
        try shown(view)

        let plan = documents.plan
        let record = RunRecord(
            id: runID, runbookName: session.runbook, runbookPath: RunDocuments.absolute(documents.runbookPath),
            inventoryName: session.inventory, inventoryPath: RunDocuments.absolute(documents.inventoryPath),
            mode: plan.mode, paramsJSON: documents.paramsJSON(), planHash: planHash,
            planJSON: documents.journalPlanJSON(), pid: getpid(), hostname: RunLock.currentHostname(),
            startedAt: Date())
        func precondition(_ result: LivePlanner.PreconditionResult) -> RunEvent {
            let payload = RunEvent.Precondition(step: result.nodeID, host: result.host, summary: result.summary)
            return result.passed ? .preconditionPassed(payload) : .preconditionFailed(payload)
        }
        // The run, its start and its preconditions' results: one commit.
        var start = JournalBatch(runID: runID)
        start.newRun = record
        // A failed precondition of one for_each item leaves that item out (on_item_failure: isolate).
        // So does a max_failed that more items' preconditions exceed: nothing starts.
        if let stop = plan.preconditionsStopRun(failed: live.preconditions.filter { !$0.passed }.map(\.nodeID)) {
            start.events = live.preconditions.map(precondition)
            try journal.commit(start)
            for event in start.events { session.observers.record(event, runID: runID) }
            let why =
                (live.preconditions.filter { !$0.passed }.map { "  \($0.nodeID) on \($0.host): \($0.summary)" }
                + (stop.budget.map { ["  \($0); nothing was started"] } ?? []))
                .joined(separator: "\n")
            return await finish(.preconditionFailed(why), session)
        }
        let asked = Date()
        guard try confirm(view) else { throw RunRefusal.cancelled }
        // Waiting for the answer is waiting for people (issue 24, item 4): the run.started event
        // says how long after the run's start it came (none when nobody was asked: `--yes`), and
        // `run.waited` counts it.
        let answered = Date()
        let started = RunEvent.RunStarted(
            runbook: session.runbook, inventory: session.inventory, mode: plan.mode, planHash: planHash,
            confirmedAfter: answered.timeIntervalSince(asked) >= 0.001
                ? (answered.timeIntervalSince(record.startedAt) * 1000).rounded() / 1000 : nil,
            launchedBy: options.approver)
        start.events =
            [.runStarted(started)] + (epochRead.map { [.epochRead($0)] } ?? []) + live.preconditions.map(precondition)
        try journal.commit(start)
        for event in start.events { session.observers.record(event, runID: runID) }
        // The very plan value shown: the live planner's (what it left out stays out).
        let executor = makeExecutor(session, options: options, planHash: planHash, plan: live.plan)
        let outcome = await execute(executor, session)
        return await finish(outcome, session, plan: live.plan)
    }

    // MARK: - resume

    /// Refuses a run that cannot be resumed: it succeeded, or it was rolled back.
    public static func checkResumable(_ record: RunRecord) throws {
        switch record.status {
        case .succeeded: throw RunRefusal.alreadySucceeded(record)
        case .rolledBack: throw RunRefusal.rolledBack(record)
        default: break
        }
    }

    /// Continues a journaled run (its documents read again and unchanged): finishes a rollback
    /// begun before it stopped, or (once `confirmRollingBack` agreed, when the resume would roll
    /// it back) runs the preconditions if nothing ran yet, then the rest of the plan.
    public func resume(
        _ record: RunRecord, documents: RunDocuments, options: ExecutionOptions,
        confirmRollingBack: (RollbackPreview) throws -> Bool
    ) async throws -> RunEnd {
        try Self.checkResumable(record)
        let runID = record.id
        let session = Session(runID: runID, documents: documents, environment: environment)
        try claim(session)
        var options = options
        options.runEpoch = try await fenceCheck(session, action: "resume", journalRefusal: true)
        let executor = makeExecutor(session, options: options, planHash: record.planHash)
        let rollback = Rollback(executor: executor)
        let began = rollback.began()
        // A resume that would roll back shows what it will undo and asks first; nothing of the
        // run changes before the answer.
        let reason: RollbackPreview.Reason?
        if began != nil {
            reason = .unfinishedRollback
        } else {
            let steps = (try? journal.steps(runID: runID)) ?? []
            let answered = Set(((try? journal.approvals(runID: runID)) ?? []).map(\.gate))
            reason = GateDeadline.rollsBack(steps, nodes: documents.plan.nodes, answered: answered, now: Date()).map {
                .gateTimedOut($0)
            }
        }
        if let reason {
            let (entries, stoppedAt) = rollback.entries(pastCommit: began?.pastCommit ?? false)
            let preview = RollbackPreview(runID: runID, reason: reason, entries: entries, stoppedAt: stoppedAt)
            guard try confirmRollingBack(preview) else { throw RunRefusal.cancelled }
        }
        var resumed = JournalBatch(runID: runID)
        resumed.runStatus = RunStatusChange(status: .running)
        resumed.runOwner = (getpid(), RunLock.currentHostname())
        resumed.events = [.runResumed(.init(previousStatus: record.status))]
        try journal.commit(resumed)
        for event in resumed.events { session.observers.record(event, runID: runID) }

        // A run killed while rolling back finishes its rollback: going forward again would
        // apply the steps already undone a second time.
        if let began {
            environment.notices(.finishingRollback(runID: runID))
            let result = await rollback.run(
                pastCommit: began.pastCommit, dryRun: false, reason: "resume of an unfinished rollback")
            let summary = "the rollback begun before run \(runID) stopped"
            let outcome: RunOutcome =
                result.failed.isEmpty
                ? .rolledBack(summary) : .rollbackFailed(summary + "\n" + Rollback.incomplete(result.failed))
            return await finish(outcome, session)
        }
        // Preconditions guard the first change; once steps have run they are not asked again.
        let started = ((try? journal.steps(runID: runID)) ?? []).contains { step in
            !documents.plan.preconditions.contains { $0.id == step.nodeID } && step.state != .pending
        }
        if !started, let failure = await executor.runPreconditions() {
            return await finish(.preconditionFailed(failure), session)
        }
        let outcome = await execute(executor, session)
        return await finish(outcome, session)
    }

    // MARK: - rollback

    /// Undoes a run's changes, newest first, after `confirm` saw what (with `dryRun`, only shows
    /// it: nil). Journals the run's new status; the claim is let go.
    public func rollback(
        _ record: RunRecord, documents: RunDocuments, pastCommit: Bool, dryRun: Bool,
        confirm: (RollbackPreview) throws -> Bool
    ) async throws -> Rollback.Result? {
        let runID = record.id
        let session = Session(runID: runID, documents: documents, environment: environment)
        if !dryRun { try claim(session) }
        var options = ExecutionOptions()
        options.runEpoch = try await fenceCheck(session, action: "rollback", journalRefusal: !dryRun)
        let executor = makeExecutor(session, options: options, planHash: record.planHash)
        let rollback = Rollback(executor: executor)
        let (entries, stoppedAt) = rollback.entries(pastCommit: pastCommit)
        let go = try confirm(RollbackPreview(runID: runID, reason: .requested, entries: entries, stoppedAt: stoppedAt))
        if dryRun { return nil }
        guard go else { throw RunRefusal.cancelled }
        let result = await rollback.run(pastCommit: pastCommit, dryRun: false, reason: "runbook rollback")
        await session.hosts.closeAll()
        ending(session)
        var batch = JournalBatch(runID: runID)
        batch.runStatus = RunStatusChange(
            status: result.failed.isEmpty ? .rolledBack : .rollbackFailed,
            exitCode: result.failed.isEmpty ? 0 : Int(Self.rollbackIncompleteExitCode), finishedAt: Date())
        try journal.commit(batch)
        if let notifier = session.notifier {
            let summary = "runbook rollback of run \(runID)"
            notifier.runEnded(
                result.failed.isEmpty
                    ? .rolledBack(summary) : .rollbackFailed(summary + "\n" + Rollback.incomplete(result.failed)),
                exitCode: result.failed.isEmpty ? 0 : Self.rollbackIncompleteExitCode, objectives: [])
            await notifier.drain()
        }
        session.claim?.keep(false)
        withExtendedLifetime(session.claim) {}
        return result
    }

    // MARK: - status

    /// A run as the journal has it now.
    public struct Snapshot: Sendable {
        public var run: RunRecord
        public var steps: [StepRecord]
        /// The journaled plan (nil when it cannot be read).
        public var plan: PlanDocument?
        public var events: [EventRecord]
    }

    /// Where run `runID` stands (nil when the journal has no such run).
    public func status(runID: String) throws -> Snapshot? {
        guard let run = try journal.run(id: runID) else { return nil }
        let steps = try journal.steps(runID: runID)
        // The events are needed for a plan with for_each items (what failed before a rollback),
        // for a waiting gate (its prompt as the run resolved it) and for the time parked.
        let events = (try? journal.events(runID: runID)) ?? []
        return Snapshot(run: run, steps: steps, plan: try? PlanDocument.decode(run.planJSON), events: events)
    }

    // MARK: - the parts

    /// One run at a time per inventory, a parked or interrupted one included.
    func claim(_ session: Session) throws {
        let runID = session.runID
        let claim: any RunClaim
        do {
            claim = try environment.coordination.claim(
                runbook: session.runbook, inventory: session.inventory, runID: runID, journal: journal)
        } catch let held as LockHeldError {
            notStarted(session, why: "\(held)")
            throw RunRefusal.locked(held)
        }
        if let previous = claim.tookOverFrom, previous.runID == runID,
            runKeepsClaim((try? journal.run(id: runID))?.status)
        {
            // This run's own claim, kept while it was parked or interrupted: it keeps it until it ends.
            claim.keep(true)
        } else if let previous = claim.tookOverFrom {
            environment.notices(.tookOverLock(from: previous))
            // The command it was running when it died may still be running (each command has
            // its own session): probing before it ends would see "not done" and apply twice.
            if !((try? journal.inFlightAttempts(runID: previous.runID)) ?? []).isEmpty {
                let notices = environment.notices
                let left = LeftoverCommands.waitForExit(runID: previous.runID, timeout: Self.leftoverWaitSeconds) {
                    notices(.waitingForLeftovers(runID: previous.runID, $0, seconds: Self.leftoverWaitSeconds))
                }
                if !left.isEmpty {
                    claim.release()
                    notStarted(
                        session,
                        why: "commands of run \(previous.runID) are still running: "
                            + left.map { "\($0)" }.joined(separator: "; "))
                    throw RunRefusal.leftoversRunning(runID: previous.runID, left)
                }
            }
        }
        session.claim = claim
        LeftoverCommands.mark(runID: runID)
    }

    /// The epoch fence of a resume or rollback: reads the resources the run marks and refuses
    /// (journaling `epoch.refused` in the run when `journalRefusal`) when one carries a newer
    /// epoch than the run's. Returns the run's epoch (nil when it marks nothing).
    func fenceCheck(_ session: Session, action: String, journalRefusal: Bool) async throws -> Int? {
        guard let read = EpochFence.epochRead(of: session.runID, in: journal) else { return nil }
        let fence = EpochFence(
            plan: session.documents.plan, compiler: Compiler(registry: environment.registry), hosts: session.hosts)
        let readings = await fence.read()
        guard let refusal = EpochFence.check(readings, runEpoch: read.epoch, action: action, runID: session.runID)
        else { return read.epoch }
        if journalRefusal {
            var batch = JournalBatch(runID: session.runID)
            batch.events = [
                .epochRefused(
                    .init(
                        step: refusal.reading.nodeID, host: refusal.reading.host, action: action,
                        held: refusal.reading.mark?.epoch ?? 0, authority: refusal.reading.mark?.authority,
                        runEpoch: read.epoch, reason: refusal.message))
            ]
            commit(batch, session)
        }
        await session.hosts.closeAll()
        throw RunRefusal.splitBrain(refusal)
    }

    /// Tells the sinks of a run that could not start (nothing of it is journaled).
    func notStarted(_ session: Session, why: String) {
        let documents = session.documents
        let run = NotStartedRun(
            runID: session.runID, runbook: session.runbook,
            runbookPath: RunDocuments.absolute(documents.plan.runbook.file), inventory: session.inventory,
            inventoryPath: RunDocuments.absolute(documents.plan.inventory.file), mode: documents.plan.mode, why: why,
            exitCode: Int(Self.lockedExitCode))
        for sink in environment.sinks { sink.runNotStarted(run, journal: journal) }
    }

    func makeExecutor(_ session: Session, options: ExecutionOptions, planHash: String, plan: Plan? = nil)
        -> Executor
    {
        var options = options
        if options.launcher == nil { options.launcher = launcher(of: session.runID) }
        return Executor(
            plan: plan ?? session.documents.plan, runID: session.runID, planHash: planHash, journal: journal,
            hosts: session.hosts, compiler: Compiler(registry: environment.registry), options: options,
            observer: session.observers, stop: session.stop,
            prompter: options.interactive ? environment.prompter : nil)
    }

    /// Who launched the run: `launched_by` of its `run.started` event (nil for a run from before
    /// it was recorded, or that did not start).
    func launcher(of runID: String) -> String? {
        let events = (try? journal.events(runID: runID)) ?? []
        for record in events where record.type == "run.started" {
            if case .runStarted(let started)? = record.event { return started.launchedBy }
        }
        return nil
    }

    /// Commits a run-level batch (a notice if the journal refuses), then tells its events.
    func commit(_ batch: JournalBatch, _ session: Session) {
        do {
            try journal.commit(batch)
        } catch {
            environment.notices(
                .notJournaled(events: batch.events.map(\.type).joined(separator: ", "), error: "\(error)"))
        }
        for event in batch.events { session.observers.record(event, runID: session.runID) }
    }

    /// Runs the executor with SIGINT/SIGTERM trapped.
    func execute(_ executor: Executor, _ session: Session) async -> RunOutcome {
        let notices = environment.notices
        let trap = SignalTrap(controller: session.stop) { notices(.stopping(signal: $0)) }
        let outcome = await executor.run()
        trap.remove()
        return outcome
    }

    func ending(_ session: Session) {
        for case let observer as any RunEndingObserver in session.observers.observers { observer.runEnding() }
    }

    /// Journals how the run ended (with its objectives), tells the front end and the sinks.
    func finish(_ outcome: RunOutcome, _ session: Session, plan: Plan? = nil) async -> RunEnd {
        // A parked or interrupted run keeps the inventory's claim when this process ends.
        session.claim?.keep(runKeepsClaim(outcome.status))
        ending(session)
        await session.hosts.closeAll()
        let finished: Date? = outcome.status == .parked ? nil : Date()
        let measured = measureObjectives(outcome, session, end: finished ?? Date())
        let missed = measured.filter { $0.met != true }
        let exitCode = outcome == .succeeded && !missed.isEmpty ? Self.objectiveMissedExitCode : outcome.exitCode
        var batch = JournalBatch(runID: session.runID)
        batch.runStatus = RunStatusChange(status: outcome.status, exitCode: Int(exitCode), finishedAt: finished)
        let ended = RunEvent.RunEnded(status: outcome.status, exitCode: exitCode)
        batch.events =
            measured.map { .objectiveMeasured($0) } + [
                outcome.status == .parked ? .runParked(ended) : .runFinished(ended)
            ]
        commit(batch, session)
        // The sinks hear of the end once it is journaled; the run waits for what is still being
        // delivered (at most the longest sink timeout), so the report lists every delivery.
        if let notifier = session.notifier {
            notifier.runEnded(outcome, exitCode: exitCode, objectives: measured)
            await notifier.drain()
        }
        let end = RunEnd(
            runID: session.runID, outcome: outcome, exitCode: exitCode,
            missed: outcome == .succeeded ? missed : [], plan: plan ?? session.documents.plan)
        environment.ended(end)
        for sink in environment.sinks { sink.runEnded(runID: session.runID, journal: journal) }
        withExtendedLifetime(session.claim) {}
        return end
    }

    /// The runbook's objectives measured from the journal, once the run has ended (not while it
    /// is parked or interrupted: it has not ended).
    func measureObjectives(_ outcome: RunOutcome, _ session: Session, end: Date) -> [RunEvent.ObjectiveMeasured] {
        switch outcome {
        case .parked, .interrupted: return []
        default: break
        }
        let plan = session.documents.plan
        guard !plan.runbook.objectives.isEmpty else { return [] }
        guard outcome == .succeeded else {
            // A run that did not get to its end recovered nothing: its times prove nothing.
            return plan.runbook.objectives.map {
                RunEvent.ObjectiveMeasured(
                    ObjectiveMeasurement(
                        name: $0.name, max: $0.max.value, measure: $0.measure.source, measured: nil, met: nil,
                        excess: nil, note: "not measured: the run \(outcome.status.rawValue) before its end"))
            }
        }
        guard let record = try? journal.run(id: session.runID), let steps = try? journal.steps(runID: session.runID)
        else { return [] }
        let events = (try? journal.events(runID: session.runID)) ?? []
        return ObjectiveMeasurer.measure(
            plan: plan, runID: session.runID, steps: steps, startedAt: record.startedAt, end: end,
            confirmation: ObjectiveMeasurer.confirmation(startedAt: record.startedAt, events: events)
        ).map(RunEvent.ObjectiveMeasured.init)
    }
}
