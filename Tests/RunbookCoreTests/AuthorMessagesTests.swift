import RunbookCore
import RunbookTestSupport
import Testing

/// Messages a new author meets while writing a first runbook (issue 18): each says what to write
/// instead, at the position that causes it.
@Suite struct AuthorMessagesTests {
    static let header = TestDocuments.runbookHeader()

    @Test func anApprovalWrittenAsAnActionShowsTheGateMappingForm() {
        expect(
            Self.header + """
                steps:
                  - id: go
                    action: 1️⃣approval
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "'approval' is a gate, not an action: write the step as `gate: {approval: {prompt: \"Go?\", timeout: 10m}}`"
                )
            ])
    }

    @Test func aGateWrittenAsAStringShowsTheMappingForm() {
        expect(
            Self.header + """
                steps:
                  - id: go
                    gate: 1️⃣approval
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "gate must be a mapping with 'approval' or 'until', got a string ('approval'): write `gate: {approval: {prompt: \"Go?\", timeout: 10m}}` or `gate: {until: {probe: TYPE"
                )
            ])
    }

    @Test func anUnknownKeyInAnApprovalGateListsTheKeysItTakes() {
        expect(
            Self.header + """
                steps:
                  - id: go
                    gate:
                      approval:
                        1️⃣with: {prompt: "Go?"}
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "unknown key 'with' in approval gate; an approval gate takes prompt, approvers, timeout, on_timeout, allowed_signers, quorum, not_by_launcher, directly under `approval:`, with no `with`"
                )
            ])
    }

    @Test func anUnknownKeyInAnUntilGateListsTheKeysItTakes() {
        expect(
            Self.header + """
                steps:
                  - id: wait
                    gate:
                      until:
                        probe: command
                        with: {run: [true]}
                        condition: outputs.exit_code == 0
                        1️⃣interval: 10s
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "unknown key 'interval' in until gate; an until gate takes probe, with, on, condition, every, timeout, on_timeout, directly under `until:`"
                )
            ])
    }

    @Test func onAsAListSaysHowToTargetTwoRoles() {
        expect(
            Self.header + """
                roles: {primary: {}, secondary: {}}
                steps:
                  - id: a
                    on: 1️⃣[primary, secondary]
                    probe: ssh.reachable
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "on takes one target, got a list: a role (every host of it), role[N], any(role), a host name or localhost; to run on the hosts of two roles, give those hosts a common role in the inventory"
                )
            ])
    }

    @Test func aKeyWrittenAsATemplateSaysTheKeyIsAnExpression() {
        expect(
            Self.header + """
                steps:
                  - id: a
                    for_each: vars.sessions
                    key: 1️⃣"${{ item.a }}:${{ item.b }}"
                    probe: ssh.reachable
                """,
            inventory: """
                apiVersion: runbook/v1
                kind: Inventory
                metadata: {name: inv}
                hosts:
                  h1: {transport: local}
                vars:
                  sessions: [{a: x, b: y}]
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "key is an expression, not a text with ${{ }} in it: write it bare, joining parts with +, e.g. `key: item.a + ':' + item.b`"
                )
            ])
    }

    @Test func aRoleTargetInAFlowMappingGetsAHintToQuoteIt() {
        expect(
            Self.header + """
                steps:
                  - id: a
                    probe: command
                    with: {run: [true], cwd: 1️⃣primary[0]}
                """,
            [
                FindingSpec(
                    "1️⃣",
                    "YAML syntax: did not find expected ',' or '}': inside `{...}` or `[...]`, `[` starts a list, so a target like primary[0] must be quoted there: 'primary[0]'"
                )
            ])
    }

    @Test func undoNoneSaysThereIsNothingToUndo() {
        expect(
            Self.header + """
                steps:
                  - id: touch
                    action: shell
                    with: {run: [touch, /tmp/marker]}
                    undo: none
                  - id: both
                    action: shell
                    with: {run: [touch, /tmp/marker]}
                    irreversible: 4️⃣true
                    undo: 1️⃣none
                  - id: probe
                    probe: command
                    with: {run: [true]}
                    undo: 2️⃣none
                  - id: 5️⃣typo
                    action: shell
                    with: {run: [true]}
                    undo: 3️⃣nothing
                """,
            [
                FindingSpec(
                    "1️⃣", "step 'both' is marked irreversible but says `undo: none` (nothing to undo); keep one"),
                FindingSpec(
                    "2️⃣", "step 'probe': `undo: none` is not needed, 'command' changes nothing", severity: .warning),
                FindingSpec(
                    "3️⃣",
                    "undo must be a mapping (`undo: {action: shell, with: {run: [...]}}`) or `none` (nothing to undo), got a string ('nothing')"
                ),
                FindingSpec("4️⃣", "step 'both' is irreversible but no commit point precedes it"),
                FindingSpec("5️⃣", "step 'typo' changes the world but has neither `undo`", severity: .warning),
            ])
    }

    @Test func anIrreversibleStepBeforeACommitPointIsMarkedAtItsIrreversibleKey() {
        expect(
            Self.header + """
                steps:
                  - id: wipe
                    action: shell
                    with: {run: [x]}
                    irreversible: 1️⃣true
                """,
            [FindingSpec("1️⃣", "step 'wipe' is irreversible but no commit point precedes it")])
    }

    @Test func aMisspeltRoleInTheInventoryNamesTheHostAndTheRole() throws {
        let inventory = MarkedText(
            """
            1️⃣apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: inv}
            defaults: {transport: local}
            hosts:
              gfs-b1: {roles: [secondary]}
              gfs-b2: {roles: [2️⃣secondray]}
              ctl: {roles: [controller]}
            """)
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(
                text: Self.header + """
                    roles:
                      secondary: {min: 2}
                    steps:
                      - id: a
                        on: secondary
                        probe: ssh.reachable
                    """, file: "runbook.yaml", diagnostics: &diagnostics))
        let loaded = try #require(
            InventoryLoader.load(text: inventory.text, file: "inventory.yaml", diagnostics: &diagnostics))
        _ = Compiler(registry: .builtIn).compile(
            Compiler.Request(runbook: runbook, inventory: loaded), diagnostics: &diagnostics)
        let problems = mismatches(
            diagnostics, inventory,
            [
                FindingSpec("1️⃣", "inventory 'inv' has 1 host with role 'secondary'; runbook 't' needs at least 2"),
                FindingSpec(
                    "2️⃣",
                    "host 'gfs-b2' has role 'secondray', which runbook 't' does not know (did you mean 'secondary'?); role 'secondary' has 1 host, the runbook needs at least 2"
                ),
            ], file: "inventory.yaml")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}

@Suite struct UndoNoneTests {
    @Test func aStepWithUndoNoneIsLeftOutOfTheRollbackOrder() throws {
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(
                text: AuthorMessagesTests.header + """
                    steps:
                      - id: make
                        action: shell
                        with: {run: [mkdir, /tmp/x]}
                        undo: {action: shell, with: {run: [rmdir, /tmp/x]}}
                      - id: marker
                        needs: [make]
                        action: shell
                        with: {run: [touch, /tmp/x/marker]}
                        undo: none
                      - id: go
                        needs: [marker]
                        gate: {approval: {prompt: go?}}
                        commit: true
                    """, file: "r.yaml", diagnostics: &diagnostics))
        let inventory = try #require(
            InventoryLoader.load(
                text: """
                    apiVersion: runbook/v1
                    kind: Inventory
                    metadata: {name: inv}
                    hosts: {}
                    """, file: "i.yaml", diagnostics: &diagnostics))
        let plan = try #require(
            Compiler(registry: .builtIn).compile(
                Compiler.Request(runbook: runbook, inventory: inventory), diagnostics: &diagnostics),
            "\(diagnostics.all)")
        #expect(diagnostics.all.filter { $0.severity != .note }.isEmpty, "\(diagnostics.all)")
        #expect(plan.node("marker")?.undo == UndoPlan.none)
        #expect(plan.rollback == [.commitPoint(nodeID: "go"), .undo(nodeID: "make")])
        #expect(PlanTextRenderer(plan: plan).render().contains("undo: none: nothing to undo (`undo: none`)"))
        let json = PlanJSONRenderer(plan: plan).render().filter { !$0.isWhitespace }
        #expect(
            json.contains(#""step":"marker","target":"localhost","type":"shell","undo":{"kind":"none"}"#), "\(json)")
    }
}
