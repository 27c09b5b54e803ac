import Foundation
import RunbookCore
import RunbookGluster
import Testing

/// The shipped runbooks take the list of geo-rep sessions of the inventory's `vars.sessions`:
/// per-session steps are one instance per session, site-wide ones once, and an inventory of the
/// former shape (single `primary_volume` / `secondary_volume` vars) is refused once, at the
/// first read of `vars.sessions`, saying to add it.
@Suite struct ShippedRunbookSessionsTests {
    static let root = PlanDocumentRoundTripTests.root

    static func compile(_ runbookPath: String, inventoryText: String, mode: String?) -> (Plan?, Diagnostics) {
        var diagnostics = Diagnostics()
        guard
            let runbookText = try? String(contentsOf: root.appendingPathComponent(runbookPath), encoding: .utf8),
            let runbook = RunbookLoader.load(text: runbookText, file: runbookPath, diagnostics: &diagnostics),
            let inventory = InventoryLoader.load(
                text: inventoryText, file: "inventory.yaml", hostKeys: ActionRegistry.withGluster.hostKeys,
                diagnostics: &diagnostics)
        else { return (nil, diagnostics) }
        let request = Compiler.Request(runbook: runbook, inventory: inventory, mode: mode)
        let plan = Compiler(registry: .withGluster).compile(request, diagnostics: &diagnostics)
        return (plan, diagnostics)
    }

    static func exampleInventory() throws -> String {
        try String(contentsOf: root.appendingPathComponent("Examples/two-site-inventory.yaml"), encoding: .utf8)
    }

    @Test(arguments: [
        (
            "Runbooks/georep-failover.yaml", "planned", ["writable", "change-index", "wait-synced"],
            ["go-ahead", "switch-clients"]
        ),
        (
            "Runbooks/georep-failover.yaml", "unplanned", ["end-old-workers", "stop-session-force"],
            ["fence-old-session", "primary-answers"]
        ),
        (
            "Runbooks/georep-failback.yaml", nil, ["reverse-session", "replay", "differences", "restart-original"],
            ["begin", "commit", "stop-writes", "unfence", "switch-back"]
        ),
        ("Runbooks/georep-drill.yaml", nil, ["rpo", "content-check", "remove-marker"], []),
    ])
    func perSessionStepsRunOncePerSessionAndSiteWideOnesOnce(
        runbook: String, mode: String?, perSession: [String], once: [String]
    ) throws {
        let (plan, diagnostics) = Self.compile(runbook, inventoryText: try Self.exampleInventory(), mode: mode)
        let compiled = try #require(plan, "\(diagnostics.all)")
        for step in perSession {
            let keys = compiled.nodes.filter { $0.stepID == step }.compactMap { $0.item?.key }
            #expect(Set(keys) == ["gv0", "gv1", "gv2"], "\(step): \(keys)")
        }
        // Once for the site: one instance, or one per host of a role (`fence-old-session` and
        // `unfence` run on every node of the secondary site), never one per session.
        for step in once {
            let nodes = compiled.nodes.filter { $0.stepID == step }
            let hosts = nodes.map(\.host)
            #expect(
                !nodes.isEmpty && nodes.allSatisfy { $0.item == nil } && Set(hosts).count == hosts.count,
                "\(step): \(nodes.map(\.id))")
        }
    }

    /// Issue 21, case 10: after the failback's commit, one session's failure (its replay, its
    /// `differences` gate rejected) must not keep the other sessions from being posted, restarted
    /// and proven. So nothing a session's `restart-original` or `prove-original` waits for, beyond
    /// what the commit itself waited for, belongs to another session. (The site's client switch
    /// back waits for every session, as it must: clients move once for the site.)
    @Test func afterTheCommitNoSessionWaitsForAnother() throws {
        let (plan, diagnostics) = Self.compile(
            "Runbooks/georep-failback.yaml", inventoryText: try Self.exampleInventory(), mode: nil)
        let compiled = try #require(plan, "\(diagnostics.all)")
        let byID = Dictionary(uniqueKeysWithValues: compiled.nodes.map { ($0.id, $0) })
        func ancestors(_ id: String) -> Set<String> {
            var seen = Set<String>()
            var stack = byID[id]?.needs ?? []
            while let next = stack.popLast() {
                if seen.insert(next).inserted { stack += byID[next]?.needs ?? [] }
            }
            return seen
        }
        let commit = try #require(compiled.nodes.first { $0.stepID == "commit" })
        let beforeCommit = ancestors(commit.id).union([commit.id])
        for step in ["restart-original", "prove-original"] {
            for node in compiled.nodes where node.stepID == step {
                let key = try #require(node.item?.key)
                let others = ancestors(node.id).subtracting(beforeCommit).compactMap { byID[$0] }
                    .filter { $0.item != nil && $0.item?.key != key }.map(\.id).sorted()
                #expect(others.isEmpty, "\(node.id) waits after the commit for other sessions' steps: \(others)")
            }
        }
        let switchBack = try #require(compiled.nodes.first { $0.stepID == "switch-back" })
        #expect(
            Set(ancestors(switchBack.id).compactMap { byID[$0]?.item?.key }) == ["gv0", "gv1", "gv2"],
            "the clients switch back once every session is back")
    }

    /// Each session's failback writes its own change list (the default names it after the volume).
    @Test func theFailbackWritesOneChangeListPerSession() throws {
        let (plan, diagnostics) = Self.compile(
            "Runbooks/georep-failback.yaml", inventoryText: try Self.exampleInventory(), mode: nil)
        let compiled = try #require(plan, "\(diagnostics.all)")
        let lists = compiled.nodes.filter { $0.stepID == "final-changes" }.map {
            "\($0.item?.key ?? "?"): \($0.arguments["outfile"]?.renderedForText ?? "?")"
        }
        #expect(
            lists.sorted() == [
                "gv0: /var/lib/runbook/failback-changes-gv0.txt", "gv1: /var/lib/runbook/failback-changes-gv1.txt",
                "gv2: /var/tmp/runbook-failback-changes-gv2-dr.txt",
            ], "\(lists)")
    }

    /// The inventory shape before `vars.sessions`: one error, at the first read, saying what to add.
    @Test(arguments: ["Runbooks/georep-failover.yaml", "Runbooks/georep-failback.yaml", "Runbooks/georep-drill.yaml"])
    func anInventoryWithoutSessionsIsRefusedOnceSayingToAddThem(runbook: String) throws {
        let old = """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: old-shape}
            hosts:
              gfs-a1: {roles: [primary]}
              gfs-b1: {roles: [secondary]}
            vars:
              primary_volume: gv0
              secondary_volume: gv0-dr
              primary_host: gfs-a1
              secondary_host: gfs-b1
              primary_mount: /mnt/gv0
            """
        let (plan, diagnostics) = Self.compile(runbook, inventoryText: old, mode: nil)
        #expect(plan == nil)
        let errors = diagnostics.errors.filter { $0.message.contains("sessions") }
        #expect(errors.count == 1, "\(diagnostics.errors.map(\.description).joined(separator: "\n"))")
        let error = try #require(errors.first)
        #expect(error.message.contains("vars.sessions is not set in inventory 'old-shape'"), "\(error)")
        #expect(error.message.contains("add `sessions:` to its vars (inventory.yaml line 8)"), "\(error)")
        // At the first `for_each: vars.sessions` of the runbook, on `sessions`.
        let text = try String(contentsOf: Self.root.appendingPathComponent(runbook), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let line = try #require(lines.firstIndex { $0.contains("for_each: vars.sessions") }) + 1
        let column = try #require(lines[line - 1].range(of: "sessions")).lowerBound.utf16Offset(in: lines[line - 1]) + 1
        #expect(
            error.location?.file == runbook && error.location?.line == line && error.location?.column == column,
            "\(error)")
    }
}
