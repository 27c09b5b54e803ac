/// Writes an `Encodable` value as JSON while it is encoded, in chunks, without building a tree.
///
/// Foundation's `JSONEncoder` builds the whole document as a tree of values before it writes a
/// byte: for the plan of a 10,000-step runbook that took 1.8x the peak memory of compiling it and
/// writing the text plan (`RunbookBenchmark --compare-foundation`), and half as much time again as
/// this one. This one appends to a byte buffer as the values' `encode(to:)` run, hands the
/// buffer to a sink each `chunkSize` bytes, and masks every secret of its redactor in each string
/// (keys too) before escaping it, so a secret is masked however JSON would spell it.
///
/// What it does not do, and what the plan document's conformances do instead:
/// - Keys are written in the order they are encoded: write them sorted (and dictionaries through
///   `SortedMap`) for the same text each time.
/// - Containers must be used in the order they were made: a nested container is finished when its
///   parent (or an enclosing one) writes again. `encode(to:)` methods that fill one container after
///   another, as synthesized ones do, work; one that returns to an earlier container does not.
/// - `codingPath` is always empty.
/// Numbers that JSON cannot say (NaN, infinities) throw `EncodingError.invalidValue`, as in
/// `JSONEncoder`.
public struct StreamingJSONEncoder: Sendable {
    /// Newlines and two-space indentation, `"key" : value` (as `JSONEncoder`'s `.prettyPrinted`).
    public var pretty: Bool
    public var redactor: Redactor
    /// How many bytes are gathered before the sink is called.
    public var chunkSize: Int

    /// Where `encode(to:)` finds the redactor in `userInfo`: a number is no string, so a `Value` that
    /// must mask one (an int param marked secret, say) asks for it.
    public static let redactorKey = CodingUserInfoKey(rawValue: "runbook.redactor")!

    public init(pretty: Bool = false, redactor: Redactor = .none, chunkSize: Int = 1 << 16) {
        self.pretty = pretty
        self.redactor = redactor
        self.chunkSize = chunkSize
    }

    /// The whole text.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = JSONStreamWriter(pretty: pretty, redactor: redactor, chunkSize: .max, sink: nil)
        try writer.encodeValue(value, level: 0)
        writer.close(downTo: 0)
        return writer.buffer
    }

    /// The text in chunks of about `chunkSize` bytes; `sink` must not keep the buffer it is given.
    public func encode<T: Encodable>(_ value: T, to sink: (UnsafeRawBufferPointer) -> Void) throws {
        try withoutActuallyEscaping(sink) { sink in
            let writer = JSONStreamWriter(pretty: pretty, redactor: redactor, chunkSize: chunkSize, sink: sink)
            try writer.encodeValue(value, level: 0)
            writer.close(downTo: 0)
            writer.flush()
        }
    }
}

// MARK: - The writer

/// The buffer and the containers open in it. Levels count open containers: a value written at
/// level 2 is inside two of them.
final class JSONStreamWriter {
    struct Frame {
        var isObject: Bool
        var count: Int
    }

    // Unchecked: every value appends to these, and the dynamic exclusivity checks of a class's
    // stored properties took a tenth of the time. Nothing here runs concurrently or re-enters.
    @exclusivity(unchecked) var buffer: [UInt8] = []
    let pretty: Bool
    let redactor: Redactor
    let chunkSize: Int
    let sink: ((UnsafeRawBufferPointer) -> Void)?
    /// The redactor under `StreamingJSONEncoder.redactorKey`, made once (every encoder hands it out).
    let userInfo: [CodingUserInfoKey: Any]
    @exclusivity(unchecked) private(set) var stack: [Frame] = []
    /// Bytes handed to the sink so far.
    @exclusivity(unchecked) private var flushed = 0

    init(pretty: Bool, redactor: Redactor, chunkSize: Int, sink: ((UnsafeRawBufferPointer) -> Void)?) {
        self.pretty = pretty
        self.redactor = redactor
        self.chunkSize = chunkSize
        self.sink = sink
        userInfo = redactor.isEmpty ? [:] : [StreamingJSONEncoder.redactorKey: redactor]
        buffer.reserveCapacity(sink == nil ? 1 << 16 : chunkSize + 4096)
    }

    var written: Int { flushed + buffer.count }
    var level: Int { stack.count }

    func flush() {
        guard let sink, !buffer.isEmpty else { return }
        buffer.withUnsafeBytes(sink)
        flushed += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    func open(object: Bool) {
        buffer.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        stack.append(Frame(isObject: object, count: 0))
    }

    /// Closes the containers above `level`, innermost first.
    func close(downTo level: Int) {
        while stack.count > level {
            let frame = stack.removeLast()
            if pretty, frame.count > 0 { newline() }
            buffer.append(frame.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    /// Starts the next member of the innermost container: the comma, the indentation, the key.
    func beginMember(key: String?) {
        if buffer.count >= chunkSize { flush() }
        let index = stack.count - 1
        if stack[index].count > 0 { buffer.append(UInt8(ascii: ",")) }
        stack[index].count += 1
        if pretty { newline() }
        if let key {
            writeString(key, masked: false)  // a field name: masking it would break the shape
            if pretty {
                buffer.append(contentsOf: " : ".utf8)
            } else {
                buffer.append(UInt8(ascii: ":"))
            }
        }
    }

    private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 128)

    private func newline() {
        buffer.append(UInt8(ascii: "\n"))
        var indent = stack.count * 2
        while indent > 0 {
            let count = min(indent, Self.spaces.count)
            buffer.append(contentsOf: Self.spaces[0..<count])
            indent -= count
        }
    }

    // MARK: Values

    func writeNull() { buffer.append(contentsOf: "null".utf8) }

    func writeBool(_ value: Bool) { buffer.append(contentsOf: value ? "true".utf8 : "false".utf8) }

    func writeInteger<T: BinaryInteger>(_ value: T) {
        if value == 0 {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        // Digits backwards into a small stack buffer, then appended in order.
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var index = 40
            while magnitude != 0 {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            }
            if value < 0 {
                index -= 1
                digits[index] = UInt8(ascii: "-")
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[index..<40]))
        }
    }

    /// Whole numbers without a fraction (`2`, as `JSONEncoder` writes them), others as Swift prints
    /// them: the shortest text that reads back as the same `Double`.
    func writeDouble(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(
                    codingPath: [], debugDescription: "\(value) cannot be written as a JSON number"))
        }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            if value == 0, value.sign == .minus { buffer.append(UInt8(ascii: "-")) }
            writeInteger(Int64(value))
        } else {
            buffer.append(contentsOf: value.description.utf8)
        }
    }

    func writeString(_ value: String, masked: Bool = true) {
        var text = redactor.isEmpty || !masked ? value : redactor.redact(value)
        buffer.append(UInt8(ascii: "\""))
        text.withUTF8 { bytes in JSONString.appendCanonical(utf8: bytes, to: &buffer) }
        buffer.append(UInt8(ascii: "\""))
    }

    /// Writes one value whose place (comma, key) is already written; it starts at `level`.
    func encodeValue<T: Encodable>(_ value: T, level: Int) throws {
        // The common leaves without going through a container (a type check costs less than a cast).
        if T.self == String.self {
            writeString(value as! String)
        } else if T.self == Int.self {
            writeInteger(value as! Int)
        } else if T.self == Bool.self {
            writeBool(value as! Bool)
        } else if T.self == Double.self {
            try writeDouble(value as! Double)
        } else {
            let start = written
            try value.encode(to: StreamEncoder(writer: self, level: level))
            close(downTo: level)
            // A value that encoded nothing is an empty object, as in JSONEncoder.
            if written == start { buffer.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")]) }
        }
    }
}

// MARK: - Encoder and containers

/// The encoder of one value that starts at `level`.
struct StreamEncoder: Encoder {
    let writer: JSONStreamWriter
    let level: Int

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { writer.userInfo }

    /// The value's own container, opened by the first call and shared by later ones.
    private func openContainer(object: Bool) -> Int {
        if writer.level == level {
            writer.open(object: object)
        } else {
            writer.close(downTo: level + 1)
        }
        return level + 1
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(StreamKeyedContainer<Key>(writer: writer, level: openContainer(object: true)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        StreamUnkeyedContainer(writer: writer, level: openContainer(object: false))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        StreamSingleValueContainer(writer: writer, level: level)
    }
}

/// An object whose members are written at `level` (it is the `level`-th open container).
struct StreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONStreamWriter
    let level: Int

    var codingPath: [any CodingKey] { [] }

    fileprivate func member(_ key: Key) {
        writer.close(downTo: level)
        writer.beginMember(key: key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        member(key)
        writer.writeNull()
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        member(key)
        writer.writeBool(value)
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        member(key)
        writer.writeString(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        member(key)
        writer.writeInteger(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        member(key)
        try writer.writeDouble(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        member(key)
        try writer.encodeValue(value, level: level)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        member(key)
        writer.open(object: true)
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(writer: writer, level: level + 1))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        member(key)
        writer.open(object: false)
        return StreamUnkeyedContainer(writer: writer, level: level + 1)
    }

    mutating func superEncoder() -> any Encoder {
        writer.close(downTo: level)
        writer.beginMember(key: "super")
        return StreamEncoder(writer: writer, level: level)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        member(key)
        return StreamEncoder(writer: writer, level: level)
    }
}

/// An array whose elements are written at `level`.
struct StreamUnkeyedContainer: UnkeyedEncodingContainer {
    let writer: JSONStreamWriter
    let level: Int
    private(set) var count = 0

    init(writer: JSONStreamWriter, level: Int) {
        self.writer = writer
        self.level = level
    }

    var codingPath: [any CodingKey] { [] }

    fileprivate mutating func element() {
        writer.close(downTo: level)
        writer.beginMember(key: nil)
        count += 1
    }

    mutating func encodeNil() throws {
        element()
        writer.writeNull()
    }

    mutating func encode(_ value: Bool) throws {
        element()
        writer.writeBool(value)
    }

    mutating func encode(_ value: String) throws {
        element()
        writer.writeString(value)
    }

    mutating func encode(_ value: Int) throws {
        element()
        writer.writeInteger(value)
    }

    mutating func encode(_ value: Double) throws {
        element()
        try writer.writeDouble(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        element()
        try writer.encodeValue(value, level: level)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        element()
        writer.open(object: true)
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(writer: writer, level: level + 1))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        element()
        writer.open(object: false)
        return StreamUnkeyedContainer(writer: writer, level: level + 1)
    }

    mutating func superEncoder() -> any Encoder {
        element()
        return StreamEncoder(writer: writer, level: level)
    }
}

/// One value, written where its parent made room for it.
struct StreamSingleValueContainer: SingleValueEncodingContainer {
    let writer: JSONStreamWriter
    let level: Int

    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.writeNull() }
    mutating func encode(_ value: Bool) throws { writer.writeBool(value) }
    mutating func encode(_ value: String) throws { writer.writeString(value) }
    mutating func encode(_ value: Int) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Double) throws { try writer.writeDouble(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try writer.encodeValue(value, level: level)
    }
}

// MARK: - The other number types

extension StreamKeyedContainer {
    mutating func encode(_ value: Float, forKey key: Key) throws { try encode(Double(value), forKey: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encode(Int(value), forKey: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encode(Int(value), forKey: key) }

    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        member(key)
        writer.writeInteger(value)
    }

    mutating func encode(_ value: UInt, forKey key: Key) throws {
        member(key)
        writer.writeInteger(value)
    }
}

extension StreamUnkeyedContainer {
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int8) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int16) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int32) throws { try encode(Int(value)) }
    mutating func encode(_ value: Int64) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt8) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt16) throws { try encode(Int(value)) }
    mutating func encode(_ value: UInt32) throws { try encode(Int(value)) }

    mutating func encode(_ value: UInt64) throws {
        element()
        writer.writeInteger(value)
    }

    mutating func encode(_ value: UInt) throws {
        element()
        writer.writeInteger(value)
    }
}

extension StreamSingleValueContainer {
    mutating func encode(_ value: Float) throws { try writer.writeDouble(Double(value)) }
    mutating func encode(_ value: Int8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int64) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt64) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt) throws { writer.writeInteger(value) }
}
