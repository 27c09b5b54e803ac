import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Issue 19, defects 3 and 7: what the plan probes and how, an unreachable host, and a "yes"
/// typed before the question (in a real terminal: tmux).
extension RunTests {
    /// An inventory of `here` (this machine) and `dead`, reached with an `ssh` (first on PATH,
    /// in `bin/`) that logs each call to `ssh.log` and always fails as a refused connection does.
    static func deadHostInventory(_ scratch: Scratch) throws -> (inventory: String, path: String, log: String) {
        let bin = scratch.root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let log = scratch.root.appendingPathComponent("ssh.log").path
        let ssh = try scratch.write(
            "bin/ssh",
            """
            #!/bin/sh
            echo "$*" >> \(log)
            echo "ssh: connect to host 192.0.2.1 port 22: Connection refused" >&2
            exit 255

            """)
        _ = chmod(ssh, 0o755)
        let inventory = try scratch.write(
            "i.yaml",
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: half-dead}
            hosts:
              here: {roles: [site], transport: local}
              dead: {address: 192.0.2.1, roles: [site], connect_timeout: 2s}
            """)
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return (inventory, path, log)
    }

    /// Three steps on every site (so three on the dead host); `check` of the first sleeps
    /// `probeSeconds` on each host, as a slow probe would.
    static func threeStepRunbook(_ scratch: Scratch, probeSeconds: Int = 0) throws -> String {
        try scratch.write(
            "three.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: three}
            roles:
              site: {min: 1}
            steps:
              - id: one
                on: site
                action: shell
                with: {run: [touch, "\(scratch.work)/one-${{ host.name }}"], check: "sleep \(probeSeconds); false"}
                undo: {action: shell, with: {run: [rm, -f, "\(scratch.work)/one-${{ host.name }}"]}}
              - id: two
                on: site
                needs: [one]
                action: shell
                with: {run: [true], check: [false]}
                undo: {action: shell, with: {run: [true]}}
              - id: three
                on: site
                needs: [two]
                action: shell
                with: {run: [true], check: [false]}
                undo: {action: shell, with: {run: [true]}}
            """)
    }

    @Test func anUnreachableHostIsCheckedOnceAndNamedInTheCountLine() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let (inventory, path, log) = try Self.deadHostInventory(scratch)
        let file = try Self.threeStepRunbook(scratch)
        let environment = ["PATH": path, "RUNBOOK_SSH_MULTIPLEX": "0"]

        let plan = try runbook(scratch, ["plan", file, "-i", inventory], extraEnvironment: environment)
        #expect(plan.status == 0, "\(plan.stderr)")
        let countLine = try #require(plan.stdout.split(separator: "\n").first { $0.contains("step instances:") })
        #expect(countLine.hasSuffix("; 1 host UNREACHABLE: dead"), "\(plan.stdout)")
        #expect(
            plan.stdout.contains("! dead did not answer: ssh: connect to host 192.0.2.1 port 22: Connection refused"))
        // Once, not once per step instance on it (three).
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.count == 1, "\(calls)")

        // `run --yes` says so before it changes anything, and shows what it probes meanwhile.
        try FileManager.default.removeItem(atPath: log)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes"], extraEnvironment: environment)
        let warning = try #require(run.stderr.range(of: "runbook: warning: 1 host is UNREACHABLE"), "\(run.stderr)")
        #expect(run.stderr.contains("  dead: ssh: connect to host 192.0.2.1 port 22: Connection refused"))
        let probing = try #require(run.stderr.range(of: "probing dead (192.0.2.1) …"), "\(run.stderr)")
        #expect(run.stderr.contains("✗ dead is UNREACHABLE: ssh: connect to host"), "\(run.stderr)")
        #expect(run.stderr.contains("✓ here answered in"), "\(run.stderr)")
        #expect(probing.lowerBound < warning.lowerBound)
    }

    @Test func aYesTypedWhileTheHostsAreProbedDoesNotConfirm() throws {
        guard TerminalSession.available else {
            Issue.record("tmux is not installed")
            return
        }
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let (inventory, path, _) = try Self.deadHostInventory(scratch)
        let file = try Self.threeStepRunbook(scratch, probeSeconds: 3)
        let terminal = try TerminalSession(
            [binary.path, "run", file, "-i", inventory],
            environment: [
                "RUNBOOK_STATE_DIR": scratch.state, "NO_COLOR": "1", "PATH": path, "RUNBOOK_SSH_MULTIPLEX": "0",
            ],
            width: 200, height: 60)
        defer { terminal.close() }

        // While the slow check runs (3 s), type yes.
        #expect(terminal.waitFor("probing what each step would change", seconds: 60), "\(terminal.screen)")
        #expect(!terminal.screen.contains("(yes/no)"))
        terminal.type("yes")

        #expect(terminal.waitFor("(yes/no)", seconds: 60), "\(terminal.screen)")
        let asked = terminal.screen
        #expect(asked.contains("1 host is UNREACHABLE; its steps will fail"), "\(asked)")
        #expect(asked.contains("  dead: ssh: connect to host 192.0.2.1 port 22: Connection refused"))
        // The early yes was discarded: the question waits for this answer.
        terminal.type("no")
        #expect(terminal.waitFor("EXITED=", seconds: 60), "\(terminal.screen)")
        let ended = terminal.screen
        #expect(ended.contains("runbook: not run: nothing was changed."), "\(ended)")
        #expect(ended.contains("EXITED=1"), "\(ended)")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/one-here"))
    }
}
