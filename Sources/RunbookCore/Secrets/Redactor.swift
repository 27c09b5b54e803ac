/// Masks secret values in text before it is displayed or stored.
///
/// Every occurrence of every non-empty secret is replaced with `***`.
/// Longer secrets are replaced first, so a secret that contains another
/// secret is masked whole rather than leaving a fragment behind.
public struct Redactor: Sendable {
    /// The mask that replaces each secret occurrence.
    public static let mask = "***"

    /// The secrets, non-empty, de-duplicated, longest first.
    public let secrets: [String]

    /// Creates a redactor for the given secret values; empty strings are ignored.
    public init(secrets: [String]) {
        let unique = Set(secrets.filter { !$0.isEmpty })
        self.secrets = unique.sorted { lhs, rhs in
            if lhs.utf8.count != rhs.utf8.count {
                return lhs.utf8.count > rhs.utf8.count
            }
            return lhs < rhs
        }
    }

    /// A redactor that masks nothing.
    public static let none = Redactor(secrets: [])

    /// Whether this redactor has no secrets to mask.
    public var isEmpty: Bool { secrets.isEmpty }

    /// Returns `text` with every occurrence of every secret replaced by `***`.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty, !text.isEmpty else { return text }
        var result = text
        // No `String.contains` pre-check: it compares Characters, and would miss a secret whose
        // last scalar is followed by a combining mark in the text, although its bytes are there.
        for secret in secrets {
            result = Self.replacingOccurrences(of: secret, in: result)
        }
        return result
    }

    /// Returns `text` redacted, or nil when `text` is nil.
    public func redact(_ text: String?) -> String? {
        text.map { redact($0) }
    }

    /// Replaces occurrences of `needle` in `haystack` by the mask, comparing UTF-8 bytes.
    ///
    /// Byte comparison (rather than `Character` comparison) makes sure a secret is
    /// found even when it sits next to combining characters in the surrounding text.
    private static func replacingOccurrences(of needle: String, in haystack: String) -> String {
        let hay = Array(haystack.utf8)
        let pin = Array(needle.utf8)
        guard pin.count <= hay.count, hay.contains(pin[0]) else { return haystack }
        var out: [UInt8] = []
        out.reserveCapacity(hay.count)
        let maskBytes = Array(mask.utf8)
        var index = 0
        let last = hay.count - pin.count
        while index < hay.count {
            if index <= last, hay[index] == pin[0], hay[index..<(index + pin.count)].elementsEqual(pin) {
                out.append(contentsOf: maskBytes)
                index += pin.count
            } else {
                out.append(hay[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
