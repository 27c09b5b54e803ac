/// Typed reads from `YAMLNode`s that report a diagnostic at the node when the type is wrong.
struct NodeReader {
    var diagnostics = Diagnostics()

    /// Reports keys not in `allowed` (with a suggestion) and returns the pairs keyed by name.
    /// With `listAllowed`, an unknown key's message also lists the allowed keys, followed by that text.
    mutating func mapping(_ node: YAMLNode, allowed: [String], what: String, listAllowed: String? = nil) -> [String:
        YAMLNode.Pair]?
    {
        guard let pairs = node.pairs else {
            diagnostics.error("\(what) must be a mapping, got \(node.kindDescription)", at: node.location)
            return nil
        }
        var result: [String: YAMLNode.Pair] = [:]
        for pair in pairs {
            if YAMLParser.isDuplicateSentinel(pair.key) { continue }
            if !allowed.contains(pair.key) {
                let takes = listAllowed.map {
                    "; \(Self.article(what)) \(what) takes \(allowed.joined(separator: ", ")), \($0)"
                }
                diagnostics.error(
                    "unknown key '\(pair.key)' in \(what)\(Suggestions.hint(for: pair.key, in: allowed))\(takes ?? "")",
                    at: pair.keyLocation)
                continue
            }
            result[pair.key] = pair
        }
        return result
    }

    static func article(_ noun: String) -> String {
        guard let first = noun.first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    mutating func string(_ node: YAMLNode, what: String) -> String? {
        guard let text = node.scalar else {
            diagnostics.error("\(what) must be a string, got \(node.kindDescription)", at: node.location)
            return nil
        }
        return text
    }

    mutating func int(_ node: YAMLNode, what: String, range: ClosedRange<Int>? = nil) -> Int? {
        if let range, let text = node.scalar, node.isPlainScalar, Int(text) == nil, Self.isWholeNumber(text) {
            diagnostics.error(
                "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(text)", at: node.location)
            return nil
        }
        guard let text = node.scalar, node.isPlainScalar, let value = Int(text) else {
            diagnostics.error("\(what) must be a whole number, got \(node.kindDescription)", at: node.location)
            return nil
        }
        if let range, !range.contains(value) {
            diagnostics.error(
                "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(value)", at: node.location)
            return nil
        }
        return value
    }

    /// A `max_concurrency` (at least 1 item) or `max_failed` (0 or more): a whole number of items,
    /// or a percentage of them written `N%` (1-100%, or 0-100% for `max_failed`).
    mutating func budget(_ node: YAMLNode, what: String) -> ItemBudget? {
        let low = what == "max_failed" ? 0 : 1
        let shape =
            "\(what) must be a number of items (\(low) to 10000) or a percentage of them (\(low)% to 100%)"
        guard let text = node.scalar else {
            diagnostics.error("\(shape), got \(node.kindDescription)", at: node.location)
            return nil
        }
        if text.hasSuffix("%") {
            guard let percent = Int(text.dropLast()), (low...100).contains(percent) else {
                diagnostics.error("\(shape), got '\(text)'", at: node.location)
                return nil
            }
            return ItemBudget(.percent(percent), at: node.location)
        }
        guard node.isPlainScalar, let count = Int(text), (low...10_000).contains(count) else {
            diagnostics.error("\(shape), got '\(text)'", at: node.location)
            return nil
        }
        return ItemBudget(.count(count), at: node.location)
    }

    /// Digits with an optional sign: a number, however large.
    static func isWholeNumber(_ text: String) -> Bool {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    mutating func bool(_ node: YAMLNode, what: String) -> Bool? {
        if let text = node.scalar, node.isPlainScalar {
            switch text.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        diagnostics.error("\(what) must be true or false, got \(node.kindDescription)", at: node.location)
        return nil
    }

    /// A duration from `minimum` to `Value.maxDuration` (30 days).
    mutating func duration(_ node: YAMLNode, what: String, minimum: Double = 0) -> Double? {
        guard let text = node.scalar, let seconds = Value.parseDuration(text) else {
            diagnostics.error(
                "\(what) must be a duration like 90s, 15m, 2h or 1h30m, got \(node.kindDescription)",
                at: node.location)
            return nil
        }
        guard seconds >= minimum, seconds <= Value.maxDuration else {
            diagnostics.error(
                "\(what) must be from \(Value.formatDuration(minimum)) to \(Value.maxDurationText), got \(text)",
                at: node.location)
            return nil
        }
        return seconds
    }

    mutating func stringList(_ node: YAMLNode, what: String) -> [Located<String>]? {
        guard let items = node.items else {
            diagnostics.error("\(what) must be a list, got \(node.kindDescription)", at: node.location)
            return nil
        }
        var result: [Located<String>] = []
        for item in items {
            if let text = string(item, what: "each entry of \(what)") {
                result.append(Located(text, at: item.location))
            }
        }
        return result
    }

    mutating func enumValue<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, what: String, as type: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, what: what) else { return nil }
        if let value = E(rawValue: text) { return value }
        let names = E.allCases.map(\.rawValue)
        diagnostics.error(
            "\(what) must be one of \(names.joined(separator: ", ")), got '\(text)'\(Suggestions.hint(for: text, in: names))",
            at: node.location)
        return nil
    }

    mutating func expression(_ node: YAMLNode, what: String) -> LocatedExpression? {
        guard let text = string(node, what: what) else { return nil }
        var source = text
        var location = node.textLocation
        // Accept `${{ expr }}` around a bare expression too.
        if let inner = Self.unwrapInterpolation(source) {
            location = location.advanced(by: inner.offset)
            source = inner.text
        }
        do {
            let expression = try Expression(parsing: source)
            return LocatedExpression(expression: expression, location: location)
        } catch {
            diagnostics.error("in \(what): \(error.message)", at: location.advanced(by: error.offset))
            return nil
        }
    }

    /// `${{ x }}` -> (" x ", 3) when the whole text is one interpolation.
    static func unwrapInterpolation(_ text: String) -> (text: String, offset: Int)? {
        guard text.utf8.count >= 5, text.hasPrefix("${{"), text.hasSuffix("}}") else { return nil }
        let inner = text.dropFirst(3).dropLast(2)
        // No `${{` and no `}}` inside, by one pass over the bytes (`contains` with a string
        // argument is a generic substring search, slow for every value of a large runbook).
        var last: UInt8 = 0
        var beforeLast: UInt8 = 0
        for byte in inner.utf8 {
            if byte == UInt8(ascii: "}"), last == UInt8(ascii: "}") { return nil }
            if byte == UInt8(ascii: "{"), last == UInt8(ascii: "{"), beforeLast == UInt8(ascii: "$") { return nil }
            beforeLast = last
            last = byte
        }
        return (String(inner), 3)
    }
}
