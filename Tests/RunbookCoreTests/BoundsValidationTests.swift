import RunbookCore
import RunbookTestSupport
import Testing

/// Durations and counts outside sane bounds, scripts that would run interpolated values, and
/// inventory addresses ssh would misread: refused by `validate`, at their positions.
@Suite struct BoundsValidationTests {
    static let header = TestDocuments.runbookHeader()

    @Test func durationsPastThirtyDaysAreRefused() {
        expect(
            Self.header + """
                params:
                  wait: {type: duration, default: 4️⃣31d}
                steps:
                  - id: a
                    action: shell
                    with: {run: [x]}
                    undo: {action: shell, with: {run: [u]}}
                    retries: 1
                    retry_delay: 1️⃣99999999999999999h
                    timeout: 2️⃣720h1s
                  - id: g
                    gate: {approval: {prompt: go, timeout: 3️⃣9999d}}
                  - id: u
                    gate:
                      until: {probe: command, with: {run: ["true"]}, condition: outputs.exit_code == 0, every: 5️⃣0s}
                  - id: fine
                    action: shell
                    with: {run: [x]}
                    undo: {action: shell, with: {run: [u]}}
                    retry_delay: 30d
                    timeout: 0s
                """,
            [
                FindingSpec("1️⃣", "retry_delay must be from 0s to 30d, got 99999999999999999h"),
                FindingSpec("2️⃣", "timeout must be from 0s to 30d, got 720h1s"),
                FindingSpec("3️⃣", "timeout must be from 0s to 30d, got 9999d"),
                FindingSpec("4️⃣", "default of param 'wait' must be a duration like 90s, 15m, 2h or 1h30m, at most"),
                FindingSpec("5️⃣", "every must be from 1s to 30d, got 0s"),
            ])
    }

    @Test func countsOutOfRangeAreRefusedEvenPastWhatAnIntHolds() {
        expect(
            Self.header + """
                concurrency: 1️⃣99999999999999999999999
                steps:
                  - id: a
                    action: shell
                    with: {run: [x]}
                    undo: {action: shell, with: {run: [u]}}
                    retries: 2️⃣101
                """,
            [
                FindingSpec("1️⃣", "concurrency must be between 1 and 10000, got 99999999999999999999999"),
                FindingSpec("2️⃣", "retries must be between 0 and 100, got 101"),
            ])
    }

    @Test func aDurationParamGivenOnTheCommandLineIsBoundedToo() {
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(
            text: Self.header + """
                params:
                  wait: {type: duration}
                steps: []
                """, file: "r.yaml", diagnostics: &diagnostics)!
        let inventory = InventoryLoader.load(
            text: """
                apiVersion: runbook/v1
                kind: Inventory
                metadata: {name: i}
                hosts: {h: {transport: local}}
                """, file: "i.yaml", diagnostics: &diagnostics)!
        let request = Compiler.Request(runbook: runbook, inventory: inventory, params: [("wait", "99999999999999999h")])
        #expect(Compiler(registry: .builtIn).compile(request, diagnostics: &diagnostics) == nil)
        #expect(
            diagnostics.errors.map(\.message).contains {
                $0.contains("param 'wait' must be a duration") && $0.contains("at most 30d")
            },
            "\(diagnostics.all)")
    }

    // MARK: - Scripts

    @Test func interpolationIntoShellTextIsRefusedAtTheInterpolation() {
        expect(
            Self.header + """
                params:
                  dir: {type: string, default: /tmp}
                  cmd: {type: list, default: ["true"]}
                steps:
                  - id: a
                    action: shell
                    with: {script: "rm -rf 1️⃣${{ params.dir }}/x", check: "test -d 2️⃣${{ params.dir }}"}
                    undo: {action: shell, with: {script: 'echo 3️⃣${{ params.dir }}'}}
                  - id: b
                    probe: command
                    with: {script: "ls 4️⃣${{ params.dir }}"}
                  - id: fine
                    action: shell
                    with: {script: 'rm -rf "$DIR"/x', env: {DIR: "${{ params.dir }}"}, check: "${{ params.cmd }}"}
                    undo: {action: shell, with: {run: [rm, -rf, "${{ params.dir }}/x"]}}
                """,
            [
                FindingSpec("1️⃣", "'script' runs with `sh -c`, and a value put into it with ${{ }} is not quoted"),
                FindingSpec("2️⃣", "'check' runs with `sh -c`"),
                FindingSpec("3️⃣", "'script' runs with `sh -c`"),
                FindingSpec("4️⃣", "'script' runs with `sh -c`"),
            ])
    }

    /// `ssh.key` reads `~USER/.ssh/authorized_keys` through `sh -c`: `user` must be a user name.
    @Test func anSSHKeyUserThatIsNotAUserNameIsRefusedByThePlan() {
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(
            text: Self.header + """
                params:
                  who: {type: string, default: "root; touch /tmp/x"}
                steps:
                  - id: key
                    probe: ssh.key
                    with: {path: /root/.ssh/id_ed25519, authorized_on: here, user: "${{ params.who }}"}
                """, file: "r.yaml", diagnostics: &diagnostics)!
        let inventory = InventoryLoader.load(
            text: "apiVersion: runbook/v1\nkind: Inventory\nmetadata: {name: i}\nhosts: {here: {transport: local}}\n",
            file: "i.yaml", diagnostics: &diagnostics)!
        #expect(
            Compiler(registry: .builtIn).compile(
                Compiler.Request(runbook: runbook, inventory: inventory),
                diagnostics: &diagnostics) == nil)
        #expect(
            diagnostics.errors.map(\.message).contains {
                $0.contains("`user` 'root; touch /tmp/x' is not a user name")
            },
            "\(diagnostics.all)")
    }

    // MARK: - Addresses

    @Test func emptyOrDashAddressesAreRefused() {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: i}
            defaults: {address: 4️⃣" "}
            hosts:
              a: {address: 1️⃣"", roles: [x]}
              b: {address: 2️⃣-oProxyCommand=sh, roles: [x]}
              3️⃣-c: {roles: [x]}
              -d: {transport: local}
              e: {address: 5️⃣"two words"}
              f: {address: gfs-b1.example.net, roles: [x]}
            """)
        var diagnostics = Diagnostics()
        _ = InventoryLoader.load(text: marked.text, file: "runbook.yaml", diagnostics: &diagnostics)
        let problems = mismatches(
            diagnostics, marked,
            [
                FindingSpec("1️⃣", "address is empty"),
                FindingSpec("2️⃣", "address '-oProxyCommand=sh' starts with '-', which ssh would read as"),
                FindingSpec("3️⃣", "host name '-c' starts with '-' and the host has no `address`"),
                FindingSpec("4️⃣", "address is empty"),
                FindingSpec("5️⃣", "address 'two words' contains whitespace"),
            ])
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
