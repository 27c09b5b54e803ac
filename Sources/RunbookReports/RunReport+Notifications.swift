import Foundation
import RunbookExecution

extension RunReport {
    /// One delivery to a notify sink, as journaled (`notify.sent` / `notify.failed`).
    public struct Notification: Sendable, Equatable {
        public var at: Date
        public var sent: Bool
        public var delivery: RunEvent.NotifyDelivery
    }

    /// Every delivery to a notify sink, in the order they ended.
    public var notifications: [Notification] {
        events.compactMap { record in
            switch record.event {
            case .notifySent(let delivery)?: return Notification(at: record.ts, sent: true, delivery: delivery)
            case .notifyFailed(let delivery)?: return Notification(at: record.ts, sent: false, delivery: delivery)
            default: return nil
            }
        }
    }
}

extension RunReport.Notification {
    /// `ops-chat: gate.waiting (go-ahead) sent in 0.2s: HTTP 200` or `pager: run.failed NOT
    /// SENT after 3 attempts in 10s: attempt 1: connection refused; ...`.
    public var line: String {
        let d = delivery
        let what = d.event + (d.step.map { " (\($0))" } ?? "")
        let took = String(format: "%.1fs", d.seconds)
        if sent { return "\(d.sink): \(what) sent in \(took): \(d.detail)" }
        return
            "\(d.sink): \(what) NOT SENT after \(d.attempts) attempt\(d.attempts == 1 ? "" : "s") in \(took): \(d.detail)"
    }
}

extension RunReport {
    /// What the epoch fence said of this run, in order (`epoch.read`: the epoch the run was made
    /// under; `epoch.refused`: a resume or rollback refused as split brain), one line each.
    public var epochLines: [(at: Date, line: String)] {
        events.compactMap { record in
            switch record.event {
            case .epochRead(let read)?:
                return (
                    record.ts,
                    "read epoch \(read.basis) at most, wrote epoch \(read.epoch)"
                        + (read.known.map { " (this controller knew \($0))" } ?? "") + ": \(read.readings)"
                )
            case .epochRefused(let refused)?:
                return (record.ts, "\(refused.action) REFUSED: \(refused.reason)")
            default: return nil
            }
        }
    }
}
