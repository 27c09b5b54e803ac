import Foundation
import RunbookCore
import RunbookExecution

/// The connections of one run, as the controller uses them: the executor's host access, closed
/// when the run ends. `HostPool` is the real one.
public protocol RunHosts: HostAccess {
    func closeAll() async
}

extension HostPool: RunHosts {}

/// Where a run's record goes when it ends, whatever the outcome (the report directory and the
/// metrics file of a scheduled drill). Told after the journal has the end; a sink that fails
/// says so itself and changes neither the outcome nor the exit code.
public protocol RunSink: Sendable {
    /// The run ended (parked and interrupted included): the journal has all of it.
    func runEnded(runID: String, journal: any RunJournal)
    /// The run could not start (its lock is held): nothing of it is journaled.
    func runNotStarted(_ run: NotStartedRun, journal: any RunJournal)
}

/// A run that could not start, as its report says.
public struct NotStartedRun: Sendable {
    public var runID: String
    public var runbook: String
    public var runbookPath: String
    public var inventory: String
    public var inventoryPath: String
    public var mode: String
    public var why: String
    public var exitCode: Int
}

/// An observer told when a run is about to end (before the connections close and the end is
/// journaled), e.g. to stop a heartbeat.
public protocol RunEndingObserver: RunObserver {
    func runEnding()
}

/// What the controller has to say while it works, for the front end to show (it prints nothing).
public enum RunNotice: Sendable {
    /// The lock was taken over from a run whose process is gone.
    case tookOverLock(from: LockHolder)
    /// Waiting (at most `seconds`) for commands a killed run left running.
    case waitingForLeftovers(runID: String, [LeftoverCommands.Leftover], seconds: Double)
    /// A batch of the run could not be journaled (a warning: the run goes on).
    case notJournaled(events: String, error: String)
    /// A signal asked the run to stop.
    case stopping(signal: Int32)
    /// A resume found a rollback begun before the run stopped, and finishes it.
    case finishingRollback(runID: String)
}

/// Everything a run needs from outside: the packs (the action registry made once from them), how
/// an inventory's hosts are reached, the journal, the run-lock coordination, the observers, the
/// end-of-run sinks, and where notices go.
public struct RunEnvironment: Sendable {
    public var registry: ActionRegistry
    /// The connections of a run over an inventory (the packs' transports).
    public var connect: @Sendable (Inventory) -> any RunHosts
    public var journal: any RunJournal
    public var coordination: any RunCoordination
    public var observers: [any RunObserver]
    public var sinks: [any RunSink]
    public var notices: @Sendable (RunNotice) -> Void
    /// Told the end of a run once it is journaled, before the sinks: the front end shows it there.
    public var ended: @Sendable (RunEnd) -> Void
    /// Asks a person at a gate (nil: nobody can answer here, the run parks).
    public var prompter: Prompter?
    /// How notify sinks are reached (the real webhook and command senders unless a test says).
    public var notifySender: any NotifySending = NotifySenders()
    /// Where a webhook's `secret_env` is looked up.
    public var processEnvironment: [String: String] = ProcessInfo.processInfo.environment

    public init(
        registry: ActionRegistry, connect: @escaping @Sendable (Inventory) -> any RunHosts, journal: any RunJournal,
        coordination: any RunCoordination, observers: [any RunObserver] = [], sinks: [any RunSink] = [],
        notices: @escaping @Sendable (RunNotice) -> Void = { _ in },
        ended: @escaping @Sendable (RunEnd) -> Void = { _ in },
        prompter: Prompter? = nil
    ) {
        self.registry = registry
        self.connect = connect
        self.journal = journal
        self.coordination = coordination
        self.observers = observers
        self.sinks = sinks
        self.notices = notices
        self.ended = ended
        self.prompter = prompter
    }

    /// The environment of `packs`: their registry, made once, and their transports (each host
    /// through the transport of its kind) with `transports` as the transports' context.
    public init(
        packs: [any Pack], transports: TransportContext, journal: any RunJournal, coordination: any RunCoordination,
        observers: [any RunObserver] = [], sinks: [any RunSink] = [],
        notices: @escaping @Sendable (RunNotice) -> Void = { _ in },
        ended: @escaping @Sendable (RunEnd) -> Void = { _ in },
        prompter: Prompter? = nil
    ) {
        let registry = ActionRegistry(packs: packs)
        self.init(
            registry: registry,
            connect: { HostPool(inventory: $0, registry: registry, context: transports) },
            journal: journal, coordination: coordination, observers: observers, sinks: sinks, notices: notices,
            ended: ended, prompter: prompter)
    }
}
