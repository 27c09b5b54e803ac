import Foundation

/// Converts an event payload to and from the flat `[String: String]` form that the journal hashes
/// and the `--events` stream writes: every value is text.
///
/// Integers and doubles are written as Swift prints them (`3`, `2.0`), booleans as `true`/`false`,
/// dates as `JournalTimestamp.format`, lists of strings joined by commas, string-backed enums as
/// their raw value; a nil optional leaves its key out. Only flat payloads are supported (no
/// nested containers): that is the shape of the public event stream.
enum EventFields {
    static func encode(_ value: some Encodable) -> [String: String] {
        let encoder = FieldsEncoder()
        do {
            try value.encode(to: encoder)
        } catch {
            // Payloads are flat structs of the supported types: this is a programming error.
            assertionFailure("event payload \(type(of: value)) is not flat: \(error)")
        }
        return encoder.storage.fields
    }

    static func decode<T: Decodable>(_ type: T.Type, from fields: [String: String]) throws -> T {
        try T(from: FieldsDecoder(fields: fields))
    }

    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    /// A value's text, for the types a payload may hold; nil for anything else.
    static func text(_ value: Any) -> String? {
        switch value {
        case let string as String: return string
        case let date as Date: return JournalTimestamp.format(date)
        case let list as [String]: return list.joined(separator: ",")
        case let bool as Bool: return bool ? "true" : "false"
        case let number as any BinaryInteger: return "\(number)"
        case let number as Double: return "\(number)"
        default: return nil
        }
    }
}

private final class FieldsStorage {
    var fields: [String: String] = [:]
}

private struct FieldsEncoder: Encoder {
    let storage = FieldsStorage()
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed(storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        Unkeyed()
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        Single()
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: FieldsStorage
        var codingPath: [any CodingKey] { [] }

        func put(_ text: String, _ key: Key) { storage.fields[key.stringValue] = text }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(value ? "true" : "false", key) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put("\(value)", key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { put("\(value)", key) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            if let text = EventFields.text(value) {
                put(text, key)
                return
            }
            // A string-backed enum encodes itself through a single value container.
            let single = SingleCapture()
            try value.encode(to: single)
            guard let text = single.box.text else {
                throw EventFields.Unsupported(description: "\(key.stringValue): \(T.self) is not a flat value")
            }
            put(text, key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            KeyedEncodingContainer(Keyed<NestedKey>(storage: FieldsStorage()))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { Unkeyed() }
        mutating func superEncoder() -> any Encoder { FieldsEncoder() }
        mutating func superEncoder(forKey key: Key) -> any Encoder { FieldsEncoder() }
    }

    /// Only reached by unsupported payloads; encodes nothing.
    struct Unkeyed: UnkeyedEncodingContainer {
        var codingPath: [any CodingKey] { [] }
        var count: Int { 0 }
        mutating func encodeNil() throws { throw EventFields.Unsupported(description: "lists are not flat") }
        mutating func encode<T: Encodable>(_ value: T) throws {
            throw EventFields.Unsupported(description: "lists are not flat")
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            KeyedEncodingContainer(Keyed<NestedKey>(storage: FieldsStorage()))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { Unkeyed() }
        mutating func superEncoder() -> any Encoder { FieldsEncoder() }
    }

    struct Single: SingleValueEncodingContainer {
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { throw EventFields.Unsupported(description: "a payload is keyed") }
        mutating func encode<T: Encodable>(_ value: T) throws {
            throw EventFields.Unsupported(description: "a payload is keyed")
        }
    }
}

private final class TextBox {
    var text: String?
}

/// Captures the one value a string-backed enum (or another single value) encodes.
private struct SingleCapture: Encoder, SingleValueEncodingContainer {
    let box = TextBox()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        FieldsEncoder().container(keyedBy: type)
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { FieldsEncoder().unkeyedContainer() }
    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws {
        guard let text = EventFields.text(value) else {
            throw EventFields.Unsupported(description: "\(T.self) is not a flat value")
        }
        box.text = text
    }
}

private struct FieldsDecoder: Decoder {
    let fields: [String: String]
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed<Key>(fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw EventFields.Unsupported(description: "an event payload is not a list")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw EventFields.Unsupported(description: "an event payload is keyed")
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: String]
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }
        func decodeNil(forKey key: Key) throws -> Bool { fields[key.stringValue] == nil }

        func text(_ key: Key) throws -> String {
            guard let text = fields[key.stringValue] else {
                throw DecodingError.keyNotFound(
                    key, DecodingError.Context(codingPath: [key], debugDescription: "no field \(key.stringValue)"))
            }
            return text
        }

        func parse<T>(_ key: Key, _ make: (String) -> T?) throws -> T {
            let text = try text(key)
            guard let value = make(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: self, debugDescription: "\(key.stringValue) = \(text) is not a \(T.self)")
            }
            return value
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try parse(key) { Bool($0) } }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try text(key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try parse(key) { Double($0) } }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try parse(key) { Float($0) } }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try parse(key) { Int($0) } }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try parse(key) { Int8($0) } }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try parse(key) { Int16($0) } }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try parse(key) { Int32($0) } }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try parse(key) { Int64($0) } }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try parse(key) { UInt($0) } }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try parse(key) { UInt8($0) } }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try parse(key) { UInt16($0) } }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try parse(key) { UInt32($0) } }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try parse(key) { UInt64($0) } }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let text = try text(key)
            if T.self == Date.self {
                return try parse(key) { JournalTimestamp.parse($0) } as! T
            }
            if T.self == [String].self {
                return
                    (text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
                    as! T
            }
            // Scalars and string-backed enums decode from the text through a single value container.
            return try T(from: SingleText(text: text, key: key))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw EventFields.Unsupported(description: "\(key.stringValue): payloads are flat")
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw EventFields.Unsupported(description: "\(key.stringValue): payloads are flat")
        }
        func superDecoder() throws -> any Decoder { FieldsDecoder(fields: fields) }
        func superDecoder(forKey key: Key) throws -> any Decoder { FieldsDecoder(fields: fields) }
    }
}

/// One field's text, as a single value (a string-backed enum reads its raw value from it).
private struct SingleText: Decoder, SingleValueDecodingContainer {
    let text: String
    let key: any CodingKey
    var codingPath: [any CodingKey] { [key] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw EventFields.Unsupported(description: "\(key.stringValue): payloads are flat")
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw EventFields.Unsupported(description: "\(key.stringValue): payloads are flat")
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func value<T>(_ make: (String) -> T?) throws -> T {
        guard let value = make(text) else {
            throw DecodingError.dataCorruptedError(in: self, debugDescription: "\(text) is not a \(T.self)")
        }
        return value
    }

    func decodeNil() -> Bool { false }
    func decode(_ type: Bool.Type) throws -> Bool { try value { Bool($0) } }
    func decode(_ type: String.Type) throws -> String { text }
    func decode(_ type: Double.Type) throws -> Double { try value { Double($0) } }
    func decode(_ type: Float.Type) throws -> Float { try value { Float($0) } }
    func decode(_ type: Int.Type) throws -> Int { try value { Int($0) } }
    func decode(_ type: Int8.Type) throws -> Int8 { try value { Int8($0) } }
    func decode(_ type: Int16.Type) throws -> Int16 { try value { Int16($0) } }
    func decode(_ type: Int32.Type) throws -> Int32 { try value { Int32($0) } }
    func decode(_ type: Int64.Type) throws -> Int64 { try value { Int64($0) } }
    func decode(_ type: UInt.Type) throws -> UInt { try value { UInt($0) } }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try value { UInt8($0) } }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try value { UInt16($0) } }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try value { UInt32($0) } }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try value { UInt64($0) } }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}
