import Foundation
import RunbookCore

/// `same-version`: every node of both sites runs the same GlusterFS version (`gluster --version`).
public struct SameVersionCheck: PreflightCheck {
    public init() {}
    public let name = "same-version"
    public let reason =
        "a session between clusters of different GlusterFS versions is unsupported: 11.x changed the keys and the pem script (failures after an upgrade of one site), and gluster-georep-setup refuses it"
    public let issue = "https://github.com/gluster/glusterfs/issues/4187"
    public let fix = "upgrade (or downgrade) the named nodes to the version of the others before failing over or back"

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        input.nodes.map { PlannedCommand(.probe, on: $0, CommandSpec(argv: [cli.binary, "--version"])) }
    }

    /// The version of `gluster --version`'s first line (`glusterfs 10.3`).
    public static func version(_ text: String) -> String? {
        guard let first = text.split(separator: "\n").first else { return nil }
        let words = first.split(separator: " ")
        guard words.count >= 2, words[0] == "glusterfs" else { return nil }
        return String(words[1])
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        var findings: [PreflightFinding] = []
        var versions: [(host: String, version: String)] = []
        for answer in answers {
            if let failure = answer.failure("run gluster --version") {
                findings.append(failure)
            } else if let version = Self.version(answer.result?.stdout ?? "") {
                versions.append((answer.host, version))
            } else {
                findings.append(PreflightFinding(answer.host, "gluster --version printed no `glusterfs VERSION` line"))
            }
        }
        // The version most nodes run is the reference; each other node is named.
        let counts = Dictionary(versions.map { ($0.version, 1) }, uniquingKeysWith: +)
        guard
            let reference = counts.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }).first?
                .key
        else { return findings }
        let sameHosts = versions.filter { $0.version == reference }.map(\.host)
        for (host, version) in versions where version != reference {
            findings.append(
                PreflightFinding(
                    host,
                    "runs glusterfs \(version), \(sameHosts.joined(separator: ", ")) run\(sameHosts.count == 1 ? "s" : "") \(reference)"
                ))
        }
        return findings
    }
}
