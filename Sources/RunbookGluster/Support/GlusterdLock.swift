import Foundation
import RunbookCore

/// glusterd runs one CLI transaction at a time per volume (and cluster-wide for some): a second
/// one is refused while the first holds the lock. Parallel `for_each` items on one cluster (two
/// sessions' checkpoints, say) meet this; the refusal is not a failure of the step, so the pack
/// waits and runs the command again, a bounded number of times.
///
/// The messages, as the CLI shows them (opErrstr in `--xml`, the text after `failed:` otherwise),
/// from the GlusterFS source (xlators/mgmt/glusterd/src, 595745f8):
/// - "Another transaction is in progress for %s. Please try again after some time."
///   (glusterd-handler.c, glusterd-syncop.c: the volume's or the global mgmt_v3 lock is held);
/// - "Another transaction is in progress. Please try again after some time." (glusterd-mgmt.c);
/// - "Another transaction could be in progress. Please try again after some time."
///   (glusterd-syncop.c, glusterd-rpc-ops.c: a peer refused the cluster lock);
/// - "Locking failed on %s. %s" wraps a peer's refusal, which is one of the above.
/// ("Lock for %s held by %s" and "Unable to get lock ... lock held by" are glusterd's log lines,
/// not CLI output.)
public enum GlusterdLock {
    static let markers = ["Another transaction is in progress", "Another transaction could be in progress"]

    /// Seconds to wait before each new try: 5 more tries over 15.5 s at most.
    @TaskLocal public static var delays: [Double] = [0.5, 1, 2, 4, 8]

    /// glusterd's refusal of a geo-rep `stop` (without force), `delete`, `pause`, `resume` and
    /// `create` (without force) while a peer holding a brick of the volume is disconnected, at the
    /// staging of the command (nothing was done), from glusterd-geo-rep.c (v10.3, lines 3180-3184
    /// and 3722-3726): "Peer %s, which is a part of %s volume, is down. Please bring up the peer
    /// and retry." Seen on the lab right after a site came back: glusterd had not reconnected to
    /// its peer yet, and the same command a few seconds later worked. So it is waited for, like
    /// the lock, but longer (glusterd reconnects every few seconds), and then said plainly.
    static var peerDown: Regex<(Substring, Substring, Substring)> {
        /Peer (\S+), which is a part of (\S+) volume, is down\. Please bring up the peer and retry\./
    }

    /// Seconds to wait before each new try while a peer is down: 5 more tries over 30 s at most.
    @TaskLocal public static var peerDelays: [Double] = [2, 4, 8, 8, 8]

    /// The peer and volume of a "Peer X, which is a part of V volume, is down" refusal, or nil.
    public static func downPeer(_ output: GlusterOutput) -> (peer: String, volume: String)? {
        guard output.exitCode != 0 || output.stdout.contains("<opRet>-1</opRet>") else { return nil }
        guard let match = output.combined.firstMatch(of: peerDown) else { return nil }
        return (String(match.1), String(match.2))
    }

    /// Seconds to wait before each new try of a geo-rep `status` that failed with nothing but
    /// "geo-replication command failed" while its text form did not say there is no session (see
    /// `isBareStatusFailure`).
    @TaskLocal public static var statusDelays: [Double] = [1, 2, 4]

    /// A geo-rep `status --xml` (a read) that failed with the CLI's bare "geo-replication command
    /// failed" and no reason. On 10.3 that is how `--xml` answers a session that does not exist
    /// (fixture live-10.3-georep-status-nosession.xml, rc=2); it is also what the lab saw once at
    /// the start of a failover for a session that did exist (right after the test before had
    /// restarted it; nothing in glusterd's log; the same read a moment later worked). The text form
    /// tells the two apart (`noSessionConfirmed`). A change is never run again on this.
    public static func isBareStatusFailure(_ output: GlusterOutput) -> Bool {
        guard output.exitCode != 0, isStatus(output.command.split(separator: " ").map(String.init)) else {
            return false
        }
        let text = output.combined
        return text.contains("geo-replication command failed") && !text.contains("<opErrstr>")
            && !text.contains("No active geo-replication sessions")
    }

    /// Whether a command is a geo-rep `status [detail] --xml` read.
    public static func isStatusRead(_ command: CommandSpec) -> Bool {
        command.argv.contains("--xml") && isStatus(command.argv)
    }

    /// Whether a command is the text form of a geo-rep status read (`textForm`).
    public static func isStatusTextForm(_ command: CommandSpec) -> Bool {
        !command.argv.contains("--xml") && isStatus(command.argv)
    }

    static func isStatus(_ argv: [String]) -> Bool {
        argv.contains("geo-replication") && (argv.last == "status" || argv.suffix(2) == ["status", "detail"])
    }

    /// The same status read in text form (without `--xml`): there 10.3 says why it failed, "No
    /// active geo-replication sessions for V" / "... between P and S" when there is no session.
    public static func textForm(_ command: CommandSpec) -> CommandSpec {
        var text = command
        text.argv.removeAll { $0 == "--xml" }
        return text
    }

    /// After a status read failed bare: whether its text form (`run`) says there is no session, so
    /// the failure is the answer "no session" and is read no more.
    public static func noSessionConfirmed(
        _ command: CommandSpec, run: (CommandSpec) async throws -> CommandResult
    ) async throws -> Bool {
        let text = try await run(textForm(command))
        return (text.stdout + text.stderr).contains("No active geo-replication sessions")
    }

    /// A bare status failure still bare after the last wait, with its text form not saying "no
    /// session": marked so that nothing reads it as "no session" (the parser's bare-failure rule).
    public static func unreadable(_ result: CommandResult) -> CommandResult {
        var marked = result
        marked.stderr +=
            (marked.stderr.isEmpty || marked.stderr.hasSuffix("\n") ? "" : "\n")
            + "runbook: the status failed with no reason on every try and its text form did not say there is no"
            + " session: it could not be read (is glusterd answering? `gluster volume geo-replication status`)\n"
        return marked
    }

    /// Whether a command failed because glusterd was busy with another transaction.
    public static func isBusy(_ output: GlusterOutput) -> Bool {
        guard output.exitCode != 0 || output.stdout.contains("<opRet>-1</opRet>") else { return false }
        let text = output.combined
        return markers.contains { text.localizedCaseInsensitiveContains($0) }
    }
}
