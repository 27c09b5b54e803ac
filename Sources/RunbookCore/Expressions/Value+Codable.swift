import Foundation

/// A `Value` in JSON, exactly: decoding what was encoded gives the same case and payload.
///
/// What JSON says unambiguously is written as plain JSON: `null`, `true`, `42` (an int),
/// `"text"`, `[...]` and `{...}` (keys sorted). The rest is an object with one `$` key:
///
///     {"$double": 1.5}           a double (whole ones too: `{"$double": 2}` is not the int 2);
///                                "nan", "inf" and "-inf" for what JSON numbers cannot say
///     {"$duration": "1h30m"}     a duration; seconds as a number when the text would round
///     {"$timestamp": "2024-01-02T10:00:00Z"}
///                                a timestamp; seconds since 2001-01-01 (what `Date` keeps) as a
///                                number when the text would round
///     {"$unknown": true}         a value known only at run time
///     {"$map": {"$x": 1}}        a map whose only key starts with `$`, so that it is not read as
///                                one of the above
///
/// Secrets: strings are masked by the encoder; a number whose text holds a secret of the redactor
/// under `StreamingJSONEncoder.redactorKey` is written as that text masked (a string, not a number).
///
/// JSON written by other tools (or by plans of version 1, which had no tags) reads as plain JSON:
/// a plain number is an int when it is whole (`1.0` too: `JSONDecoder` does not tell), else a
/// double; a duration or timestamp there is a string.
extension Value: Codable {
    /// The `$` keys of the tagged forms.
    enum Tag: String, CodingKey {
        case double = "$double"
        case duration = "$duration"
        case timestamp = "$timestamp"
        case unknown = "$unknown"
        case map = "$map"
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let flag):
            var container = encoder.singleValueContainer()
            try container.encode(flag)
        case .int(let number):
            var container = encoder.singleValueContainer()
            if let masked = Self.masked(String(number), in: encoder) {
                try container.encode(masked)
            } else {
                try container.encode(number)
            }
        case .string(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .double(let number):
            var container = encoder.container(keyedBy: Tag.self)
            if let masked = Self.masked(number.description, in: encoder)
                ?? Int64(exactly: number).flatMap({ Self.masked(String($0), in: encoder) })
            {
                try container.encode(masked, forKey: .double)
            } else {
                try Self.encode(number, in: &container, forKey: .double)
            }
        case .duration(let seconds):
            var container = encoder.container(keyedBy: Tag.self)
            let text = Value.formatDuration(seconds)
            if Value.parseDuration(text)?.bitPattern == seconds.bitPattern {
                try container.encode(text, forKey: .duration)
            } else {
                try Self.encode(seconds, in: &container, forKey: .duration)
            }
        case .timestamp(let date):
            var container = encoder.container(keyedBy: Tag.self)
            let text = Value.formatTimestamp(date)
            let seconds = date.timeIntervalSinceReferenceDate
            if Value.parseTimestamp(text)?.timeIntervalSinceReferenceDate.bitPattern == seconds.bitPattern {
                try container.encode(text, forKey: .timestamp)
            } else {
                try Self.encode(seconds, in: &container, forKey: .timestamp)
            }
        case .unknown:
            var container = encoder.container(keyedBy: Tag.self)
            try container.encode(true, forKey: .unknown)
        case .list(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case .map(let entries):
            if entries.count == 1, let key = entries.keys.first, key.hasPrefix("$") {
                var container = encoder.container(keyedBy: Tag.self)
                try container.encode(SortedMap(entries), forKey: .map)
            } else {
                try SortedMap(entries).encode(to: encoder)
            }
        }
    }

    /// A number's text with its secrets masked, when it holds one of the encoder's redactor
    /// (`StreamingJSONEncoder.redactorKey`): then it is written as that text, a string, not as a number.
    private static func masked(_ text: String, in encoder: any Encoder) -> String? {
        guard let redactor = encoder.userInfo[StreamingJSONEncoder.redactorKey] as? Redactor else { return nil }
        let masked = redactor.redact(text)
        return masked == text ? nil : masked
    }

    /// A finite number as is; otherwise the text `nan`, `inf` or `-inf`, which JSON numbers cannot say.
    private static func encode(_ number: Double, in container: inout KeyedEncodingContainer<Tag>, forKey key: Tag)
        throws
    {
        if number.isFinite {
            try container.encode(number, forKey: key)
        } else {
            try container.encode(number.isNaN ? "nan" : number < 0 ? "-inf" : "inf", forKey: key)
        }
    }

    public init(from decoder: any Decoder) throws {
        // Most values in a plan are strings and lists of strings: try those first (a failed
        // attempt throws, which costs more than the check).
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
            return
        }
        if let text = try? single.decode(String.self) {
            self = .string(text)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var items: [Value] = []
            if let count = container.count { items.reserveCapacity(count) }
            while !container.isAtEnd { items.append(try container.decode(Value.self)) }
            self = .list(items)
            return
        }
        if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
            return
        }
        if let number = try? single.decode(Int.self) {
            self = .int(number)
            return
        }
        if let number = try? single.decode(Double.self) {
            self = .double(number)
            return
        }
        let tagged = try decoder.container(keyedBy: AnyCodingKey.self)
        let keys = tagged.allKeys
        if keys.count == 1, let tag = Tag(rawValue: keys[0].stringValue) {
            let key = keys[0]
            switch tag {
            case .double:
                self = .double(try Self.number(in: tagged, forKey: key))
            case .duration:
                if let text = try? tagged.decode(String.self, forKey: key), let seconds = Value.parseDuration(text) {
                    self = .duration(seconds)
                } else {
                    self = .duration(try Self.number(in: tagged, forKey: key))
                }
            case .timestamp:
                if let text = try? tagged.decode(String.self, forKey: key), let date = Value.parseTimestamp(text) {
                    self = .timestamp(date)
                } else {
                    self = .timestamp(Date(timeIntervalSinceReferenceDate: try Self.number(in: tagged, forKey: key)))
                }
            case .unknown:
                self = .unknown
            case .map:
                self = .map(try tagged.decode([String: Value].self, forKey: key))
            }
            return
        }
        var entries: [String: Value] = [:]
        entries.reserveCapacity(keys.count)
        for key in keys { entries[key.stringValue] = try tagged.decode(Value.self, forKey: key) }
        self = .map(entries)
    }

    /// A number, or the text of one JSON numbers cannot say (`nan`, `inf`, `-inf`).
    private static func number(in container: KeyedDecodingContainer<AnyCodingKey>, forKey key: AnyCodingKey) throws
        -> Double
    {
        if let number = try? container.decode(Double.self, forKey: key) { return number }
        switch try container.decode(String.self, forKey: key) {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        case let text:
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "'\(text)' is not a number of a \(key.stringValue) value"
            )
        }
    }
}

/// Any string as a coding key: for maps whose keys are data (arguments, environments, facts).
public struct AnyCodingKey: CodingKey, Hashable, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }

    public init(_ stringValue: String) { self.stringValue = stringValue }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

/// A map encoded with its keys sorted, so that the same plan is always the same text.
///
/// `Dictionary`'s own `encode(to:)` follows its hash order, which changes from one process to the
/// next; the plan document writes every map through this instead.
public struct SortedMap<Element: Encodable>: Encodable {
    public var entries: [String: Element]

    public init(_ entries: [String: Element]) { self.entries = entries }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            try container.encode(value, forKey: AnyCodingKey(key))
        }
    }
}
