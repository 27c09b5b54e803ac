/// One element of a `for_each`: the key that names its instances and the value `item` reads.
public struct PlanItem: Sendable, Hashable {
    /// What the step's `key` gave for this element: `writable[KEY]@host`.
    public var key: String
    /// The element's position in the list, from 0.
    public var index: Int
    /// The `for_each` expression without white space: steps that iterate the same list pair up by item.
    public var list: String
    /// The element.
    public var value: Value

    public init(key: String, index: Int, list: String, value: Value) {
        self.key = key
        self.index = index
        self.list = list
        self.value = value
    }

    /// The list and the key together: what names one item across the steps that iterate that list.
    public var identity: String { list + "\u{0}" + key }

    /// Whether a key can name an instance: non-empty, and none of the characters instance ids
    /// are made of (`[`, `]`, `@`) or that would need quoting in a shell (space, quotes, `$`).
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.count <= 200
            && key.unicodeScalars.allSatisfy { scalar in
                (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar))))
                    || "._:/+-=,".unicodeScalars.contains(scalar)
            }
    }
}

/// Expanding a step's `for_each` into its items; shared by `validate` (with what it knows of the
/// values) and the compiler (with the real ones), so both refuse the same lists at the same place.
public enum ForEachExpansion {
    /// The names a `for_each` may read: what is known before any step runs and is the same on
    /// every host.
    public static let roots: Set<String> = ["params", "vars", "hosts", "mode"]

    /// The step's items, or nil (with errors) when its list or a key is unusable. A list that is
    /// only known at run time (`validate` without an inventory) gives nil without an error.
    ///
    /// - Parameter inventory: where a list that is an inventory var (`vars.NAME`) is written, so
    ///   that a duplicate key is told once, at the element that repeats it, however many steps
    ///   iterate the list.
    public static func items(
        of step: Step, in context: EvaluationContext, inventory: Inventory? = nil, diagnostics: inout Diagnostics
    ) -> [PlanItem]? {
        guard let forEach = step.forEach else { return nil }
        let list: Value
        do {
            list = try forEach.expression.evaluate(in: context)
        } catch {
            // A list from a var the inventory does not set: said once (the checker says it at the
            // var's first read), not once per step that iterates it.
            if case .map(let vars)? = context.roots["vars"],
                let missing = forEach.expression.references.lazy.compactMap({ reference -> String? in
                    guard reference.path.count > 1, reference.path[0] == .member("vars"),
                        case .member(let name) = reference.path[1], vars[name] == nil
                    else { return nil }
                    return name
                }).first
            {
                let prefixes = ["vars.\(missing) is not set", "for_each: vars.\(missing) is not set"]
                if diagnostics.all.contains(where: { d in prefixes.contains { d.message.hasPrefix($0) } }) {
                    return nil
                }
                diagnostics.error(
                    "for_each: vars.\(missing) is not set in the inventory; add `\(missing):` (a list) to its vars (first read by step '\(step.id)')",
                    at: forEach.location(ofOffset: error.offset))
                return nil
            }
            diagnostics.error(
                "step '\(step.id)': for_each: \(error.message)", at: forEach.location(ofOffset: error.offset))
            return nil
        }
        let elements: [Value]
        switch list {
        case .unknown: return nil
        case .list(let items): elements = items
        default:
            diagnostics.error(
                "step '\(step.id)': for_each must be a list (one instance per element), but \(forEach.source) is \(list.typeName) \(list.renderedForText.prefix(60)); make it a list, e.g. `sessions: [{name: gv0}, {name: gv1}]` in the inventory's vars",
                at: forEach.location)
            return nil
        }
        guard let keyExpression = step.key else { return nil }  // reported by the checker
        var items: [PlanItem] = []
        var firstIndex: [String: Int] = [:]
        var ok = true
        for (index, element) in elements.enumerated() {
            var itemContext = context
            itemContext.roots["item"] = element
            let position = "\(forEach.source)[\(index)]"
            let value: Value
            do {
                value = try keyExpression.expression.evaluate(in: itemContext)
            } catch {
                diagnostics.error(
                    "step '\(step.id)': the key of \(position) is missing: \(error.message); every element needs one",
                    at: keyExpression.location(ofOffset: error.offset))
                ok = false
                continue
            }
            let key: String
            switch value {
            case .unknown:
                return nil
            case .string(let text): key = text
            case .int(let number): key = String(number)
            default:
                diagnostics.error(
                    "step '\(step.id)': the key of \(position) is \(value.typeName), not a string; \(keyExpression.source) must name the element",
                    at: keyExpression.location)
                ok = false
                continue
            }
            guard PlanItem.isValidKey(key) else {
                diagnostics.error(
                    "step '\(step.id)': the key of \(position) is '\(key.prefix(60))', which cannot name an instance: use letters, digits and . _ : / + - = , (at most 200)",
                    at: keyExpression.location)
                ok = false
                continue
            }
            if let first = firstIndex[key] {
                if let element = inventoryElement(of: forEach, index: index, in: inventory) {
                    let firstLine = inventoryElement(of: forEach, index: first, in: inventory).map {
                        " (line \($0.line))"
                    }
                    let message =
                        "duplicate for_each key '\(key)': \(position) has the key of \(forEach.source)[\(first)]"
                        + "\(firstLine ?? "") (key: \(keyExpression.source)); each element needs its own key, which names"
                        + " the instances of the steps that iterate it (\(step.id)[\(key)])"
                    // Said once, whichever step found it first.
                    let said = diagnostics.all.contains {
                        $0.location == element && $0.message.hasPrefix("duplicate for_each key '\(key)'")
                    }
                    if !said { diagnostics.error(message, at: element) }
                    ok = false
                    continue
                }
                diagnostics.error(
                    "step '\(step.id)': duplicate key '\(key)': \(position) and \(forEach.source)[\(first)] would both be \(step.id)[\(key)]; each element needs its own key",
                    at: keyExpression.location)
                ok = false
                continue
            }
            firstIndex[key] = index
            items.append(PlanItem(key: key, index: index, list: forEach.normalizedSource, value: element))
        }
        return ok ? items : nil
    }

    /// Where element `index` of a list that is an inventory var (`for_each: vars.NAME`) is written.
    static func inventoryElement(of forEach: LocatedExpression, index: Int, in inventory: Inventory?)
        -> SourceLocation?
    {
        guard let inventory, forEach.expression.references.count == 1,
            let name = forEach.normalizedSource.split(separator: ".", omittingEmptySubsequences: false).dropFirst()
                .first,
            forEach.normalizedSource == "vars.\(name)",
            let items = inventory.vars.first(where: { $0.key == String(name) })?.value.items, index < items.count
        else { return nil }
        return items[index].location
    }
}

extension Plan {
    /// The key of every `for_each` instance (steps and preconditions), by node id.
    public var itemKeys: [String: String] {
        var keys: [String: String] = [:]
        for node in preconditions + nodes {
            if let item = node.item { keys[node.id] = item.key }
        }
        return keys
    }
}
