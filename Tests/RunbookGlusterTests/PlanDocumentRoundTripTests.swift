import Foundation
import RunbookCore
import RunbookGluster
import Testing

/// The shipped runbooks' plans, compiled against the two-site example inventory, survive the plan
/// document (what `plan --format json`, `plan -o` and the journal write) unchanged.
@Suite struct PlanDocumentRoundTripTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func compile(_ runbookPath: String, mode: String?) throws -> Plan {
        let inventoryPath = "Examples/two-site-inventory.yaml"
        let runbookText = try String(contentsOf: root.appendingPathComponent(runbookPath), encoding: .utf8)
        let inventoryText = try String(contentsOf: root.appendingPathComponent(inventoryPath), encoding: .utf8)
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(text: runbookText, file: runbookPath, diagnostics: &diagnostics)
        let inventory = InventoryLoader.load(
            text: inventoryText, file: inventoryPath, hostKeys: ActionRegistry.withGluster.hostKeys,
            diagnostics: &diagnostics)
        let request = try Compiler.Request(
            runbook: #require(runbook, "\(diagnostics.all)"), inventory: #require(inventory, "\(diagnostics.all)"),
            mode: mode)
        return try #require(
            Compiler(registry: .withGluster).compile(request, diagnostics: &diagnostics), "\(diagnostics.all)")
    }

    @Test(arguments: [
        ("Runbooks/georep-failover.yaml", "planned"), ("Runbooks/georep-failover.yaml", "unplanned"),
        ("Runbooks/georep-failback.yaml", nil), ("Runbooks/georep-drill.yaml", nil),
    ])
    func theShippedRunbooksRoundTrip(runbook: String, mode: String?) throws {
        let plan = try Self.compile(runbook, mode: mode)
        #expect(plan.nodes.count > 10 && plan.nodes.contains { $0.typeName.hasPrefix("gluster.") })
        var document = PlanDocument(plan: plan)
        document.inputs = PlanDocument.Inputs(runbookSHA256: "r", inventorySHA256: "i")
        for pretty in [false, true] {
            let text = document.encoded(redactor: plan.redactor, pretty: pretty)
            let decoded = try PlanDocument.decode(Data(text))
            #expect(decoded == document)
            #expect(decoded.steps == plan.nodes && decoded.preconditions == plan.preconditions)
            #expect(decoded.params == plan.params && decoded.rollback == plan.rollback)
            #expect(decoded.encoded(redactor: plan.redactor, pretty: pretty) == text)
        }
    }
}
