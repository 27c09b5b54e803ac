/// A limit over the items of `for_each` steps (`max_concurrency`, `max_failed`): a number of
/// items, or a percentage of them, as AWS Systems Manager's MaxConcurrency / MaxErrors and
/// Ansible's `serial` / `max_fail_percentage` write it.
public struct ItemBudget: Sendable, Hashable {
    public enum Amount: Sendable, Hashable {
        case count(Int)
        /// Of the items it applies to, rounded down.
        case percent(Int)
    }

    public var amount: Amount
    /// Where it is written (the value).
    public var location: SourceLocation

    public init(_ amount: Amount, at location: SourceLocation) {
        self.amount = amount
        self.location = location
    }

    /// As written: `2` or `50%`.
    public var text: String {
        switch amount {
        case .count(let n): return "\(n)"
        case .percent(let p): return "\(p)%"
        }
    }

    /// The number of items it allows out of `items` (a percentage rounded down; at least
    /// `minimum`: one item changes at a time even at 10% of 5 items).
    public func limit(ofItems items: Int, minimum: Int) -> Int {
        switch amount {
        case .count(let n): return max(n, minimum)
        case .percent(let p): return max(items * p / 100, minimum)
        }
    }
}
