import RunbookExecution

// MARK: - The process driving a run

/// Whether the process recorded as driving a run still exists.
enum ProcessLiveness: Equatable {
    case alive
    case gone
    /// It ran on another machine: its pid means nothing here.
    case otherHost(String)

    static func of(_ run: RunRecord) -> ProcessLiveness {
        let here = RunLock.currentHostname()
        guard run.hostname == here else { return .otherHost(run.hostname) }
        return LockHolder(runID: run.id, hostname: run.hostname, pid: run.pid, startedAt: run.startedAt).processExists
            ? .alive : .gone
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
