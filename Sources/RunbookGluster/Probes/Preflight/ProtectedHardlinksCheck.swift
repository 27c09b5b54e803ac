import Foundation
import RunbookCore

/// `protected-hardlinks`: for a non-root session, `fs.protected_hardlinks` on the secondary nodes
/// (1 is a warning: hardlinks to files the session user does not own fail).
public struct ProtectedHardlinksCheck: PreflightCheck {
    public init() {}
    public let name = "protected-hardlinks"
    public let reason =
        "with fs.protected_hardlinks=1 the kernel refuses the mountbroker user a hardlink to a file it does not own (root's files): the entry fails and the worker goes Faulty"
    public let issue = "https://github.com/gluster/glusterfs/issues/1727"
    public let fix =
        "if the volume has hardlinks to files of other owners: `sysctl -w fs.protected_hardlinks=0` on the named nodes (and in /etc/sysctl.d), or run the session as root"
    public let severity = PreflightSeverity.warn

    static let read = CommandSpec(argv: ["sysctl", "-n", "fs.protected_hardlinks"])

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        guard input.isNonRoot else { return [] }
        return input.nodes.map { PlannedCommand(.probe, on: $0, Self.read) }
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        answers.compactMap { answer in
            if let failure = answer.failure("read fs.protected_hardlinks") { return failure }
            let value = (answer.result?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return value == "0"
                ? nil
                : PreflightFinding(answer.host, "fs.protected_hardlinks = \(value) for non-root user \(input.user)")
        }
    }
}
