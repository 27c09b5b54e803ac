import Foundation
import RunbookCore

/// `session-keys`: the session user's `authorized_keys` on every secondary node holds the geo-rep
/// keys push-pem wrote (`command="…/gsyncd"` lines), at least `expected_keys` of them.
public struct SessionKeysCheck: PreflightCheck {
    public init() {}
    public let name = "session-keys"
    public let reason =
        "a secondary node without the primary's gsyncd key refuses its worker (Permission denied (publickey)) and the session goes Faulty or stays Created; keys in root's file do nothing for a mountbroker user"
    public let issue = "https://github.com/gluster/glusterfs/issues/1754"
    public let fix =
        "re-push the keys: `gluster system:: execute gsec_create`, then `create push-pem force` (root), or `gluster-georep-sshkey generate`, `create push-pem force` and `set_geo_rep_pem_keys.sh USER PRIMARY SECONDARY` on a secondary node (non-root)"

    /// `sh -c 'cat "$(getent passwd USER | cut -d: -f6)/.ssh/authorized_keys"' sh USER`: the user's file, wherever its home is.
    static func read(_ user: String) -> CommandSpec {
        CommandSpec(argv: [
            "sh", "-c", #"cat "$(getent passwd "$1" | cut -d: -f6)/.ssh/authorized_keys""#, "sh", user,
        ])
    }

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        input.nodes.map { PlannedCommand(.probe, on: $0, Self.read(input.user)) }
    }

    /// The gsyncd keys of an `authorized_keys` text: lines whose `command=` runs gsyncd.
    public static func gsyncdKeys(_ text: String) -> Int {
        text.split(separator: "\n").filter { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.hasPrefix("#") && trimmed.hasPrefix("command=") && trimmed.contains("gsyncd")
        }.count
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        let expected = max(input.arguments.int("expected_keys") ?? 1, 1)
        return answers.compactMap { answer in
            if let failure = answer.failure("read \(input.user)'s authorized_keys") { return failure }
            let found = Self.gsyncdKeys(answer.result?.stdout ?? "")
            return found >= expected
                ? nil
                : PreflightFinding(
                    answer.host,
                    "\(found) of \(expected) geo-rep key(s) (command=\"…gsyncd\") in \(input.user)'s authorized_keys")
        }
    }
}
