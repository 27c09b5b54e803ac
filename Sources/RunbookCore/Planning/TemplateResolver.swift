import Synchronization

/// Evaluates `with` values (YAML with `${{ }}` inside strings) into typed `Value`s.
public enum TemplateResolver {
    /// Parsed templates by their text: a runbook fans one template out to many hosts, and the
    /// checker and the compiler read the same strings; parse each once.
    private static let cache = Mutex<[String: InterpolatedString]>([:])

    /// The parsed form of an interpolated string, from the cache when it was parsed before.
    public static func parsed(_ text: String) throws(ExpressionError) -> InterpolatedString {
        if let hit = cache.withLock({ $0[text] }) { return hit }
        let parsed = try InterpolatedString(parsing: text)
        cache.withLock { entries in
            if entries.count > 500_000 { entries.removeAll(keepingCapacity: true) }
            entries[text] = parsed
        }
        return parsed
    }

    /// A failure to resolve, with where it happened.
    public struct Failure: Error, Sendable {
        public var message: String
        public var location: SourceLocation
    }

    /// Parses every interpolated string under `node`, reporting syntax errors, and returns each
    /// expression reference with the file location of its first character.
    public static func references(in node: YAMLNode, diagnostics: inout Diagnostics) -> [(
        NameReference, SourceLocation
    )] {
        var result: [(NameReference, SourceLocation)] = []
        walkScalars(node) { text, scalar in
            guard containsInterpolation(text) else { return }
            do throws(ExpressionError) {
                let interpolated = try parsed(text)
                for reference in interpolated.references {
                    result.append((reference, scalar.textLocation.advanced(by: reference.offset)))
                }
            } catch {
                diagnostics.error(error.message, at: scalar.textLocation.advanced(by: error.offset))
            }
        }
        return result
    }

    /// Whether `text` contains `${{`, by one pass over its UTF-8 bytes (`String.contains` with a
    /// string argument is a generic substring search that dominated validating large runbooks).
    public static func containsInterpolation(_ text: String) -> Bool {
        var run = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "{"), run > 0 {
                if run == 2 { return true }
                run = 2
            } else {
                run = byte == UInt8(ascii: "$") ? 1 : 0
            }
        }
        return false
    }

    static func walkScalars(_ node: YAMLNode, _ body: (String, YAMLNode) -> Void) {
        switch node.kind {
        case .scalar(let text, _): body(text, node)
        case .sequence(let items): for item in items { walkScalars(item, body) }
        case .mapping(let pairs): for pair in pairs { walkScalars(pair.value, body) }
        }
    }

    /// The value of a YAML node in a context; unknown parts come back as `.unknown`.
    public static func value(of node: YAMLNode, in context: EvaluationContext) throws(Failure) -> Value {
        switch node.kind {
        case .scalar(let text, let style):
            if containsInterpolation(text) {
                do {
                    return try parsed(text).evaluate(in: context)
                } catch {
                    throw Failure(message: error.message, location: node.textLocation.advanced(by: error.offset))
                }
            }
            if style == .plain { return plainScalar(text) }
            return .string(text)
        case .sequence(let items):
            var values: [Value] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try value(of: item, in: context)) }
            return .list(values)
        case .mapping(let pairs):
            var entries: [String: Value] = [:]
            for pair in pairs { entries[pair.key] = try value(of: pair.value, in: context) }
            return .map(entries)
        }
    }

    /// YAML 1.2 core schema for plain scalars: null, true/false, integers, floats; else text.
    public static func plainScalar(_ text: String) -> Value {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default:
            if let number = Int(text) { return .int(number) }
            if text.first?.isNumber == true || text.first == "-", let number = Double(text), !text.contains("inf"),
                !text.contains("nan")
            {
                return .double(number)
            }
            return .string(text)
        }
    }

    /// Whether a resolved value still contains an unknown part.
    public static func containsUnknown(_ value: Value) -> Bool {
        switch value {
        case .unknown: return true
        case .list(let items): return items.contains(where: containsUnknown)
        case .map(let entries): return entries.values.contains(where: containsUnknown)
        default: return false
        }
    }

    /// Coerces a value to a declared parameter type; nil when it cannot be.
    ///
    /// Scalars written plain keep their text for `string` (so `value: off` is the text "off").
    public static func coerce(_ value: Value, node: YAMLNode?, to type: ValueType) -> Value? {
        if value == .unknown { return .unknown }
        switch type {
        case .any:
            return value
        case .string:
            if let node, node.isPlainScalar, let text = node.scalar, !containsInterpolation(text) {
                return .string(text)
            }
            switch value {
            case .string, .null: return value
            case .int, .double, .bool, .duration, .timestamp: return .string(value.renderedForText)
            default: return nil
            }
        case .int:
            switch value {
            case .int: return value
            case .string(let text): return Int(text).map(Value.int)
            default: return nil
            }
        case .bool:
            switch value {
            case .bool: return value
            case .string(let text):
                switch text.lowercased() {
                case "true", "yes", "on": return .bool(true)
                case "false", "no", "off": return .bool(false)
                default: return nil
                }
            default: return nil
            }
        case .duration:
            switch value {
            case .duration(let seconds): return seconds >= 0 && seconds <= Value.maxDuration ? value : nil
            case .string(let text): return Value.parseBoundedDuration(text).map(Value.duration)
            case .int(let seconds):
                return seconds >= 0 && Double(seconds) <= Value.maxDuration ? .duration(Double(seconds)) : nil
            default: return nil
            }
        case .argv, .stringList:
            guard case .list(let items) = value else { return nil }
            var result: [Value] = []
            for item in items {
                switch item {
                case .string, .unknown: result.append(item)
                case .int, .double, .bool, .duration, .timestamp: result.append(.string(item.renderedForText))
                default: return nil
                }
            }
            return .list(result)
        case .command:
            if case .string = value { return value }
            return coerce(value, node: node, to: .argv)
        case .stringMap:
            guard case .map(let entries) = value else { return nil }
            return .map(
                entries.mapValues { item in
                    if case .string = item { return item }
                    if item == .unknown { return item }
                    return .string(item.renderedForText)
                })
        }
    }

    /// Replaces unknown values by their source text so a plan can show them.
    public static func displayValue(_ value: Value, node: YAMLNode) -> Value {
        guard containsUnknown(value) else { return value }
        switch (value, node.kind) {
        case (.unknown, .scalar(let text, _)): return .string(text)
        case (.list(let items), .sequence(let nodes)) where items.count == nodes.count:
            return .list(zip(items, nodes).map { displayValue($0, node: $1) })
        case (.map(let entries), .mapping(let pairs)):
            var result = entries
            for pair in pairs {
                if let item = entries[pair.key] { result[pair.key] = displayValue(item, node: pair.value) }
            }
            return .map(result)
        default:
            return .string("<known at run time>")
        }
    }
}
