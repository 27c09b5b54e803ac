import Foundation
import RunbookCore

/// `ssh-cipher`: sshd on every secondary node allows `aes128-ctr`, the cipher gsyncd 11.x forces
/// on rsync's ssh (unless the session's `rsync-ssh-options` names one with `-c`).
public struct SSHCipherCheck: PreflightCheck {
    public init() {}
    public let name = "ssh-cipher"
    public let reason =
        "gsyncd 11.x runs rsync's ssh with `-c aes128-ctr`: an sshd whose Ciphers leave it out refuses every data sync (no matching cipher) while the session looks started"
    public let issue = "https://github.com/gluster/glusterfs/issues/3213"
    public let fix =
        "add aes128-ctr to Ciphers in sshd_config on the named nodes, or set the session's rsync-ssh-options to `-c CIPHER` with a cipher they allow"

    static let read = CommandSpec(argv: ["sshd", "-T"])

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        input.nodes.map { PlannedCommand(.probe, on: $0, Self.read) }
    }

    /// The `ciphers` line of `sshd -T`.
    public static func ciphers(_ text: String) -> [String]? {
        for line in text.split(separator: "\n") where line.lowercased().hasPrefix("ciphers ") {
            return line.dropFirst("ciphers ".count).split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        answers.compactMap { answer in
            if let failure = answer.failure("run sshd -T") { return failure }
            guard let ciphers = Self.ciphers(answer.result?.stdout ?? "") else {
                return PreflightFinding(answer.host, "sshd -T printed no ciphers line")
            }
            return ciphers.contains("aes128-ctr")
                ? nil : PreflightFinding(answer.host, "sshd allows \(ciphers.joined(separator: ",")), not aes128-ctr")
        }
    }
}
