import Foundation

/// What a session's `gsyncd.log` on one node says about its workers there (GlusterFS 10.3:
/// `/var/log/glusterfs/geo-replication/PRIMARY_SECONDARYHOST_SECONDARYVOL/gsyncd.log`, the
/// monitor's and the workers' lines, times in UTC).
///
/// A worker that dies on an entry it cannot sync (a directory renamed on the other side during a
/// failover: `ENTRY FAILED ... 'name_mismatch': True`, then `The above directory failed to sync.
/// Please fix it to proceed further.`) is restarted every few seconds by the monitor and goes
/// Faulty each time; status only says Faulty. This reads why, and since when no batch completed.
public struct GsyncdLog: Sendable, Equatable {
    /// The last error line (`E [...]`), without its timestamp.
    public var lastError: String?
    /// The last `ENTRY FAILED` line, without its timestamp (at most 600 characters).
    public var entryFailed: String?
    /// The `'entry'` that line names (e.g. `.gfid/PARENT-GFID/moved-dir`).
    public var errorPath: String?
    /// The first `Worker Status Change [{status=Faulty}]` after the last `Batch Completed` that
    /// moved the stime on: since then the workers of this node have synced nothing new.
    public var faultySince: Date?

    /// The log's directory for a session (the user part of `USER@HOST::VOL` is not in the name).
    public static func path(primary: String, secondary: String) -> String {
        var target = Substring(secondary)
        if let at = target.firstIndex(of: "@") { target = target[target.index(after: at)...] }
        let parts = target.components(separatedBy: "::")
        let host = parts.first ?? ""
        let volume = parts.count > 1 ? parts[1] : ""
        return "/var/log/glusterfs/geo-replication/\(primary)_\(host)_\(volume)/gsyncd.log"
    }

    /// `[2026-12-01 12:45:27.845741] ` at the start of a line, as a UTC date.
    static func time(_ line: Substring) -> Date? {
        guard line.hasPrefix("["), line.count > 20 else { return nil }
        let text = String(line.dropFirst().prefix(19))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let numbers = text.split(whereSeparator: { "- :".contains($0) }).compactMap { Int($0) }
        guard numbers.count == 6 else { return nil }
        return calendar.date(
            from: DateComponents(
                year: numbers[0], month: numbers[1], day: numbers[2], hour: numbers[3], minute: numbers[4],
                second: numbers[5]))
    }

    /// The line without `[TIMESTAMP] `.
    static func body(_ line: Substring) -> String {
        guard let close = line.firstIndex(of: "]") else { return String(line) }
        return String(line[line.index(after: close)...]).trimmingCharacters(in: .whitespaces)
    }

    /// The seconds of `{stime=(1796622032, 0)}` in a `Batch Completed` line.
    static func stime(_ body: String) -> Int? {
        guard let range = body.range(of: "{stime=(") else { return nil }
        return Int(body[range.upperBound...].prefix(while: \.isNumber))
    }

    /// Parses the tail of a log (older lines first).
    public static func parse(_ text: String) -> GsyncdLog {
        var log = GsyncdLog()
        var faultyTimes: [Date] = []
        var lastStime: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let body = Self.body(line)
            if body.hasPrefix("E [") {
                log.lastError = body
                if body.contains("ENTRY FAILED") {
                    log.entryFailed = String(body.prefix(600))
                    if let range = body.range(of: "'entry': '") {
                        let rest = body[range.upperBound...]
                        log.errorPath = rest.firstIndex(of: "'").map { String(rest[..<$0]) }
                    }
                }
            } else if body.contains("Batch Completed") {
                // Progress only when the batch moved the session's stime on: a worker that fails
                // and restarts completes the same history batch again each time.
                let stime = Self.stime(body)
                let again = stime.flatMap { now in lastStime.map { now <= $0 } } ?? false
                if !again { faultyTimes = [] }
                if let stime { lastStime = max(lastStime ?? stime, stime) }
            } else if body.contains("Worker Status Change [{status=Faulty}]"), let at = Self.time(line) {
                faultyTimes.append(at)
            }
        }
        log.faultySince = faultyTimes.first
        return log
    }
}
