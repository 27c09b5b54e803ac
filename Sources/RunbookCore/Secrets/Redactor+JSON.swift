import Foundation

extension Redactor {
    /// Returns JSON `text` with every secret masked in its string values, keys and structure left
    /// as they are, so the result still decodes as the same shape.
    ///
    /// Each string value is decoded, masked like any text (so every spelling of a secret inside
    /// it, escaped or not, is masked) and written back quoted; a value without a secret keeps its
    /// bytes. Object keys are field names and are not touched, nor are numbers, `true`, `false`
    /// and `null` (a secret that is a short word or one letter would otherwise mask `max_value`
    /// into `ma***_value`, or `"exit"` into `"e***it"`). Text that is not JSON is masked whole.
    public func redactJSON(_ text: String) -> String {
        guard !patterns.isEmpty, !text.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\"") else {
                // Outside strings JSON holds only structure, numbers, true, false and null.
                guard Self.jsonBareBytes.contains(byte) else { return redact(text) }
                out.append(byte)
                index += 1
                continue
            }
            // A string literal: find its closing quote.
            var end = index + 1
            var escaped = false
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                if bytes[end] == UInt8(ascii: "\\") {
                    escaped = true
                    end += 1
                }
                end += 1
            }
            guard end < bytes.count else { return redact(text) }
            let literal = bytes[index...end]
            var next = end + 1
            while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
            if next < bytes.count, bytes[next] == UInt8(ascii: ":") {
                out.append(contentsOf: literal)  // a key
            } else {
                let value: String
                if escaped {
                    guard
                        let decoded = try? JSONSerialization.jsonObject(
                            with: Data(literal), options: [.fragmentsAllowed]) as? String
                    else { return redact(text) }
                    value = decoded
                } else {
                    value = String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
                }
                let masked = redact(value)
                if masked == value {
                    out.append(contentsOf: literal)
                } else {
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: JSONString.escaped(masked).utf8)
                    out.append(UInt8(ascii: "\""))
                }
            }
            index = end + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes JSON text holds outside its strings.
    private static let jsonBareBytes = Set("{}[],: \t\n\r0123456789+-.eEtruefalsn".utf8)
}
