/// Masks secret values in text before it is displayed or stored.
///
/// Every occurrence of every non-empty secret is replaced with `***`, in every spelling a value
/// takes on its way out: as given, shell-quoted (`'it'\''s'`, and its inner form), JSON-escaped
/// (with and without `\/`, `\b`/`\f`, `\uXXXX` for non-ASCII), XML-escaped, and, for a secret
/// that spans lines, each of its lines (a renderer may print them apart). The spellings are
/// derived here, once, so every renderer that goes through a redactor masks them all.
/// Longer spellings are replaced first, so a secret that contains another is masked whole.
public struct Redactor: Sendable {
    /// The mask that replaces each secret occurrence.
    public static let mask = "***"

    /// The secrets as given: non-empty, de-duplicated, longest first.
    public let secrets: [String]
    /// Every spelling that is masked, longest first.
    public let patterns: [String]

    /// Lines of a multi-line secret shorter than this are not masked on their own (they would
    /// mask ordinary words); the whole secret and its escaped spellings still are.
    public static let minimumLineLength = 3

    /// Creates a redactor for the given secret values; empty strings are ignored.
    public init(secrets: [String]) {
        func longestFirst(_ values: Set<String>) -> [String] {
            values.sorted { lhs, rhs in
                if lhs.utf8.count != rhs.utf8.count {
                    return lhs.utf8.count > rhs.utf8.count
                }
                return lhs < rhs
            }
        }
        let unique = Set(secrets.filter { !$0.isEmpty })
        self.secrets = longestFirst(unique)
        self.patterns = longestFirst(Set(unique.flatMap(Self.spellings)))
    }

    /// The spellings of one secret that output can contain.
    public static func spellings(of secret: String) -> [String] {
        var result = [secret]
        let shell = ShellQuoting.quote(secret)
        result.append(shell)
        if shell.hasPrefix("'"), shell.hasSuffix("'"), shell.count >= 2 {
            result.append(String(shell.dropFirst().dropLast()))
        }
        for json in [
            JSONString.escaped(secret, style: JSONString.Style(controlShortcuts: false, asciiOnly: false)),
            JSONString.escaped(secret),
            JSONString.escaped(secret, style: JSONString.Style(controlShortcuts: true, asciiOnly: true)),
        ] {
            result.append(json)
            result.append(json.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "\\/"))
        }
        result.append(xmlEscaped(secret, apostrophe: "&apos;"))
        result.append(xmlEscaped(secret, apostrophe: "&#39;"))
        if secret.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            for line in secret.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            where line.utf8.count >= minimumLineLength {
                result.append(String(line))
            }
        }
        return result.filter { !$0.isEmpty }
    }

    /// `text` with XML's five special characters escaped.
    static func xmlEscaped(_ text: String, apostrophe: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += apostrophe
            default: out.append(character)
            }
        }
        return out
    }

    /// A redactor that masks nothing.
    public static let none = Redactor(secrets: [])

    /// Whether this redactor has no secrets to mask.
    public var isEmpty: Bool { patterns.isEmpty }

    /// Returns `text` with every occurrence of every secret replaced by `***`.
    public func redact(_ text: String) -> String {
        guard !patterns.isEmpty, !text.isEmpty else { return text }
        var result = text
        // No `String.contains` pre-check: it compares Characters, and would miss a secret whose
        // last scalar is followed by a combining mark in the text, although its bytes are there.
        for pattern in patterns {
            result = Self.replacingOccurrences(of: pattern, in: result)
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
