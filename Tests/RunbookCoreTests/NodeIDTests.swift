import Testing

@testable import RunbookCore

/// The typed node id: the plan writes its text, a journal row's text is read back into it.
@Suite struct NodeIDTests {
    static let forms: [(NodeID, String)] = [
        (NodeID(stepID: "sync"), "sync"),
        (NodeID(stepID: "sync", host: "gfs-b1"), "sync@gfs-b1"),
        (NodeID(stepID: "rpo", itemKey: "gv0"), "rpo[gv0]"),
        (NodeID(stepID: "rpo", itemKey: "gv0", host: "gfs-a1"), "rpo[gv0]@gfs-a1"),
        (NodeID(stepID: "rpo", itemKey: "a@b.c", host: "gfs-a1"), "rpo[a@b.c]@gfs-a1"),
        (NodeID(stepID: "rpo", itemKey: ""), "rpo[]"),
    ]

    @Test func eachFormIsWrittenAndReadBack() {
        for (id, text) in Self.forms {
            #expect(id.text == text)
            #expect(id.description == text)
            #expect(NodeID(parsing: text, stepID: id.stepID) == id, "\(text)")
        }
    }

    @Test func anotherStepsIdIsNotRead() {
        #expect(NodeID(parsing: "syncer", stepID: "sync") == nil)
        #expect(NodeID(parsing: "other[gv0]@h", stepID: "rpo") == nil)
        #expect(NodeID(parsing: "rpo[gv0", stepID: "rpo") == nil)
        #expect(NodeID(parsing: "rpo[gv0]x", stepID: "rpo") == nil)
    }

    /// The planner names its instances so.
    @Test func thePlannersNodeIdsAreTheseForms() throws {
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(
                text: """
                    apiVersion: runbook/v1
                    kind: Runbook
                    metadata: {name: t}
                    roles:
                      site: {min: 1}
                    steps:
                      - id: one
                        action: shell
                        with: {run: ["true"]}
                      - id: fan
                        on: site
                        action: shell
                        with: {run: ["true"]}
                      - id: each
                        for_each: vars.sessions
                        key: item.name
                        on: site
                        action: shell
                        with: {run: ["true"]}
                      - id: single
                        for_each: vars.sessions
                        key: item.name
                        action: shell
                        with: {run: ["true"]}
                    """, file: "r.yaml", diagnostics: &diagnostics))
        let inventory = try #require(
            InventoryLoader.load(
                text: """
                    apiVersion: runbook/v1
                    kind: Inventory
                    metadata: {name: i}
                    defaults: {transport: local}
                    hosts:
                      h1: {roles: [site]}
                      h2: {roles: [site]}
                    vars:
                      sessions: [{name: a}, {name: b}]
                    """, file: "i.yaml", diagnostics: &diagnostics))
        let request = Compiler.Request(runbook: runbook, inventory: inventory, mode: nil, params: [], environment: [:])
        let plan = try #require(
            Compiler(registry: .builtIn).compile(request, diagnostics: &diagnostics), "\(diagnostics.all)")
        let ids = plan.nodes.map(\.id)
        #expect(ids.contains("one"))
        #expect(ids.contains("fan@h1") && ids.contains("fan@h2"))
        #expect(ids.contains("each[a]@h1") && ids.contains("each[b]@h2"))
        #expect(ids.contains("single[a]") && ids.contains("single[b]"))
        for node in plan.nodes {
            let id = try #require(NodeID(parsing: node.id, stepID: node.stepID), "\(node.id)")
            #expect(id.itemKey == node.item?.key)
        }
    }
}
