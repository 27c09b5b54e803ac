/// Runbook and inventory texts the suites share.
public enum TestDocuments {
    /// An inventory of one host, `here` (role `site`), reached on this machine (`transport:
    /// local`), with `vars` (YAML lines, indented under `vars:`) when given.
    public static func localInventory(vars: [String] = []) -> String {
        var lines = [
            "apiVersion: runbook/v1", "kind: Inventory", "metadata: {name: local}", "defaults: {transport: local}",
            "hosts:", "  here: {roles: [site]}",
        ]
        if !vars.isEmpty { lines += ["vars:"] + vars.map { "  " + $0 } }
        return lines.joined(separator: "\n")
    }

    /// A runbook's first lines, `apiVersion`, `kind` and `metadata` named `name` (each ending in a
    /// newline: what follows starts on line 4).
    public static func runbookHeader(name: String = "t") -> String {
        "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: \(name)}\n"
    }
}
