/// A host whose role looks like a misspelling of a role the runbook needs more hosts in.
public enum RoleTypos {
    /// Reports, at each such role in the inventory, the host, the unknown role and the role it
    /// likely means. Called where `role` has fewer hosts than the runbook needs.
    public static func report(
        role: RoleSpec, count: Int, runbook: Runbook, inventory: Inventory, diagnostics: inout Diagnostics
    ) {
        let known = Set(runbook.roles.map(\.name))
        for host in inventory.hosts {
            for written in host.roles where !known.contains(written.value) {
                guard Suggestions.closest(to: written.value, in: runbook.roles.map(\.name)) == role.name else {
                    continue
                }
                diagnostics.error(
                    "host '\(host.name)' has role '\(written.value)', which runbook '\(runbook.name.value)' does not know (did you mean '\(role.name)'?); role '\(role.name)' has \(count) host\(count == 1 ? "" : "s"), the runbook needs at least \(role.min)",
                    at: written.location)
            }
        }
    }
}
