import Foundation

/// The forms of a step's `on`.
public enum TargetSpec: Sendable, Hashable {
    case localhost
    /// A host name or a role; which one depends on the runbook and inventory.
    case named(String)
    /// `role[N]`.
    case indexed(String, Int)
    /// `any(role)`.
    case any(String)
    case invalid(String)

    public static func parse(_ text: String) -> TargetSpec {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "localhost" { return .localhost }
        if trimmed.hasPrefix("any(") {
            guard trimmed.hasSuffix(")") else { return .invalid("expected any(ROLE)") }
            let role = String(trimmed.dropFirst(4).dropLast())
            return role.isEmpty ? .invalid("any() needs a role") : .any(role)
        }
        if let open = trimmed.firstIndex(of: "[") {
            guard trimmed.hasSuffix("]"),
                let index = Int(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            else {
                return .invalid("expected ROLE[N] with a whole number N")
            }
            guard index >= 0 else { return .invalid("the index must be 0 or more") }
            return .indexed(String(trimmed[..<open]), index)
        }
        if trimmed.isEmpty { return .invalid("empty target") }
        if trimmed.contains(where: { " (),".contains($0) }) {
            return .invalid("expected localhost, a host, a role, ROLE[N] or any(ROLE)")
        }
        return .named(trimmed)
    }
}
