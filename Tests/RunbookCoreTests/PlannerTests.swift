import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

@Suite struct PlannerTests {
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: lab}
        defaults: {transport: local}
        hosts:
          a1: {roles: [primary]}
          b1: {roles: [secondary]}
          b2: {roles: [secondary]}
        vars:
          volume: from-vars
        """

    func plan(
        _ runbookText: String, inventory: String = Self.inventory, mode: String? = nil,
        params: [(name: String, value: String)] = [], environment: [String: String] = [:]
    ) -> (Plan?, Diagnostics) {
        var diagnostics = Diagnostics()
        guard let runbook = RunbookLoader.load(text: runbookText, file: "r.yaml", diagnostics: &diagnostics),
            let inventory = InventoryLoader.load(text: inventory, file: "i.yaml", diagnostics: &diagnostics)
        else { return (nil, diagnostics) }
        let request = Compiler.Request(
            runbook: runbook, inventory: inventory, mode: mode, params: params, environment: environment)
        return (Compiler(registry: .builtIn).compile(request, diagnostics: &diagnostics), diagnostics)
    }

    static let header = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: t}
        roles:
          primary: {min: 1}
          secondary: {min: 1}

        """

    @Test func rolesFanOutIntoInstancesInStableOrder() throws {
        let (plan, diagnostics) = plan(
            Self.header + """
                steps:
                  - id: late
                    needs: [fan]
                    probe: ssh.reachable
                  - id: fan
                    on: secondary
                    probe: ssh.reachable
                  - id: one
                    on: any(secondary)
                    probe: ssh.reachable
                  - id: first
                    on: primary[0]
                    probe: ssh.reachable
                """)
        let compiled = try #require(plan, "\(diagnostics.all)")
        // Document order among ready nodes; `late` waits for both fan instances.
        #expect(compiled.nodes.map(\.id) == ["fan@b1", "fan@b2", "late", "one", "first"])
        #expect(compiled.node("late")?.needs == ["fan@b1", "fan@b2"])
        #expect(compiled.node("one")?.host == "b1")
        #expect(compiled.node("one")?.candidates == ["b1", "b2"])
        #expect(compiled.node("first")?.host == "a1")
    }

    @Test func paramsComeFromParamThenEnvironmentThenVarsThenDefault() throws {
        let text =
            Self.header + """
                params:
                  volume: {type: string, default: from-default}
                  token:  {type: string, from_env: TOKEN, default: none}
                  count:  {type: int, default: 2}
                  wait:   {type: duration, default: 1h30m}
                steps:
                  - id: a
                    action: shell
                    with: {run: [echo, "${{ params.volume }}", "${{ params.token }}", "${{ params.count + 1 }}", "${{ params.wait }}"]}
                    irreversible: true
                    needs: [go]
                  - id: go
                    gate: {approval: {}}
                    commit: true
                """
        let (fromVars, _) = plan(text, environment: ["TOKEN": "t-env"])
        let run = try #require(fromVars?.node("a")?.commands.first { $0.purpose == .apply })
        #expect(run.command.argv == ["echo", "from-vars", "t-env", "3", "1h30m"])

        let (fromParam, _) = plan(
            text, params: [("volume", "from-p"), ("token", "t-p")], environment: ["TOKEN": "t-env"])
        #expect(fromParam?.node("a")?.commands.first?.command.argv == ["echo", "from-p", "t-p", "3", "1h30m"])
        #expect(fromParam?.params.first { $0.name == "token" }?.source == .commandLine)
    }

    @Test func badParamValuesAreErrorsNamingTheSource() {
        let text =
            Self.header + """
                params:
                  method: {type: string, enum: [rsync, tarssh], default: rsync}
                  vol:    {type: string, pattern: '^[a-z0-9-]+$', default: ok}
                  count:  {type: int, default: 1}
                  needed: {type: string}
                steps:
                  - id: a
                    probe: ssh.reachable
                """
        let (plan, diagnostics) = plan(
            text, params: [("method", "rsnyc"), ("vol", "Bad Name"), ("count", "many"), ("nope", "1")])
        #expect(plan == nil)
        let messages = diagnostics.errors.map(\.message)
        #expect(
            messages.contains {
                $0.contains(
                    "param 'method' is 'rsnyc' (from --param method), which is not one of rsync, tarssh (did you mean 'rsync'?)"
                )
            })
        #expect(
            messages.contains {
                $0.contains(
                    "param 'vol' is 'Bad Name' (from --param vol), which does not match its pattern ^[a-z0-9-]+$")
            })
        #expect(messages.contains { $0.contains("param 'count' must be a whole number, got 'many'") })
        #expect(messages.contains { $0.contains("runbook 't' has no param 'nope'") })
        let missing = diagnostics.errors.first { $0.message.contains("param 'needed' has no value") }
        #expect(missing?.location == SourceLocation(file: "r.yaml", line: 11, column: 3))
    }

    @Test func secretsNeverAppearInAnyRendering() throws {
        let text =
            Self.header + """
                params:
                  token: {type: string, secret: true, from_env: DR_TOKEN}
                steps:
                  - id: notify
                    action: shell
                    with:
                      run: [curl, -H, "Authorization: Bearer ${{ params.token }}", https://example.invalid]
                      env: {TOKEN: "${{ params.token }}"}
                    undo: {action: shell, with: {run: [echo, "${{ params.token }}"]}}
                """
        let (plan, diagnostics) = plan(text, environment: ["DR_TOKEN": "s3cr3t-value-42"])
        let compiled = try #require(plan, "\(diagnostics.all)")
        let outputs = [
            PlanTextRenderer(plan: compiled).render(), PlanJSONRenderer(plan: compiled).render(),
            PlanGraphRenderer(plan: compiled).dot(), PlanGraphRenderer(plan: compiled).mermaid(),
        ]
        for output in outputs {
            #expect(!output.contains("s3cr3t-value-42"))
        }
        #expect(outputs[0].contains("Authorization: Bearer ***"))
        #expect(outputs[0].contains("token = ***  (environment)"))
    }

    @Test func modesAndWhenSkipWithTheReason() throws {
        let text =
            Self.header + """
                modes: [planned, unplanned]
                steps:
                  - id: only-planned
                    modes: [planned]
                    probe: ssh.reachable
                  - id: when-false
                    when: mode == 'planned' && len(hosts.secondary) > 5
                    probe: ssh.reachable
                  - id: reach
                    probe: ssh.reachable
                  - id: when-later
                    needs: [reach]
                    when: steps.reach.outputs.reachable
                    probe: ssh.reachable
                """
        let (plan, _) = plan(text, mode: "unplanned")
        let compiled = try #require(plan)
        #expect(compiled.node("only-planned")?.effect == .skipped("mode 'unplanned' is not one of planned"))
        #expect(
            compiled.node("when-false")?.effect
                == .skipped("when: mode == 'planned' && len(hosts.secondary) > 5 is false"))
        #expect(
            compiled.node("when-later")?.effect == .unknown("when: steps.reach.outputs.reachable is known at run time"))
        #expect(
            compiled.node("when-false")?.when?.values == ["mode = 'unplanned'", "hosts.secondary = [\"b1\", \"b2\"]"])

        let (none, diagnostics) = self.plan(text, mode: "drill")
        #expect(none == nil)
        #expect(diagnostics.errors.first?.message.contains("--mode drill: not a mode of runbook 't'") == true)
    }

    @Test func chooseShowsTheBranchAndTheValuesThatDecidedIt() throws {
        let text =
            Self.header + """
                params:
                  method: {type: string, default: tarssh}
                steps:
                  - id: probe-it
                    probe: ssh.reachable
                  - id: sync
                    choose:
                      - when: params.method == 'rsync'
                        step: {action: shell, with: {run: [rsync, -a, src, dst]}, undo: {action: shell, with: {run: [u]}}}
                      - when: params.method == 'tarssh'
                        step: {action: shell, with: {run: [tar, c]}, undo: {action: shell, with: {run: [u]}}}
                      - otherwise: {action: shell, with: {run: ["false"]}, undo: {action: shell, with: {run: [u]}}}
                  - id: later
                    needs: [probe-it]
                    choose:
                      - when: steps.probe-it.outputs.reachable
                        step: {action: shell, with: {run: [a]}, undo: {action: shell, with: {run: [u]}}}
                      - otherwise: {action: shell, with: {run: [b]}, undo: {action: shell, with: {run: [u]}}}
                """
        let (plan, diagnostics) = plan(text)
        let compiled = try #require(plan, "\(diagnostics.all)")
        let sync = try #require(compiled.node("sync")?.choice)
        #expect(sync.chosen == 1)
        #expect(sync.alternatives[0].condition?.values == ["params.method = 'tarssh'"])
        #expect(compiled.node("sync")?.commands.map(\.command.argv) == [["tar", "c"]])
        let later = try #require(compiled.node("later")?.choice)
        #expect(later.chosen == nil)
        #expect(compiled.node("later")?.effect == .unknown("the alternative is chosen at run time"))
    }

    /// A shell undo's `check` and `verify` are in the plan (they were dropped once, so a
    /// rollback never ran them), with the undo's own commands first in purpose order of the type.
    @Test func aShellUndoKeepsItsCheckAndVerify() throws {
        let (plan, diagnostics) = plan(
            Self.header + """
                steps:
                  - id: one
                    action: shell
                    with: {run: [a]}
                    undo: {action: shell, with: {run: [undo-one], check: [is-undone], verify: [test, -e, y]}}
                """)
        let compiled = try #require(plan, "\(diagnostics.all)")
        let undo = try #require(compiled.node("one")?.undo)
        #expect(undo.commands(.probe).map(\.command.argv) == [["is-undone"]])
        #expect(undo.commands(.undo).map(\.command.argv) == [["undo-one"]])
        #expect(undo.commands(.verify).map(\.command.argv) == [["test", "-e", "y"]])
        #expect(undo.commands(.apply).isEmpty)
        // The text plan shows them under the undo.
        let text = PlanTextRenderer(plan: compiled).render()
        #expect(text.contains("check  $ is-undone"), "\(text)")
    }

    @Test func rollbackOrderIsReverseAndStopsAtCommitPoints() throws {
        let text =
            Self.header + """
                steps:
                  - id: one
                    action: shell
                    with: {run: [a], check: [test, -e, x]}
                    undo: {action: shell, with: {run: [undo-one]}}
                  - id: two
                    needs: [one]
                    action: shell
                    with: {run: [b]}
                    undo: {action: shell, with: {run: [undo-two]}}
                  - id: go
                    needs: [two]
                    gate: {approval: {prompt: go?}}
                    commit: true
                  - id: three
                    needs: [go]
                    action: shell
                    with: {run: [c]}
                    undo: {action: shell, with: {run: [undo-three]}}
                  - id: wipe
                    needs: [three]
                    action: shell
                    with: {run: [d]}
                    irreversible: true
                """
        let (plan, diagnostics) = plan(text)
        let compiled = try #require(plan, "\(diagnostics.all)")
        #expect(
            compiled.rollback == [
                .undo(nodeID: "three"), .commitPoint(nodeID: "go"), .undo(nodeID: "two"), .undo(nodeID: "one"),
            ])
        #expect(
            compiled.node("two")?.undo
                == .commands([PlannedCommand(.undo, on: "localhost", CommandSpec(argv: ["undo-two"]))]))
        // A shell step without `check` always runs: the plan says so even offline.
        #expect(compiled.node("two")?.effect == .willChange("no `check`: it runs every time"))
        #expect(compiled.node("one")?.effect == .unknown("not probed (--offline)"))
    }

    @Test func inventoryMustProvideTheRoles() {
        let (plan, diagnostics) = plan(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            roles:
              primary: {min: 1}
              secondary: {min: 3}
            steps:
              - id: a
                probe: ssh.reachable
            """)
        #expect(plan == nil)
        #expect(
            diagnostics.errors.map(\.message).contains {
                $0.contains("inventory 'lab' has 2 hosts with role 'secondary'; runbook 't' needs at least 3")
            })
    }

    @Test func indexedTargetBeyondTheRoleIsAnError() {
        let (plan, diagnostics) = plan(
            Self.header + """
                steps:
                  - id: a
                    on: secondary[5]
                    probe: ssh.reachable
                """)
        #expect(plan == nil)
        #expect(
            diagnostics.errors.first?.message
                == "step 'a' targets secondary[5] but inventory 'lab' has 2 hosts with role 'secondary'")
        #expect(diagnostics.errors.first?.location == SourceLocation(file: "r.yaml", line: 9, column: 9))
    }

    @Test func dotOutputRendersWithGraphviz() throws {
        let dotPath = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let dotPath else {
            print(
                "skipping dotOutputRendersWithGraphviz: Graphviz `dot` is not installed (apt-get install graphviz; .ci/run does)"
            )
            return
        }
        let root = PackagePaths.root.appendingPathComponent("Examples/quickstart")
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(
                text: String(contentsOf: root.appendingPathComponent("failover.yaml"), encoding: .utf8),
                file: "failover.yaml", diagnostics: &diagnostics))
        let inventory = try #require(
            InventoryLoader.load(
                text: String(contentsOf: root.appendingPathComponent("inventory.yaml"), encoding: .utf8),
                file: "inventory.yaml", diagnostics: &diagnostics))
        let compiled = try #require(
            Compiler(registry: .builtIn).compile(
                .init(runbook: runbook, inventory: inventory), diagnostics: &diagnostics))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).dot")
        try PlanGraphRenderer(plan: compiled).dot().write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runProgram(URL(fileURLWithPath: dotPath), ["-Tsvg", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("<svg"))
        #expect(result.stdout.contains("prepare"))
        // Each label line is a line of its own: DOT's `\\n` break, not a literal backslash-n.
        #expect(result.stdout.contains(">on site&#45;a</text>"), "\(result.stdout)")
        #expect(!result.stdout.contains("\\n"), "\(result.stdout)")
    }
}
