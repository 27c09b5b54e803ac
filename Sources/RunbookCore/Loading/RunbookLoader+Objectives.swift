extension RunbookLoader {
    static let objectiveKeys = ["max", "measure", "description"]

    /// `objectives: {NAME: {max: DURATION|NUMBER, measure: EXPR, description: TEXT}}`.
    static func loadObjectives(_ node: YAMLNode, reader: inout NodeReader) -> [Objective] {
        guard let pairs = node.pairs else {
            reader.diagnostics.error(
                "objectives must be a mapping of name to {max, measure}, e.g. `rto: {max: 15m, measure: run.elapsed - run.waited}`, got \(node.kindDescription)",
                at: node.location)
            return []
        }
        var result: [Objective] = []
        for pair in pairs where !YAMLParser.isDuplicateSentinel(pair.key) {
            if !isValidParamName(pair.key) {
                reader.diagnostics.error(
                    "objective name '\(pair.key)' must match [A-Za-z_][A-Za-z0-9_]*", at: pair.keyLocation)
            }
            guard
                let fields = reader.mapping(pair.value, allowed: objectiveKeys, what: "objective '\(pair.key)'")
            else { continue }
            var max: Located<Value>?
            if let field = fields["max"] {
                max = objectiveLimit(field.value, name: pair.key, reader: &reader)
            } else {
                reader.diagnostics.error(
                    "objective '\(pair.key)' needs `max` (the most it may take: a duration like 15m, or a number)",
                    at: pair.keyLocation)
            }
            var measure: LocatedExpression?
            if let field = fields["measure"] {
                measure = reader.expression(field.value, what: "the measure of objective '\(pair.key)'")
            } else {
                reader.diagnostics.error(
                    "objective '\(pair.key)' needs `measure` (an expression such as `run.elapsed - run.waited` or `steps.ID.outputs.F`)",
                    at: pair.keyLocation)
            }
            var description: String?
            if let field = fields["description"] {
                description = reader.string(field.value, what: "description")
            }
            if let max, let measure {
                result.append(
                    Objective(
                        name: pair.key, location: pair.keyLocation, max: max, measure: measure,
                        description: description))
            }
        }
        return result
    }

    /// A duration (`15m`), a whole number or a decimal number.
    static func objectiveLimit(_ node: YAMLNode, name: String, reader: inout NodeReader) -> Located<Value>? {
        if let text = node.scalar {
            if node.isPlainScalar, let n = Int(text) { return Located(.int(n), at: node.location) }
            if node.isPlainScalar, let d = Double(text), d.isFinite { return Located(.double(d), at: node.location) }
            if let seconds = Value.parseBoundedDuration(text) { return Located(.duration(seconds), at: node.location) }
        }
        reader.diagnostics.error(
            "the max of objective '\(name)' must be a duration like 90s, 15m or 1h30m (at most \(Value.maxDurationText)) or a number, got \(node.scalar.map { "'\($0)'" } ?? node.kindDescription)",
            at: node.location)
        return nil
    }
}
