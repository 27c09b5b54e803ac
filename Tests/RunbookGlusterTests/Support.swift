import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// A fixture file: its text with the added `rc=N` line removed, and N as the exit code (0 when absent).
struct Fixture {
    var text: String
    var exitCode: Int32

    init(_ name: String) throws {
        let url = try #require(
            Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil), "fixture \(name) missing")
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        while lines.last == "" { lines.removeLast() }
        var code: Int32 = 0
        if let last = lines.last, last.hasPrefix("rc="), let number = Int32(last.dropFirst(3)) {
            code = number
            lines.removeLast()
        }
        text = lines.joined(separator: "\n") + "\n"
        exitCode = code
    }

    func output(_ command: String = "gluster --mode=script --xml test", host: String = "gfs-a1") -> GlusterOutput {
        GlusterOutput(command: command, host: host, exitCode: exitCode, stdout: text)
    }

    var result: CommandResult { CommandResult(exitCode: exitCode, stdout: text) }
}

/// A fake runner: answers commands by their argv (without the binary) and records what it ran.
final class FakeHost: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [String: [CommandResult]] = [:]
    private var log: [(host: String, argv: [String])] = []

    /// Queues answers for `words` (argv after the binary, joined by spaces); the last one repeats.
    func on(_ words: String, _ results: CommandResult...) {
        lock.withLock { answers[words, default: []].append(contentsOf: results) }
    }

    func on(_ words: String, fixture name: String) throws {
        on(words, try Fixture(name).result)
    }

    /// Answers a geo-rep status (`words` after `--xml`) as 10.3 does for a session that does not
    /// exist: the `--xml` form fails bare, the text form says "No active geo-replication sessions".
    func onNoSession(_ words: String, fixture: String = "live-10.3-georep-status-nosession") throws {
        try on("--mode=script --xml \(words)", fixture: fixture + ".xml")
        try on("--mode=script \(words)", fixture: fixture + ".txt")
    }

    var ran: [[String]] { lock.withLock { log.map(\.argv) } }
    var hosts: [String] { lock.withLock { log.map(\.host) } }

    /// The commands that change something (not reads), as text without the binary.
    var changes: [String] {
        ran.map { $0.dropFirst().joined(separator: " ") }.filter { text in
            !(text.contains("volume info") || text.contains(" status") || text.hasSuffix(" config")
                || text.contains("volume get ")
                || text.hasPrefix("-s ") || text.contains("pool list") || text.hasPrefix("/"))
        }
    }

    var runner: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult {
        { [self] host, command, _, _ in
            try self.answer(host, command)
        }
    }

    private func answer(_ host: String, _ command: CommandSpec) throws -> CommandResult {
        try lock.withLock {
            log.append((host, command.argv))
            let key = command.argv.dropFirst().joined(separator: " ")
            guard var queue = answers[key], let first = queue.first else {
                throw TransportError(kind: .unreachable, host: host, message: "fake: no answer for `\(key)`")
            }
            if queue.count > 1 {
                queue.removeFirst()
                answers[key] = queue
            }
            return first
        }
    }
}

enum Lab {
    static let binary = "/opt/gluster/sbin/gluster"

    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: lab}
        defaults: {transport: local, gluster: /opt/gluster/sbin/gluster}
        hosts:
          gfs-a1: {roles: [primary]}
          gfs-b1: {roles: [secondary]}
        """

    /// Compiles one step (YAML of the step's body after `id`) and returns its plan node.
    static func node(
        _ step: String, on target: String = "gfs-a1", behindCommit: Bool = false, inventory: String = Lab.inventory
    ) throws -> PlanNode {
        let gate = behindCommit ? "  - id: go\n    gate: {approval: {prompt: ok}}\n    commit: true\n" : ""
        let needs = behindCommit ? "\n    needs: [go]" : ""
        let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            steps:
            \(gate)  - id: s
                on: \(target)\(needs)
            \(step.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(text: text, file: "r.yaml", diagnostics: &diagnostics), "\(diagnostics.all)")
        let hostKeys = ActionRegistry.withGluster.hostKeys
        let inventory = try #require(
            InventoryLoader.load(text: inventory, file: "i.yaml", hostKeys: hostKeys, diagnostics: &diagnostics),
            "\(diagnostics.all)")
        let request = Compiler.Request(runbook: runbook, inventory: inventory, mode: nil, params: [], environment: [:])
        let plan = try #require(
            Compiler(registry: .withGluster).compile(request, diagnostics: &diagnostics), "\(diagnostics.all)")
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.all)")
        return try #require(plan.nodes.first { $0.stepID == "s" })
    }

    /// The lab inventory's settings for a host (the `gluster` key names the binary).
    static func settings(_ host: String, inventory: String = Lab.inventory) -> HostSettings {
        var diagnostics = Diagnostics()
        let hostKeys = ActionRegistry.withGluster.hostKeys
        let loaded = InventoryLoader.load(
            text: inventory, file: "i.yaml", hostKeys: hostKeys, diagnostics: &diagnostics)
        return loaded?.settings(for: host) ?? HostSettings()
    }

    static func context(_ node: PlanNode, _ host: FakeHost, phase: PlannedCommand.Purpose = .probe) -> ActionContext {
        ActionContext(
            node: node, host: node.host, settings: settings(node.host), phase: phase, timeout: 30, runner: host.runner)
    }

    static func ok(_ text: String = "") -> CommandResult { CommandResult(exitCode: 0, stdout: text) }

    /// A successful `--xml` answer with no payload (what set/start/stop print is not needed).
    static let okXML = ok(
        """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>
        """)

    static func failedXML(_ message: String, exit: Int32 = 1) -> CommandResult {
        CommandResult(
            exitCode: exit,
            stdout: """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>\(message)</opErrstr></cliOutput>
                """)
    }
}

/// `2026-11-25 08:27:12` UTC.
func utc(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text.replacingOccurrences(of: " ", with: "T") + "Z")
}
