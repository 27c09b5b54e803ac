/// A parameter that names hosts (`ParameterSpec.hostReference`: `nodes`, `read_only_on`,
/// `authorized_on`): each value is checked like a step's `on:` and resolved to host names.
///
/// A value is an inventory host name, `localhost`, or `ROLE[N]` (the Nth host of the role, in
/// inventory order); in a list, a role names all its hosts. `any(ROLE)` is chosen when the step
/// runs, so a parameter cannot use it.
public enum HostReference {
    /// The hosts `text` names, or why it names none (without the step and parameter).
    ///
    /// - Parameters:
    ///   - list: whether the parameter is a list (a role then names its hosts).
    ///   - inventory: nil when validating without one: only the roles are checked then (a name
    ///     close to a role is taken for a misspelt role).
    public static func resolve(_ text: String, list: Bool, runbook: Runbook, inventory: Inventory?)
        -> Result<[String], Problem>
    {
        let roles = runbook.roles.map(\.name)
        let declared =
            roles.isEmpty ? "the runbook declares no roles" : "declared roles: \(roles.joined(separator: ", "))"
        switch TargetSpec.parse(text) {
        case .localhost:
            return .success(["localhost"])
        case .named(let name):
            if roles.contains(name) {
                guard list else {
                    return .failure(Problem("'\(name)' is a role: name one host, e.g. \(name)[0] or a host name"))
                }
                return .success(inventory?.hosts(inRole: name) ?? [])
            }
            guard let inventory else {
                if let close = Suggestions.closest(to: name, in: roles) {
                    return .failure(Problem("'\(name)' is not a declared role (did you mean '\(close)'?)"))
                }
                return .success([name])  // a host name: checked against the inventory when one is given
            }
            if inventory.host(named: name) != nil { return .success([name]) }
            let candidates = (list ? roles : []) + inventory.hosts.map(\.name)
            return .failure(
                Problem(
                    "'\(name)' is \(list ? "neither a role of this runbook nor" : "not") a host of inventory "
                        + "'\(inventory.name.value)'\(Suggestions.hint(for: name, in: candidates))"))
        case .indexed(let role, let index):
            guard roles.contains(role) else {
                return .failure(
                    Problem(
                        "'\(text)' names undeclared role '\(role)'\(Suggestions.hint(for: role, in: roles)); \(declared)"
                    ))
            }
            guard let inventory else { return .success([text]) }
            let hosts = inventory.hosts(inRole: role)
            guard index < hosts.count else {
                return .failure(
                    Problem(
                        "'\(text)': inventory '\(inventory.name.value)' has \(hosts.count) host"
                            + "\(hosts.count == 1 ? "" : "s") with role '\(role)'"))
            }
            return .success([hosts[index]])
        case .any(let role):
            let instead =
                list
                ? "name the role (all its hosts), e.g. \(role), or one host, e.g. \(role)[0]"
                : "name a host, e.g. \(role)[0]"
            return .failure(Problem("'\(text)': any(ROLE) is chosen when a step runs; \(instead)"))
        case .invalid(let reason):
            return .failure(Problem("'\(text)' is not a host: \(reason)"))
        }
    }

    /// Why a value names no host.
    public struct Problem: Error, Sendable, Hashable {
        public var message: String
        init(_ message: String) { self.message = message }
    }
}
