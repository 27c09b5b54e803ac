import RunbookCore
import RunbookGluster
import RunbookTestSupport
import Testing

/// Issue 18, defect 2: the gluster types' host parameters (`nodes`, `read_only_on`) are checked
/// like `on:` by `validate -i`, at the value, with "did you mean".
@Suite struct HostReferenceTests {
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: lab}
        hosts:
          gfs-a1: {roles: [primary]}
          gfs-a2: {roles: [primary]}
          gfs-b1: {roles: [secondary]}
        """

    @Test func nodesAndReadOnlyOnNameHostsOfTheInventory() {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            roles:
              primary: {min: 1}
              secondary: {min: 1}
            steps:
              - id: status
                on: primary[0]
                probe: gluster.georep.status
                with: {primary: gv0, secondary: "gfs-b1::gv0", nodes: [1️⃣primry, gfs-a2]}
              - id: create
                on: primary[0]
                action: gluster.georep.create
                with: {primary: gv0, secondary: "gfs-b1::gv0", read_only_on: 2️⃣"primry[0]"}
              - id: fine
                on: primary[0]
                probe: gluster.georep.status
                with: {primary: gv0, secondary: "gfs-b1::gv0", nodes: [primary, "secondary[0]"]}
            """)
        var diagnostics = Diagnostics()
        let inventory = InventoryLoader.load(text: Self.inventory, file: "inventory.yaml", diagnostics: &diagnostics)
        if let runbook = RunbookLoader.load(text: marked.text, file: "runbook.yaml", diagnostics: &diagnostics) {
            diagnostics.append(contentsOf: RunbookChecker(registry: .withGluster, inventory: inventory).check(runbook))
        }
        let problems = mismatches(
            diagnostics, marked,
            [
                FindingSpec(
                    "1️⃣",
                    "step 'status': 'nodes': 'primry' is neither a role of this runbook nor a host of inventory 'lab' (did you mean 'primary'?)"
                ),
                FindingSpec(
                    "2️⃣",
                    "step 'create': 'read_only_on': 'primry[0]' names undeclared role 'primry' (did you mean 'primary'?)"
                ),
            ])
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// `any(ROLE)` in a list parameter: the fix is usually the role itself (every host), which a
    /// list takes; a single-host parameter takes `ROLE[N]`.
    @Test func anyInAHostParameterSaysWhatToWriteInstead() {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            roles:
              primary: {min: 1}
              secondary: {min: 1}
            steps:
              - id: status
                on: primary[0]
                probe: gluster.georep.status
                with: {primary: gv0, secondary: "gfs-b1::gv0", nodes: [1️⃣"any(primary)"]}
              - id: create
                on: primary[0]
                action: gluster.georep.create
                with: {primary: gv0, secondary: "gfs-b1::gv0", read_only_on: 2️⃣"any(secondary)"}
            """)
        var diagnostics = Diagnostics()
        let inventory = InventoryLoader.load(text: Self.inventory, file: "inventory.yaml", diagnostics: &diagnostics)
        if let runbook = RunbookLoader.load(text: marked.text, file: "runbook.yaml", diagnostics: &diagnostics) {
            diagnostics.append(contentsOf: RunbookChecker(registry: .withGluster, inventory: inventory).check(runbook))
        }
        let problems = mismatches(
            diagnostics, marked,
            [
                FindingSpec(
                    "1️⃣",
                    "step 'status': 'nodes': 'any(primary)': any(ROLE) is chosen when a step runs; name the role (all its hosts), e.g. primary, or one host, e.g. primary[0]"
                ),
                FindingSpec(
                    "2️⃣",
                    "step 'create': 'read_only_on': 'any(secondary)': any(ROLE) is chosen when a step runs; name a host, e.g. secondary[0]"
                ),
            ])
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
