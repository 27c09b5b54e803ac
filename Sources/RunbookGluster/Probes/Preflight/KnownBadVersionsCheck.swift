import Foundation
import RunbookCore

/// `known-bad-versions`: no node runs an rsync, Python, GlusterFS or OS release of the known-bad
/// list (``KnownBadVersions``, plus the step's `known_bad`).
public struct KnownBadVersionsCheck: PreflightCheck {
    public init() {}
    public let name = "known-bad-versions"
    public let reason =
        "an OS or package update (rsync, Python) breaks geo-replication without touching GlusterFS: the session looks healthy and replicates wrongly or not at all"
    public let issue = "https://github.com/gluster/glusterfs/issues/4533"
    public let fix = "each finding names its own fix and issue"

    /// The packages (dpkg, else rpm) and /etc/os-release of the node.
    static let read = CommandSpec(argv: [
        "sh", "-c",
        #"dpkg-query -W -f='${Package} ${Version}\n' rsync python3 glusterfs-server 2>/dev/null || rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n' rsync python3 glusterfs-server 2>/dev/null; cat /etc/os-release"#,
    ])

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        input.nodes.map { PlannedCommand(.probe, on: $0, Self.read) }
    }

    /// The package versions of the answer, with `os` as `ID VERSION_ID`.
    public static func versions(_ text: String) -> [String: String] {
        var versions: [String: String] = [:]
        var release: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if let eq = line.firstIndex(of: "="), !line.contains(" ") || line[..<eq].allSatisfy({ $0 != " " }) {
                let value = line[line.index(after: eq)...].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                release[String(line[..<eq])] = value
                continue
            }
            let words = line.split(separator: " ")
            if words.count == 2 { versions[String(words[0])] = String(words[1]) }
        }
        if let id = release["ID"] { versions["os"] = id + (release["VERSION_ID"].map { " " + $0 } ?? "") }
        return versions
    }

    /// The entries of the step's `known_bad` (`PACKAGE=VERSION`).
    static func extra(_ input: PreflightInput) -> [KnownBadVersions.Entry] {
        (input.arguments.strings("known_bad") ?? []).compactMap { item in
            guard let eq = item.firstIndex(of: "=") else { return nil }
            return KnownBadVersions.Entry(
                package: String(item[..<eq]), version: "=" + item[item.index(after: eq)...], gluster: nil,
                issue: "the site's known_bad list", why: "listed as known-bad by the site",
                fix: "change it on the named node")
        }
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        let entries = KnownBadVersions.entries + Self.extra(input)
        return answers.flatMap { answer -> [PreflightFinding] in
            if let failure = answer.failure("read the package versions", mustSucceed: false) { return [failure] }
            let versions = Self.versions(answer.result?.stdout ?? "")
            return entries.compactMap { entry in
                guard let version = versions[entry.package], KnownBadVersions.matches(version, entry.version) else {
                    return nil
                }
                if let gluster = entry.gluster {
                    guard let installed = versions["glusterfs-server"], KnownBadVersions.matches(installed, gluster)
                    else { return nil }
                }
                let with =
                    entry.gluster.flatMap { _ in versions["glusterfs-server"].map { " with glusterfs \($0)" } } ?? ""
                return PreflightFinding(
                    answer.host, "\(entry.package) \(version)\(with): \(entry.why) (\(entry.issue)); do: \(entry.fix)")
            }
        }
    }
}
