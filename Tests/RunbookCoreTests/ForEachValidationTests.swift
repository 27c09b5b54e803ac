import RunbookCore
import RunbookTestSupport
import Testing

/// `validate`'s diagnostics for `for_each`: each bad runbook marks where the error must point.
@Suite struct ForEachValidationTests {
    static let header = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: t}
        roles:
          secondary: {min: 1}

        """

    static func inventory(_ vars: String) -> String {
        """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: inv}
        hosts:
          gfs-b1: {roles: [secondary]}
        vars:
        \(vars)
        """
    }

    static let sessions = inventory(
        """
          sessions:
            - {primary_volume: gv0, secondary_volume: gs0}
            - {primary_volume: gv1, secondary_volume: gs1}
          volume: gv0
        """)

    @Test func aCleanForEachHasNoDiagnostics() {
        expect(
            Self.header + """
                preconditions:
                  - id: bricks
                    for_each: vars.sessions
                    key: item.primary_volume
                    on: secondary
                    probe: command
                    with: {run: [gluster, volume, status, "${{ item.secondary_volume }}"]}
                steps:
                  - id: writable
                    for_each: vars.sessions
                    key: item.primary_volume
                    on: secondary
                    action: shell
                    with: {run: [echo, "${{ item.secondary_volume }}"]}
                    undo: {action: shell, with: {run: [echo, "${{ item.primary_volume }}"]}}
                  - id: go
                    for_each: vars.sessions
                    key: item.primary_volume
                    needs: [writable]
                    gate: {approval: {prompt: "promote ${{ item.secondary_volume }}?"}}
                """, inventory: Self.sessions, [])
    }

    @Test func forEachOverSomethingThatIsNotAList() {
        expect(
            Self.header + """
                steps:
                  - id: writable
                    for_each: 1️⃣vars.volume
                    key: item.name
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                """, inventory: Self.sessions,
            [FindingSpec("1️⃣", "for_each must be a list (one instance per element), but vars.volume is string gv0")])
    }

    @Test func aKeyMissingFromAnElement() {
        expect(
            Self.header + """
                steps:
                  - id: writable
                    for_each: vars.sessions
                    key: item.1️⃣name
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                """, inventory: Self.sessions,
            [
                FindingSpec("1️⃣", "the key of vars.sessions[0] is missing: no field 'name'"),
                FindingSpec("1️⃣", "the key of vars.sessions[1] is missing: no field 'name'"),
            ])
    }

    /// A list computed from the inventory: the duplicate is told at the key. (A list that is an
    /// inventory var is told once, at the element: `AuthoringTests`.)
    @Test func aDuplicateKey() {
        let inventory = Self.inventory(
            """
              sessions:
                - {primary_volume: gv0, secondary_volume: gs0}
                - {primary_volume: gv0, secondary_volume: gs1}
            """)
        expect(
            Self.header + """
                steps:
                  - id: writable
                    for_each: vars.sessions[*].primary_volume
                    key: 1️⃣item
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                """, inventory: inventory,
            [
                FindingSpec(
                    "1️⃣",
                    "duplicate key 'gv0': vars.sessions[*].primary_volume[1] and vars.sessions[*].primary_volume[0] would both be writable[gv0]"
                )
            ])
    }

    @Test func aKeyThatCannotNameAnInstance() {
        let inventory = Self.inventory(
            """
              sessions:
                - {primary_volume: "gv 0"}
            """)
        expect(
            Self.header + """
                steps:
                  - id: writable
                    for_each: vars.sessions
                    key: 1️⃣item.primary_volume
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                """, inventory: inventory,
            [FindingSpec("1️⃣", "the key of vars.sessions[0] is 'gv 0', which cannot name an instance")])
    }

    @Test func aForEachWithoutKeyAndAKeyWithoutForEach() {
        expect(
            Self.header + """
                steps:
                  - id: a
                    for_each: 1️⃣vars.sessions
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                  - id: b
                    key: 2️⃣item.name
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                """, inventory: Self.sessions,
            [
                FindingSpec("1️⃣", "step 'a': for_each needs a `key` that names each instance"),
                FindingSpec("2️⃣", "step 'b' has a `key` but no `for_each`"),
            ])
    }

    @Test func itemOutsideAForEach() {
        expect(
            Self.header + """
                steps:
                  - id: a
                    action: shell
                    with: {run: [echo, "${{ 1️⃣item.primary_volume }}"]}
                    undo: {action: shell, with: {run: [echo, y]}}
                  - id: b
                    when: 2️⃣item.primary_volume == 'gv0'
                    gate: {approval: {prompt: go?}}
                """,
            [
                FindingSpec("1️⃣", "`item` is only known in a step with for_each"),
                FindingSpec("2️⃣", "`item` is only known in a step with for_each"),
            ])
    }

    @Test func aForEachThatReadsWhatIsKnownOnlyAtRunTime() {
        expect(
            Self.header + """
                steps:
                  - id: a
                    probe: command
                    with: {run: [echo, x]}
                  - id: b
                    needs: [a]
                    for_each: 1️⃣steps.a.outputs.stdout
                    key: item
                    action: shell
                    with: {run: [echo, x]}
                    undo: {action: shell, with: {run: [echo, y]}}
                """,
            [FindingSpec("1️⃣", "for_each may read only hosts, mode, params, vars")])
    }

    @Test func forEachAndKeyAreNotTakenByAChooseAlternative() {
        expect(
            Self.header + """
                steps:
                  - id: a
                    choose:
                      - otherwise:
                          action: shell
                          with: {run: [echo, x]}
                          undo: {action: shell, with: {run: [echo, y]}}
                          1️⃣for_each: vars.sessions
                """,
            [FindingSpec("1️⃣", "unknown key 'for_each' in an alternative of 'a'")])
    }
}
