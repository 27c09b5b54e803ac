import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// What `runbook --help` and `runbook actions` tell an author (issue 18): every exit code, and
/// where a gate's settings are written.
extension CLITests {
    @Test func helpListsEveryExitCode() throws {
        let help = try run(["--help"])
        #expect(help.status == 0)
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        for code in [
            "0 ok", "1 failed", "2 invalid", "3 precondition failed", "4 parked at a gate", "5 locked",
            "6 every step done but an objective missed", "7 rollback incomplete", "64 usage", "130/143/129 interrupted",
        ] {
            #expect(text.contains(code), "\(code) in: \(help.stdout)")
        }
    }

    /// An author with only `runbook --help` learns where the format is written down.
    @Test func helpPointsAnAuthorAtTheFormat() throws {
        let help = try run(["--help"])
        #expect(help.status == 0)
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        #expect(text.contains("The format: docs/FORMAT.md"), "\(help.stdout)")
    }

    @Test func actionsOfAGateSaysItsSettingsGoUnderTheGateNotInWith() throws {
        let approval = try run(["actions", "approval"])
        #expect(approval.status == 0)
        #expect(!approval.stdout.contains("in `with`)"), "\(approval.stdout)")
        #expect(
            approval.stdout.contains(
                "settings (directly under `gate: {approval: {...}}`, not in `with`; `gate: {approval: {prompt: \"Go?\", timeout: 10m}}`):"
            ), "\(approval.stdout)")
        let shell = try run(["actions", "shell"])
        #expect(shell.stdout.contains("parameters (in `with`):"))
        let help = try run(["actions", "--help"])
        #expect(help.stdout.contains("With NAME: that type's parameters"), "\(help.stdout)")
    }
}

extension CLITests {
    /// `validate RUNBOOK -i INVENTORY` names a host whose role is a misspelling of a role that is
    /// short of hosts, at that role in the inventory.
    @Test func validateNamesTheHostWithAMisspeltRoleAtThatRole() throws {
        let inventory = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: inv}
            defaults: {transport: local}
            hosts:
              b1: {roles: [secondary]}
              b2: {roles: [1️⃣secondray]}
            """)
        let runbook = try temporaryFile(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            roles: {secondary: {min: 2}}
            steps:
              - id: a
                on: secondary
                probe: ssh.reachable
            """)
        let inventoryFile = runbook.deletingLastPathComponent().appendingPathComponent("inventory.yaml")
        try inventory.text.write(to: inventoryFile, atomically: true, encoding: .utf8)
        let result = try run(["validate", runbook.path, "-i", inventoryFile.path])
        #expect(result.status == 2)
        let position = try #require(inventory.positions["1️⃣"])
        #expect(
            result.stderr.contains(
                "\(inventoryFile.path):\(position.line):\(position.column): error: host 'b2' has role 'secondray', which runbook 't' does not know (did you mean 'secondary'?)"
            ), "\(result.stderr)")
    }
}
