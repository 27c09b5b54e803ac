import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Transports come from packs, by kind name: a test pack's `scripted` transport drives a run
/// through the real host pool, and a kind no pack registers is refused where the inventory says it.
@Suite struct PackTransportTests {
    static func registry(_ hosts: ScriptedHosts) -> ActionRegistry {
        ActionRegistry(packs: [CorePack(), StandardTransports(), ScriptedTransportPack(hosts: hosts)])
    }

    @Test func anUnknownTransportKindIsAValidationErrorAtItsPosition() {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: inv}
            defaults: {transport: 1️⃣scriptd}
            hosts:
              a: {roles: [site], transport: 2️⃣scripted}
              b: {roles: [site], transport: 3️⃣telnet}
            """)
        var diagnostics = Diagnostics()
        _ = InventoryLoader.load(
            text: marked.text, file: "inventory.yaml", registry: Self.registry(ScriptedHosts()),
            diagnostics: &diagnostics)
        let problems = mismatches(
            diagnostics, marked,
            [
                FindingSpec(
                    "1️⃣", "transport must be one of ssh, local, scripted, got 'scriptd' (did you mean 'scripted'?)"),
                FindingSpec("3️⃣", "transport must be one of ssh, local, scripted, got 'telnet'"),
            ], file: "inventory.yaml")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")

        // Without the pack, its kind is unknown (never run as ssh).
        var without = Diagnostics()
        _ = InventoryLoader.load(
            text: marked.text, file: "inventory.yaml",
            registry: ActionRegistry(packs: [CorePack(), StandardTransports()]),
            diagnostics: &without)
        let unknown = mismatches(
            without, marked,
            [
                FindingSpec("1️⃣", "transport must be one of ssh, local, got 'scriptd'"),
                FindingSpec("2️⃣", "transport must be one of ssh, local, got 'scripted'"),
                FindingSpec("3️⃣", "transport must be one of ssh, local, got 'telnet'"),
            ], file: "inventory.yaml")
        #expect(unknown.isEmpty, "\(unknown.joined(separator: "\n"))")
    }

    @Test func aTransportRegisteredByAPackDrivesARunThroughTheHostPool() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "b"], with: .ok())
        let registry = Self.registry(hosts)
        let inventory = """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: scripted}
            defaults: {transport: scripted}
            hosts:
              a1: {roles: [site]}
              b1: {roles: [site]}
            """
        let body =
            "roles: {site: {min: 1}}\nsteps:\n" + shell("a", on: "site")
            + shell("b", needs: ["a"], on: "site", check: true)
        var diagnostics = Diagnostics()
        let loaded = try #require(
            InventoryLoader.load(text: inventory, file: "i.yaml", registry: registry, diagnostics: &diagnostics),
            "\(diagnostics.all)")
        let pool = HostPool(
            inventory: loaded, registry: registry, context: TransportContext(controlDirectory: "/nonexistent"))
        #expect(pool.connection(for: "a1").kind == ScriptedTransportPack.kind)
        // The harness compiles the same texts; the executor then reaches the hosts through the pool.
        let harness = try Harness(body, inventory: inventory, registry: registry)
        let outcome = await Executor(
            plan: harness.plan, runID: harness.runID, planHash: "sha256:test", journal: harness.journal, hosts: pool,
            compiler: harness.compiler, options: ExecutionOptions(), observer: harness.events, stop: StopController()
        ).run()
        await pool.closeAll()
        #expect(outcome == .succeeded)
        #expect(Set(hosts.ran.map(\.host)) == ["a1", "b1"])
        // a has no check: it is applied; b's check exits 0: it is found done, on each host.
        for host in ["a1", "b1"] { #expect(hosts.commands(on: host) == ["do a", "check b"]) }
        for node in ["a@a1", "a@b1"] { #expect(try harness.state(node) == .succeeded) }
        for node in ["b@a1", "b@b1"] { #expect(try harness.state(node) == .alreadyDone) }
    }

    @Test func aHostOfAKindNoPackRegistersFailsToLaunchInsteadOfUsingSSH() async throws {
        var diagnostics = Diagnostics()
        let registry = ActionRegistry(packs: [StandardTransports()])
        let inventory = try #require(
            InventoryLoader.load(
                text:
                    "apiVersion: runbook/v1\nkind: Inventory\nmetadata: {name: i}\nhosts: {h: {transport: scripted}}\n",
                file: "i.yaml", transports: [.ssh, .local, ScriptedTransportPack.kind], diagnostics: &diagnostics))
        let pool = HostPool(inventory: inventory, registry: registry, context: TransportContext(controlDirectory: "/x"))
        await #expect(throws: TransportError.self) {
            _ = try await pool.run(on: "h", CommandSpec(argv: ["true"]), timeout: 5, outputLimit: 64)
        }
        let check = await pool.checkConnection("h")
        #expect(!check.reachable)
        #expect(check.error?.contains("no transport 'scripted'") == true)
    }
}
