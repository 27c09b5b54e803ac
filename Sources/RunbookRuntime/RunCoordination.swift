import Foundation
import RunbookCore
import RunbookExecution

/// One run at a time per inventory: who may drive a run now. The local implementation is the lock
/// file `locks/INVENTORY.lock` (``LocalLockCoordination``); another backend (one outside this
/// host) implements the same.
public protocol RunCoordination: Sendable {
    /// Claims the inventory for `runID`, or throws `LockHeldError` naming the holder. A run whose
    /// status `journal` says is parked or interrupted keeps its claim after its process ended.
    func claim(runbook: String, inventory: String, runID: String, journal: any RunJournal) throws -> any RunClaim
    /// Whether the process recorded as driving `run` still drives it.
    func driver(of run: RunRecord) -> RunDriver
}

/// The process recorded as driving a run, as seen from here.
public enum RunDriver: Sendable, Equatable {
    case alive
    case gone
    /// It runs on another machine: its pid means nothing here.
    case otherHost(String)
}

/// A claim on an inventory, held until released (or the process ends).
public protocol RunClaim: AnyObject, Sendable {
    /// The previous holder, whose process died without releasing.
    var tookOverFrom: LockHolder? { get }
    /// Keep the holder's name after release (the run parked or was interrupted).
    func keep(_ keep: Bool)
    func release()
}

extension RunLock: RunClaim {}

/// Whether a run keeps the inventory's claim after its process ended: it parked or was
/// interrupted, and only its resume (or rollback) may go on.
public func runKeepsClaim(_ status: RunStatus?) -> Bool {
    status == .parked || status == .interrupted
}

/// Today's lock: an exclusive `flock` on `DIRECTORY/INVENTORY.lock`, naming its holder.
public struct LocalLockCoordination: RunCoordination {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func claim(runbook: String, inventory: String, runID: String, journal: any RunJournal) throws
        -> any RunClaim
    {
        try RunLock.acquire(
            directory: directory, runbook: runbook, inventory: inventory, runID: runID,
            stillHeld: { runKeepsClaim((try? journal.run(id: $0.runID))?.status) })
    }

    public func driver(of run: RunRecord) -> RunDriver {
        Self.driver(of: run, lockDirectory: directory)
    }

    /// The run's lock tells first: a lock file that still names the run but that nobody holds
    /// means its process died (its pid may since belong to another process); without one (or
    /// without `lockDirectory`), the pid does.
    public static func driver(of run: RunRecord, lockDirectory: String?) -> RunDriver {
        guard run.hostname == RunLock.currentHostname() else { return .otherHost(run.hostname) }
        if let lockDirectory, RunLock.isHeld(directory: lockDirectory, runID: run.id) == false { return .gone }
        return LockHolder(runID: run.id, hostname: run.hostname, pid: run.pid, startedAt: run.startedAt).processExists
            ? .alive : .gone
    }
}
