import RunbookCore
import RunbookTestSupport
import Testing

/// Durations and counts outside sane bounds, scripts that would run interpolated values, and
/// inventory addresses ssh would misread: refused by `validate`, at their positions.
@Suite struct BoundsValidationTests {
    func expect(
        _ text: String, inventory: String? = nil, _ specs: [FindingSpec],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        let marked = MarkedText(text)
        let problems = mismatches(validate(runbook: marked, inventory: inventory), marked, specs)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    static let header = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: t}

        """

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
}
