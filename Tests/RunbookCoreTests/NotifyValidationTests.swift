import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// `notify:` in an inventory and in a runbook: what loads, and where each mistake is pointed at.
@Suite struct NotifyValidationTests {
    static let inventoryHeader = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: inv}
        hosts:
          gfs-b1: {roles: [secondary]}

        """

    func loadInventory(_ marked: MarkedText) -> (Inventory?, Diagnostics) {
        var diagnostics = Diagnostics()
        let inventory = InventoryLoader.load(text: marked.text, file: "inventory.yaml", diagnostics: &diagnostics)
        return (inventory, diagnostics)
    }

    func expectInventory(
        _ text: String, _ specs: [FindingSpec], sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        let marked = MarkedText(Self.inventoryHeader + text)
        let problems = mismatches(loadInventory(marked).1, marked, specs, file: "inventory.yaml")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    @Test func bothSinkKindsLoadWithTheirDefaults() throws {
        let marked = MarkedText(
            Self.inventoryHeader + """
                notify:
                  - name: ops-chat
                    webhook: {url: "https://chat.example.org/hooks/T0", secret_env: RUNBOOK_HOOK_KEY}
                    events: [gate.waiting, run.failed, run.parked]
                  - name: pager
                    command: [/usr/local/bin/page-oncall, --team, storage]
                    events: [run.failed, run.rolled_back, objective.missed]
                    timeout: 30s
                    attempts: 5
                """)
        let (inventory, diagnostics) = loadInventory(marked)
        #expect(diagnostics.all.isEmpty, "\(diagnostics.all)")
        let sinks = try #require(inventory?.notify)
        #expect(sinks.map(\.name) == ["ops-chat", "pager"])
        #expect(
            sinks[0].kind
                == .webhook(.init(url: "https://chat.example.org/hooks/T0", secretEnv: "RUNBOOK_HOOK_KEY")))
        #expect(sinks[0].events == [.gateWaiting, .runFailed, .runParked])
        #expect(sinks[0].timeout == NotifySink.defaultTimeout && sinks[0].attempts == NotifySink.defaultAttempts)
        #expect(sinks[1].kind == .command(argv: ["/usr/local/bin/page-oncall", "--team", "storage"]))
        #expect(sinks[1].timeout == 30 && sinks[1].attempts == 5)
    }

    @Test func eachMistakeIsPointedAt() {
        expectInventory(
            """
            notify:
              - name: ops-chat
                webhook: {url: 1️⃣"ftp://chat.example.org/x"}
                events: [gate.waiting, 2️⃣run.fialed]
              - name: both
                command: [notify-send]
                3️⃣webhook: {url: "https://x.example.org/"}
                events: [run.failed]
              - 4️⃣name: nothing
                events: [run.failed]
              - name: ops-chat
                command: [logger]
                events: 5️⃣[]
              - name: slow
                command: [logger]
                events: [run.failed]
                timeout: 6️⃣10m
                7️⃣retries: 3
            """,
            [
                FindingSpec(
                    "1️⃣",
                    "a webhook's url must be http://HOST/PATH or https://HOST/PATH, got 'ftp://chat.example.org/x'"),
                FindingSpec("2️⃣", "unknown notify event 'run.fialed' (did you mean 'run.failed'?)"),
                FindingSpec("3️⃣", "a notify sink is either a `command` or a `webhook`, not both"),
                FindingSpec(
                    "4️⃣", "notify sink 'nothing' needs a `command: [PROGRAM, ARG...]` or a `webhook: {url: ...}`"),
                FindingSpec("5️⃣", "events must name at least one of gate.waiting, run.parked"),
                FindingSpec("6️⃣", "a notify sink's timeout must be at most 5m (a run's end waits for it), got 10m"),
                FindingSpec("7️⃣", "unknown key 'retries' in notify sink"),
            ])
    }

    @Test func aSinkNameIsDeclaredOnce() {
        expectInventory(
            """
            notify:
              - {name: pager, command: [logger], events: [run.failed]}
              - 1️⃣{name: pager, command: [logger], events: [run.succeeded]}
            """,
            [FindingSpec("1️⃣", "notify sink 'pager' is declared twice (first at line 7)")])
    }

    @Test func aRunbooksSinkTakesTheInventorysPlaceByName() throws {
        let runbook = MarkedText(
            ForEachValidationTests.header + """
                notify:
                  - {name: pager, command: [/bin/true], events: [run.succeeded]}
                  - {name: drill-log, command: [logger, -t, drill], events: [run.succeeded, objective.missed]}
                steps:
                  - {id: a, on: secondary, action: shell, with: {run: [echo, a]}, undo: {action: shell, with: {run: [echo, b]}}}
                """)
        var diagnostics = Diagnostics()
        let loaded = try #require(
            RunbookLoader.load(text: runbook.text, file: "runbook.yaml", diagnostics: &diagnostics))
        #expect(diagnostics.all.isEmpty, "\(diagnostics.all)")
        let inventory = loadInventory(
            MarkedText(
                Self.inventoryHeader + """
                    notify:
                      - {name: ops-chat, webhook: {url: "http://127.0.0.1:9/x"}, events: [gate.waiting]}
                      - {name: pager, command: [page-oncall], events: [run.failed]}
                    """)
        ).0
        let sinks = NotifySink.effective(inventory: inventory?.notify ?? [], runbook: loaded.notify)
        #expect(sinks.map(\.name) == ["ops-chat", "pager", "drill-log"])
        #expect(sinks[1].kind == .command(argv: ["/bin/true"]) && sinks[1].events == [.runSucceeded])
    }

    @Test func aRunbooksNotifyIsCheckedLikeAnInventorys() {
        expect(
            ForEachValidationTests.header + """
                notify:
                  - name: x
                    command: [logger]
                    events: [1️⃣gate.wait]
                steps:
                  - {id: a, on: secondary, action: shell, with: {run: [echo, a]}, undo: {action: shell, with: {run: [echo, b]}}}
                """,
            [FindingSpec("1️⃣", "unknown notify event 'gate.wait' (did you mean 'gate.waiting'?)")])
    }
}
