import Foundation
import RunbookExecution

// MARK: - The process driving a run

/// Whether the process recorded as driving a run still exists.
public enum ProcessLiveness: Equatable {
    case alive
    case gone
    /// It ran on another machine: its pid means nothing here.
    case otherHost(String)

    /// The run's lock tells first: a lock file that still names the run but that nobody holds
    /// means its process died (its pid may since belong to another process); without one, the
    /// pid does.
    public static func of(_ run: RunRecord, lockDirectory: String? = defaultLockDirectory) -> ProcessLiveness {
        let here = RunLock.currentHostname()
        guard run.hostname == here else { return .otherHost(run.hostname) }
        if let lockDirectory, RunLock.isHeld(directory: lockDirectory, runID: run.id) == false { return .gone }
        return LockHolder(runID: run.id, hostname: run.hostname, pid: run.pid, startedAt: run.startedAt).processExists
            ? .alive : .gone
    }

    public static var defaultLockDirectory: String? {
        (try? StateDirectory.resolved(environment: ProcessInfo.processInfo.environment))?.lockDirectory
    }

    /// A run journaled as `running` whose process is gone (on this host) was interrupted: that is
    /// how `history`, `status` and `show` name it; the journal keeps `running` until a `resume`
    /// or `rollback` takes it over.
    public static func shownStatus(_ run: RunRecord, _ liveness: ProcessLiveness? = nil) -> String {
        guard run.status == .running, (liveness ?? of(run)) == .gone else { return ReportText.status(run) }
        return "interrupted (process gone)"
    }

    /// `pid 4242 on ops-1, alive` and the like.
    public func describe(_ run: RunRecord) -> String {
        switch self {
        case .alive: return "pid \(run.pid) on \(run.hostname), alive"
        case .gone: return "pid \(run.pid) on \(run.hostname), no longer running"
        case .otherHost(let host): return "pid \(run.pid) on \(host) (another host: cannot check it from here)"
        }
    }
}
