/// The one JSON string escaper: what the value renderer, the journal's hash chain and row
/// digests, the redactor and the streaming encoder write for a string.
///
/// The canonical spelling is Python's `json.dumps(text, ensure_ascii=False)`: `"` and `\` with a
/// backslash; `\n`, `\r`, `\t`, `\b`, `\f`; every other control character below U+0020 as
/// `\u00xx` (lowercase hex); everything else as it is (DEL, U+2028, U+2029, non-BMP characters
/// as their UTF-8 bytes; `/` unescaped). The journal's hash chain hashes these bytes, so they are
/// fixed: a change here is a new chain version, not a fix (the golden vectors in
/// `JSONStringTests` and the golden journal in `GoldenJournalTests` hold them).
///
/// A Swift `String` holds Unicode scalars only, so there is no lone or invalid surrogate to
/// escape: invalid UTF-8 (a surrogate's three bytes included) becomes U+FFFD when the `String` is
/// made, and U+FFFD is written as it is.
public enum JSONString: Sendable {
    /// How a string is spelled. Only the redactor asks for the non-canonical ones (to recognise a
    /// secret another JSON writer spelled so).
    public struct Style: Sendable, Equatable {
        /// `\b` and `\f` for U+0008 and U+000C; without, `\u0008` and `\u000c`.
        public var controlShortcuts: Bool
        /// Every scalar above U+007E as `\uxxxx`, a non-BMP one as its UTF-16 surrogate pair
        /// (Python's `ensure_ascii=True`).
        public var asciiOnly: Bool

        public init(controlShortcuts: Bool, asciiOnly: Bool) {
            self.controlShortcuts = controlShortcuts
            self.asciiOnly = asciiOnly
        }

        /// The spelling everything here writes (and the hash chain hashes).
        public static let canonical = Style(controlShortcuts: true, asciiOnly: false)
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String, style: Style = .canonical) -> String {
        var out = "\""
        append(text, to: &out, style: style)
        out += "\""
        return out
    }

    /// The inside of the JSON string literal holding `text` (no quotes).
    public static func escaped(_ text: String, style: Style = .canonical) -> String {
        var out = ""
        append(text, to: &out, style: style)
        return out
    }

    /// Appends the inside of the JSON string literal holding `text` to `out`.
    public static func append(_ text: String, to out: inout String, style: Style = .canonical) {
        guard style.asciiOnly else {
            // Only ASCII bytes are ever escaped here, and no byte of a multi-byte UTF-8 sequence is
            // ASCII: copy the runs between escapes whole (the journal escapes every row it
            // digests; one scalar at a time was a hot spot of a run's commits).
            let utf8 = text.utf8
            var run = utf8.startIndex
            var index = run
            while index != utf8.endIndex {
                let byte = utf8[index]
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\"),
                    let escape = escape(ascii: byte, style: style)
                {
                    if run != index { out += text[run..<index] }
                    out += escape
                    run = utf8.index(after: index)
                }
                index = utf8.index(after: index)
            }
            if run != utf8.endIndex { out += text[run...] }
            return
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80, let escape = escape(ascii: UInt8(value), style: style) {
                out += escape
            } else if style.asciiOnly, value > 0x7E {
                if value > 0xFFFF {
                    let offset = value - 0x10000
                    out += unicodeEscape(0xD800 + (offset >> 10))
                    out += unicodeEscape(0xDC00 + (offset & 0x3FF))
                } else {
                    out += unicodeEscape(value)
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }

    /// Appends the canonical inside of the JSON string literal whose UTF-8 bytes are `bytes` to
    /// `buffer`: the same bytes as `append(_:to:style:)` with `.canonical`, for the streaming
    /// encoder (only ASCII bytes are escaped, so the bytes of other characters are copied).
    public static func appendCanonical(utf8 bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 else { continue }
            if start < index { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index])) }
            start = index + 1
            buffer.append(contentsOf: escape(ascii: byte, style: .canonical)!.utf8)
        }
        if start < bytes.count {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
    }

    /// The escape of an ASCII character, or nil when it is written as it is.
    private static func escape(ascii byte: UInt8, style: Style) -> String? {
        switch byte {
        case UInt8(ascii: "\""): return "\\\""
        case UInt8(ascii: "\\"): return "\\\\"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x08 where style.controlShortcuts: return "\\b"
        case 0x0C where style.controlShortcuts: return "\\f"
        case 0x7F where style.asciiOnly: return unicodeEscape(0x7F)
        default: return byte < 0x20 ? unicodeEscape(UInt32(byte)) : nil
        }
    }

    /// `\uxxxx`: four lowercase hex digits.
    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
