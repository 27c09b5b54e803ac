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
        // Foundation's trimming only when there is something to trim (it was a tenth of
        // `validate`'s time on a large runbook, whose targets have no spaces around them).
        let edges = [text.unicodeScalars.first, text.unicodeScalars.last].compactMap { $0 }
        let trimmed =
            edges.contains(where: { CharacterSet.whitespaces.contains($0) })
            ? text.trimmingCharacters(in: .whitespaces) : text
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
        if trimmed.utf8.contains(where: { $0 == 0x20 || $0 == 0x28 || $0 == 0x29 || $0 == 0x2C }) {  // " (),"
            return .invalid("expected localhost, a host, a role, ROLE[N] or any(ROLE)")
        }
        return .named(trimmed)
    }
}
