import Foundation
import RunbookCore

/// `gluster.preflight`: one named check of the preflight catalogue (``PreflightCatalogue``), the
/// environment drift that most often breaks geo-replication in the field, found before anything
/// changes. Each check is one file under `Probes/Preflight/`: the commands it reads (shown in
/// the plan), what it finds per node, why it matters with the GlusterFS tracker issue, and what
/// to do. A `refuse` check fails its step; a `warn` check passes it and says the risk
/// (`outputs.ok` false, `outputs.passed` true, the summary starts with `WARNING`).
public struct PreflightProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.preflight", kind: .probe,
        summary:
            "One named preflight check of what breaks geo-replication (versions, keys, meta volume, mountbroker, read-only, workers, ignore-deletes, sharding, hardlinks, ciphers): the node, the reason with its GlusterFS issue, and what to do.",
        parameters: [
            ParameterSpec(
                "check", .string, required: true,
                "the check: \(PreflightCatalogue.checks.map(\.name).joined(separator: ", "))"),
            ParameterSpec(
                "nodes", .stringList, hostReference: true,
                "the inventory hosts the check reads (default: the step's host)"),
            ParameterSpec("primary", .string, "the session's primary volume"),
            ParameterSpec("secondary", .string, "the session's secondary: HOST::VOLUME or USER@HOST::VOLUME"),
            ParameterSpec("volume", .string, "the volume the check reads (read-only, sharding)"),
            ParameterSpec("user", .string, "the session user (default root; a mountbroker user otherwise)"),
            ParameterSpec(
                "use_meta_volume", .bool, "whether the session elects its workers on the meta volume (default false)"),
            ParameterSpec(
                "expected_keys", .int,
                "session-keys: the gsyncd `command=` keys each node must hold (default 1; the primary's node count)"),
            ParameterSpec(
                "key", .string,
                "session-login: the private key the primary logs in with (default /var/lib/glusterd/geo-replication/secret.pem)"
            ),
            ParameterSpec(
                "addresses", .stringList,
                "session-login: the names to log in to, as the primary site resolves them (default: the `nodes`)"),
            ParameterSpec(
                "known_bad", .stringList,
                "known-bad-versions: more entries, PACKAGE=VERSION (os=ID VERSION_ID for the OS), beside the shipped list"
            ),
        ],
        outputs: [
            OutputSpec("check", "string", "the check's name"),
            OutputSpec("ok", "bool", "nothing found"),
            OutputSpec("passed", "bool", "ok, or only a warning (a warn check never fails its step)"),
            OutputSpec("severity", "string", "refuse (fails the step) or warn"),
            OutputSpec("findings", "list", "what was found, one `NODE: text` each"),
            OutputSpec("reason", "string", "why it matters"),
            OutputSpec("issue", "string", "the GlusterFS tracker issue"),
            OutputSpec("fix", "string", "what to do"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.passed")

    public func check(_ arguments: ResolvedArguments) -> [String] {
        guard let name = arguments.string("check"), !name.hasPrefix("${{") else { return [] }
        guard let check = PreflightCatalogue.check(named: name) else {
            return [
                "unknown preflight check '\(name)'; the checks are: \(PreflightCatalogue.checks.map(\.name).joined(separator: ", "))"
            ]
        }
        return check.required.compactMap { parameter in
            arguments.values[parameter] == nil ? "preflight check \(name) needs `\(parameter)`" : nil
        }
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        guard let name = arguments.string("check"), let check = PreflightCatalogue.check(named: name) else {
            return []
        }
        let reads = check.commands(PreflightInput(arguments, host: host.name), cli: GlusterCLI(host: host))
        // A geo-rep status read's text form, run only when the `--xml` form fails with no reason.
        let textForms = reads.filter { GlusterdLock.isStatusRead($0.command) }.map {
            PlannedCommand(.probe, on: $0.host, GlusterdLock.textForm($0.command))
        }
        return reads + textForms
    }

    /// Runs a check's read, again after a wait while glusterd refuses it as busy or a geo-rep
    /// `status` fails with no reason and its text form does not say there is no session
    /// (`GlusterdLock`): a check that reads a moment later is not a finding, and a session that
    /// does not exist is an answer, not a wait.
    static func read(_ command: PlannedCommand, _ context: ActionContext) async throws -> CommandResult {
        var result = try await context.run(command)
        var delays = GlusterdLock.delays[...]
        while true {
            let output = GlusterOutput(command: command.command, host: command.host, result: result)
            let bare = GlusterdLock.isBareStatusFailure(output)
            if bare {
                let none = try await GlusterdLock.noSessionConfirmed(command.command) {
                    try await context.run(PlannedCommand(command.purpose, on: command.host, $0))
                }
                if none { return result }
            }
            guard bare || GlusterdLock.isBusy(output) else { return result }
            guard let delay = delays.popFirst() else { return bare ? GlusterdLock.unreadable(result) : result }
            try await Task.sleep(for: .seconds(delay))
            result = try await context.run(command)
        }
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        guard let name = context.arguments.string("check"), let check = PreflightCatalogue.check(named: name) else {
            return Observation(done: true, summary: "no such check")
        }
        var answers: [PreflightAnswer] = []
        for command in context.planned(.probe) where !GlusterdLock.isStatusTextForm(command.command) {
            do {
                answers.append(PreflightAnswer(command: command, result: try await Self.read(command, context)))
            } catch let error as TransportError {
                answers.append(PreflightAnswer(command: command, result: nil, error: error.description))
            }
        }
        let findings = check.evaluate(answers, PreflightInput(context.arguments, host: context.host))
        return Self.observation(check, findings: findings)
    }

    /// The probe's answer for a check's findings (what the summary and outputs say).
    public static func observation(_ check: any PreflightCheck, findings: [PreflightFinding]) -> Observation {
        let ok = findings.isEmpty
        let passed = ok || check.severity == .warn
        let summary: String
        if ok {
            summary = "preflight \(check.name): ok"
        } else {
            let head = check.severity == .warn ? "WARNING" : "FAILED"
            summary =
                "preflight \(check.name): \(head): \(findings.map(\.description).joined(separator: "; ")). Why: \(check.reason) (\(check.issue)). Do: \(check.fix)"
        }
        return Observation(
            done: true, summary: summary,
            outputs: [
                "check": .string(check.name), "ok": .bool(ok), "passed": .bool(passed),
                "severity": .string(check.severity.rawValue),
                "findings": .list(findings.map { .string($0.description) }),
                "reason": .string(check.reason), "issue": .string(check.issue), "fix": .string(check.fix),
            ])
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}

/// Whether a failed check fails its step or only warns.
public enum PreflightSeverity: String, Sendable, Hashable {
    case refuse, warn
}

/// One thing a check found on one node.
public struct PreflightFinding: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var text: String

    public init(_ host: String, _ text: String) {
        self.host = host
        self.text = text
    }

    public var description: String { "\(host): \(text)" }
}

/// What one planned command answered (or why it could not run).
public struct PreflightAnswer: Sendable {
    public var command: PlannedCommand
    public var result: CommandResult?
    public var error: String?

    public init(command: PlannedCommand, result: CommandResult?, error: String? = nil) {
        self.command = command
        self.result = result
        self.error = error
    }

    /// The node it ran on.
    public var host: String { command.host }

    /// The finding for a command that did not answer, or that exited non-zero when `mustSucceed`.
    public func failure(_ what: String, mustSucceed: Bool = true) -> PreflightFinding? {
        if let error { return PreflightFinding(host, "could not \(what): \(error)") }
        guard let result else { return PreflightFinding(host, "could not \(what)") }
        if mustSucceed && !result.succeeded {
            let said = (result.stderr + result.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
            return PreflightFinding(
                host,
                "could not \(what): exit \(result.exitCode.map(String.init) ?? "signal")\(said.isEmpty ? "" : ": " + said)"
            )
        }
        return nil
    }
}

/// A check's arguments, with the defaults the catalogue shares.
public struct PreflightInput: Sendable {
    public var arguments: ResolvedArguments
    /// The step's host.
    public var host: String

    public init(_ arguments: ResolvedArguments, host: String) {
        self.arguments = arguments
        self.host = host
    }

    /// The hosts to read (`nodes`, or the step's host).
    public var nodes: [String] {
        let listed = arguments.strings("nodes") ?? []
        return listed.isEmpty ? [host] : listed
    }

    /// The session user (`user`, or the USER of `USER@HOST::VOLUME`, or root).
    public var user: String {
        if let user = arguments.string("user"), !user.isEmpty { return user }
        if let secondary = arguments.string("secondary"), let at = secondary.firstIndex(of: "@") {
            return String(secondary[..<at])
        }
        return "root"
    }

    /// Whether the session runs as an unprivileged (mountbroker) user.
    public var isNonRoot: Bool { user != "root" }

    /// The VOLUME of the secondary `[USER@]HOST::VOLUME`.
    public var secondaryVolume: String? {
        guard let secondary = arguments.string("secondary"), let range = secondary.range(of: "::") else { return nil }
        return String(secondary[range.upperBound...])
    }

    public func string(_ name: String) -> String { arguments.string(name) ?? "" }
}

/// One check of the catalogue (one file each under `Probes/Preflight/`).
public protocol PreflightCheck: Sendable {
    /// Its name (`with: {check: NAME}`).
    var name: String { get }
    /// Why it matters (what breaks when it fails).
    var reason: String { get }
    /// The GlusterFS tracker issue that shows it.
    var issue: String { get }
    /// What to do when it fails.
    var fix: String { get }
    /// Whether a finding fails the step or warns.
    var severity: PreflightSeverity { get }
    /// The parameters it needs beside `check`.
    var required: [String] { get }
    /// The commands it reads (the plan shows them).
    func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand]
    /// What it finds in their answers (empty: ok).
    func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding]
}

extension PreflightCheck {
    public var severity: PreflightSeverity { .refuse }
    public var required: [String] { [] }
}

/// The catalogue: every check `gluster.preflight` knows.
public enum PreflightCatalogue {
    public static let checks: [any PreflightCheck] = [
        SameVersionCheck(), KnownBadVersionsCheck(), SessionKeysCheck(), SessionLoginCheck(),
        MetaVolumeMountedCheck(), MountbrokerStatusCheck(), SecondaryReadOnlyCheck(), WorkerFailuresCheck(),
        ActiveWorkersCheck(), IgnoreDeletesCheck(), ShardNonRootCheck(), ProtectedHardlinksCheck(),
        SSHCipherCheck(),
    ]

    public static func check(named name: String) -> (any PreflightCheck)? { checks.first { $0.name == name } }
}
