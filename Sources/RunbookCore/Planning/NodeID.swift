/// A step instance's node id, typed: `step` for a single-host step, `step@host` for a role's
/// fan-out, `step[KEY]` and `step[KEY]@host` for the items of a `for_each`.
///
/// The plan builds the text from this value (`PlanNode.id`); the journal keeps only the text, so
/// what reads a journal row back parses it here, once, with the step id the row also holds
/// (a `for_each` key never holds `]`).
public struct NodeID: Sendable, Hashable, CustomStringConvertible {
    public var stepID: String
    /// The `for_each` item's key, nil for a step without `for_each`.
    public var itemKey: String?
    /// The host of a fan-out instance; nil when the id does not name one.
    public var host: String?

    public init(stepID: String, itemKey: String? = nil, host: String? = nil) {
        self.stepID = stepID
        self.itemKey = itemKey
        self.host = host
    }

    /// The instance of `stepID` whose node id is `text`; nil when `text` is not one of its ids.
    public init?(parsing text: String, stepID: String) {
        guard text.hasPrefix(stepID) else { return nil }
        var rest = text.dropFirst(stepID.count)
        var itemKey: String?
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            itemKey = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
        }
        var host: String?
        if rest.first == "@" {
            host = String(rest.dropFirst())
        } else if !rest.isEmpty {
            return nil
        }
        self.init(stepID: stepID, itemKey: itemKey, host: host)
    }

    /// The id as the plan, the journal and every report write it.
    public var text: String {
        var out = stepID
        if let itemKey { out += "[" + itemKey + "]" }
        if let host { out += "@" + host }
        return out
    }

    public var description: String { text }
}
