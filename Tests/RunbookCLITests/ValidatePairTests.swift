import Foundation
import RunbookTestSupport
import Testing

/// Issue 18, defect 8: `validate RUNBOOK INVENTORY` (the README tour's form) checks the runbook
/// against the inventory, as `validate -i` and `plan` do.
@Suite struct ValidatePairTests {
    let cli = CLITests()

    @Test func validateOfARunbookAndAnInventoryCrossChecksThem() throws {
        let runbook = try cli.temporaryFile(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: pair}
            roles:
              primary: {min: 2}
            steps:
              - id: writable
                for_each: vars.sessions
                key: item.primary_volume
                on: primary
                action: shell
                with: {run: [echo, "${{ item.primary_volume }}"]}
                undo: {action: shell, with: {run: ["true"]}}
            """)
        let inventory = runbook.deletingLastPathComponent().appendingPathComponent("inventory.yaml")
        try """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: small}
        defaults: {transport: local}
        hosts:
          gfs-a1: {roles: [primary]}
        vars:
          sessions:
            - {primary_volume: gv0}
            - {primary_volume: gv0}
        """.write(to: inventory, atomically: true, encoding: .utf8)
        let pair = try cli.run(["validate", runbook.path, inventory.path])
        #expect(pair.status == 2, "\(pair.stdout)\(pair.stderr)")
        let errors = pair.stderr.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(
            errors.contains {
                $0.hasSuffix(
                    "error: inventory 'small' has 1 host with role 'primary'; runbook 'pair' needs at least 2")
            }, "\(pair.stderr)")
        // Once, at the element that repeats the key.
        let duplicates = errors.filter { $0.contains("duplicate for_each key 'gv0'") }
        #expect(duplicates.count == 1, "\(pair.stderr)")
        #expect(duplicates.first?.hasPrefix("\(inventory.path):10:7: error:") == true, "\(pair.stderr)")
        // The same as -i.
        let withI = try cli.run(["validate", runbook.path, "-i", inventory.path])
        #expect(withI.status == 2)
        #expect(
            Set(withI.stderr.split(separator: "\n").filter { $0.contains(": error: ") }) == Set(errors),
            "\(withI.stderr)")
    }

    /// A role's `max` is checked by `validate` too, as `plan` checks it (it passed `validate -i`
    /// and `validate RUNBOOK INVENTORY`, then `plan` refused the pair).
    @Test func validateRefusesMoreHostsThanARoleAllows() throws {
        let runbook = try cli.temporaryFile(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: pair}
            roles:
              secondary: {min: 1, max: 1}
            steps:
              - id: look
                on: secondary[0]
                probe: command
                with: {run: ["true"]}
            """)
        let inventory = runbook.deletingLastPathComponent().appendingPathComponent("inventory.yaml")
        try """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: big}
        defaults: {transport: local}
        hosts:
          gfs-b1: {roles: [secondary]}
          gfs-b2: {roles: [secondary]}
        """.write(to: inventory, atomically: true, encoding: .utf8)
        for arguments in [[runbook.path, inventory.path], [runbook.path, "-i", inventory.path]] {
            let result = try cli.run(["validate"] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(
                result.stderr.contains(
                    "\(runbook.path):5:3: error: inventory 'big' has 2 hosts with role 'secondary'; runbook 'pair' allows at most 1"
                ), "\(arguments): \(result.stderr)")
        }
    }
}
