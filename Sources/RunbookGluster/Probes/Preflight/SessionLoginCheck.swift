import Foundation
import RunbookCore

/// `session-login`: from the step's host (a primary node), the session's key logs in as the
/// session user on every secondary node and reaches the forced gsyncd command, not a shell.
///
/// It asks for `echo runbook-preflight-shell`: a forced command ignores it (gsyncd answers, in any
/// way), a shell prints it back, and a refused login is ssh's exit 255. It logs in to `nodes`
/// by their inventory names, or to `addresses` (the names the primary site resolves, as in the
/// session's HOST::VOLUME) when given.
public struct SessionLoginCheck: PreflightCheck {
    public init() {}
    public let name = "session-login"
    public let reason =
        "gsyncd reaches the secondary only through the key's forced command: a refused login makes the workers Faulty at once, and a key that opens a shell is not the key push-pem installed"
    public let issue = "https://github.com/gluster/glusterfs/issues/1754"
    public let fix =
        "put the primary's common_secret.pem.pub back in the session user's authorized_keys with its command= prefix (create push-pem force; set_geo_rep_pem_keys.sh for a non-root user) and remove other keys of that user that open a shell"
    static let marker = "runbook-preflight-shell"
    static let defaultKey = "/var/lib/glusterd/geo-replication/secret.pem"

    /// The options gsyncd's own ssh uses (v11.1 `gsyncd.conf.in` `ssh-options`), so the check
    /// logs in as a worker would, plus no prompt and a bounded connect.
    static func login(key: String, user: String, node: String) -> CommandSpec {
        CommandSpec(argv: [
            "ssh", "-oPasswordAuthentication=no", "-oStrictHostKeyChecking=no", "-i", key, "-oBatchMode=yes",
            "-oConnectTimeout=10", "\(user)@\(node)", "echo", marker,
        ])
    }

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        let key = input.arguments.string("key") ?? Self.defaultKey
        let addresses = input.arguments.strings("addresses") ?? []
        return (addresses.isEmpty ? input.nodes : addresses).map {
            PlannedCommand(.probe, on: input.host, Self.login(key: key, user: input.user, node: $0))
        }
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        answers.compactMap { answer in
            let node =
                answer.command.command.argv.dropLast(2).last.map { String($0.split(separator: "@").last ?? "") }
                ?? "?"
            if let failure = answer.failure("run ssh", mustSucceed: false) { return failure }
            guard let result = answer.result else { return nil }
            if result.stdout.split(separator: "\n").contains(where: { $0 == Self.marker }) {
                return PreflightFinding(
                    answer.host, "\(input.user)@\(node) opened a shell with the session key: no forced gsyncd command")
            }
            if result.exitCode == 255 {
                let said = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit 255"
                return PreflightFinding(answer.host, "\(input.user)@\(node) refused the session key: \(said)")
            }
            return nil
        }
    }
}
