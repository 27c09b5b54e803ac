import Foundation
import Testing

@testable import RunbookCore

/// The golden vectors of the one JSON string escaper: the bytes the journal's hash chain hashes,
/// so none may change (a change is a new chain version).
@Suite struct JSONStringTests {
    struct Vector: Sendable, CustomStringConvertible {
        var text: String
        /// `.canonical`: what every writer writes and the chain hashes.
        var canonical: String
        /// Without `\b` `\f` (`\u0008` `\u000c`), a spelling the redactor also masks.
        var noShortcuts: String
        /// Everything above U+007E escaped (Python's `ensure_ascii=True`), also masked.
        var asciiOnly: String
        var description: String { text.debugDescription }

        init(_ text: String, _ canonical: String, noShortcuts: String? = nil, asciiOnly: String? = nil) {
            self.text = text
            self.canonical = canonical
            self.noShortcuts = noShortcuts ?? canonical
            self.asciiOnly = asciiOnly ?? canonical
        }
    }

    static let vectors: [Vector] = [
        Vector("plain text", "plain text"),
        Vector("", ""),
        Vector("\"", #"\""#),
        Vector("\\", #"\\"#),
        Vector("a/b", "a/b"),
        Vector("\n\r\t", #"\n\r\t"#),
        Vector("\u{08}", #"\b"#, noShortcuts: #"\u0008"#),
        Vector("\u{0C}", #"\f"#, noShortcuts: #"\u000c"#),
        Vector("\u{00}\u{01}\u{0B}\u{0E}\u{1B}\u{1F}", #"\u0000\u0001\u000b\u000e\u001b\u001f"#),
        Vector(" ~", " ~"),
        Vector("\u{7F}", "\u{7F}", asciiOnly: #"\u007f"#),
        Vector("\u{80}é", "\u{80}é", asciiOnly: #"\u0080\u00e9"#),
        Vector("\u{2028}\u{2029}", "\u{2028}\u{2029}", asciiOnly: #"\u2028\u2029"#),
        // Not first: Foundation's JSONSerialization drops a leading BOM when it decodes.
        Vector("a\u{FEFF}\u{FFFF}", "a\u{FEFF}\u{FFFF}", asciiOnly: #"a\ufeff\uffff"#),
        Vector("\u{1F600}", "\u{1F600}", asciiOnly: #"\ud83d\ude00"#),
        Vector("\u{10000}\u{10FFFF}", "\u{10000}\u{10FFFF}", asciiOnly: #"\ud800\udc00\udbff\udfff"#),
        Vector("e\u{301}", "e\u{301}", asciiOnly: #"e\u0301"#),
        Vector(
            "q\"b\\s/\u{08}|\u{0C}|\u{2028}|\u{1F600}|\u{01}|\u{7F}",
            "q\\\"b\\\\s/\\b|\\f|\u{2028}|\u{1F600}|\\u0001|\u{7F}",
            noShortcuts: "q\\\"b\\\\s/\\u0008|\\u000c|\u{2028}|\u{1F600}|\\u0001|\u{7F}",
            asciiOnly: #"q\"b\\s/\b|\f|\u2028|\ud83d\ude00|\u0001|\u007f"#),
    ]

    @Test(arguments: vectors) func theEscaperSpellsEachVectorSo(_ vector: Vector) {
        #expect(JSONString.escaped(vector.text) == vector.canonical)
        #expect(JSONString.quoted(vector.text) == "\"" + vector.canonical + "\"")
        #expect(Array(JSONString.quoted(vector.text).utf8) == Array(("\"" + vector.canonical + "\"").utf8))
        let noShortcuts = JSONString.Style(controlShortcuts: false, asciiOnly: false)
        #expect(JSONString.escaped(vector.text, style: noShortcuts) == vector.noShortcuts)
        let asciiOnly = JSONString.Style(controlShortcuts: true, asciiOnly: true)
        #expect(JSONString.escaped(vector.text, style: asciiOnly) == vector.asciiOnly)
        var bytes: [UInt8] = []
        var text = vector.text
        text.withUTF8 { JSONString.appendCanonical(utf8: $0, to: &bytes) }
        #expect(bytes == Array(vector.canonical.utf8))
    }

    /// Each spelling is JSON that decodes back to the text.
    @Test(arguments: vectors) func eachSpellingDecodesBack(_ vector: Vector) throws {
        for spelled in [vector.canonical, vector.noShortcuts, vector.asciiOnly] {
            let decoded =
                try JSONSerialization.jsonObject(
                    with: Data(("\"" + spelled + "\"").utf8), options: [.fragmentsAllowed]) as? String
            #expect(decoded == vector.text, "\(spelled.debugDescription)")
        }
    }

    /// The value renderer, the streaming encoder and the redactor write the same bytes.
    @Test(arguments: vectors) func everyWriterSpellsItTheSame(_ vector: Vector) throws {
        #expect(Value.list([.string(vector.text)]).renderedForText == "[\"" + vector.canonical + "\"]")
        #expect(
            Value.map([vector.text: .string(vector.text)]).renderedForText
                == "{\"" + vector.canonical + "\": \"" + vector.canonical + "\"}")
        let encoded = try StreamingJSONEncoder().encode([vector.text])
        #expect(encoded == Array(("[\"" + vector.canonical + "\"]").utf8))
        let redactor = Redactor(secrets: ["s3cr3t-value"])
        let masked = redactor.redactJSON("{\"k\":" + JSONString.quoted("s3cr3t-value" + vector.text) + "}")
        #expect(masked == "{\"k\":\"" + Redactor.mask + vector.canonical + "\"}")
        if !vector.text.isEmpty {
            let spellings = Redactor.spellings(of: vector.text)
            for spelled in [vector.canonical, vector.noShortcuts, vector.asciiOnly] {
                #expect(spellings.contains(spelled), "\(spelled.debugDescription)")
            }
        }
    }

    /// A Swift `String` cannot hold a lone surrogate: the UTF-8 of one (here U+D800) decodes to
    /// U+FFFD replacement characters, which are written as they are.
    @Test func aLoneSurrogateCannotReachTheEscaper() {
        let text = String(decoding: [0x61, 0xED, 0xA0, 0x80, 0x62] as [UInt8], as: UTF8.self)
        #expect(text.unicodeScalars.first == "a" && text.unicodeScalars.last == "b")
        #expect(text.unicodeScalars.dropFirst().dropLast().allSatisfy { $0 == "\u{FFFD}" })
        #expect(JSONString.escaped(text) == text)
        let replacements = text.unicodeScalars.count - 2
        #expect(
            JSONString.escaped(text, style: JSONString.Style(controlShortcuts: true, asciiOnly: true))
                == "a" + String(repeating: #"\ufffd"#, count: replacements) + "b")
    }
}
