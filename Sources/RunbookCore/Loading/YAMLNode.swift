/// A YAML node with the position of every key and value, independent of the parser.
public struct YAMLNode: Sendable, Hashable {
    public enum ScalarStyle: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, block
    }

    public struct Pair: Sendable, Hashable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: YAMLNode
    }

    public enum Kind: Sendable, Hashable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The scalar text, if this is a scalar.
    public var scalar: String? {
        if case .scalar(let text, _) = kind { return text }
        return nil
    }

    public var isPlainScalar: Bool {
        if case .scalar(_, .plain) = kind { return true }
        return false
    }

    /// A plain `~`, `null` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let text, .plain) = kind {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    public var pairs: [Pair]? {
        if case .mapping(let pairs) = kind { return pairs }
        return nil
    }

    public var items: [YAMLNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    /// The value under `key` in a mapping (the last one, if the key is repeated).
    public subscript(key: String) -> YAMLNode? {
        pairs?.last { $0.key == key }?.value
    }

    /// "a string", "a list", "a mapping", for messages.
    public var kindDescription: String {
        switch kind {
        case .scalar(let text, let style):
            if style == .plain {
                if isNull { return "null" }
                if Int(text) != nil { return "a number (\(text))" }
                if ["true", "false", "yes", "no", "on", "off"].contains(text.lowercased()) {
                    return "a bool (\(text))"
                }
            }
            return "a string ('\(text.prefix(40))')"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The column where the text of a scalar starts: after an opening quote.
    public var textLocation: SourceLocation {
        switch kind {
        case .scalar(_, .singleQuoted), .scalar(_, .doubleQuoted): return location.advanced(by: 1)
        default: return location
        }
    }
}
