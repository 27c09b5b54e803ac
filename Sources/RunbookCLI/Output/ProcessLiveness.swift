import Foundation
import RunbookExecution
import RunbookRuntime

// MARK: - The process driving a run

/// Whether the process recorded as driving a run still exists.
enum ProcessLiveness: Equatable {
    case alive
    case gone
    /// It ran on another machine: its pid means nothing here.
    case otherHost(String)

    /// As the run-lock coordination sees it (`LocalLockCoordination.driver`): the lock file
    /// first, then the pid.
    static func of(_ run: RunRecord, lockDirectory: String? = defaultLockDirectory) -> ProcessLiveness {
        switch LocalLockCoordination.driver(of: run, lockDirectory: lockDirectory) {
        case .alive: return .alive
        case .gone: return .gone
        case .otherHost(let host): return .otherHost(host)
        }
    }

    static var defaultLockDirectory: String? {
        (try? StateDirectory.resolved(environment: ProcessInfo.processInfo.environment))?.lockDirectory
    }

    /// A run journaled as `running` whose process is gone (on this host) was interrupted: that is
    /// how `history`, `status` and `show` name it; the journal keeps `running` until a `resume`
    /// or `rollback` takes it over.
    static func shownStatus(_ run: RunRecord, _ liveness: ProcessLiveness? = nil) -> String {
        guard run.status == .running, (liveness ?? of(run)) == .gone else { return ReportText.status(run) }
        return "interrupted (process gone)"
    }

    /// `pid 4242 on ops-1, alive` and the like.
    func describe(_ run: RunRecord) -> String {
        switch self {
        case .alive: return "pid \(run.pid) on \(run.hostname), alive"
        case .gone: return "pid \(run.pid) on \(run.hostname), no longer running"
        case .otherHost(let host): return "pid \(run.pid) on \(host) (another host: cannot check it from here)"
        }
    }
}
