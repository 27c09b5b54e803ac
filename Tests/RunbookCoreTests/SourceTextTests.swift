import RunbookCore
import Testing

/// A file that is not UTF-8 is refused at the line and column of its first bad byte.
@Suite struct SourceTextTests {
    @Test(arguments: [
        // (bytes before the bad one, the bad bytes, expected line, expected column)
        ("apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: caf", [0xE9], 3, 21),  // Latin-1 é
        ("a: 1\n", [0xFF, 0xFE], 2, 1),
        ("name: \u{00FC}ber-\u{1F600}-", [0xC3], 1, 14),  // a sequence cut short, after multi-byte characters
        ("x: ", [0xED, 0xA0, 0x80], 1, 4),  // an encoded surrogate
        ("x: ", [0xC0, 0xAF], 1, 4),  // an overlong '/'
    ])
    func firstBadByteHasItsPosition(_ before: String, _ bad: [UInt8], _ line: Int, _ column: Int) {
        var diagnostics = Diagnostics()
        let text = SourceText.decode(
            Array(before.utf8) + bad + Array(" more\n".utf8), file: "f.yaml", diagnostics: &diagnostics)
        #expect(text == nil)
        #expect(diagnostics.errors.count == 1)
        #expect(diagnostics.errors.first?.location == SourceLocation(file: "f.yaml", line: line, column: column))
        let first = "0x" + String(bad[0], radix: 16, uppercase: true)
        #expect(diagnostics.errors.first?.message.contains(first) == true, "\(diagnostics.all)")
        #expect(diagnostics.errors.first?.message.contains("save the file as UTF-8") == true)
    }

    @Test func utf8TextIsDecoded() {
        var diagnostics = Diagnostics()
        let text = "name: caf\u{00E9} \u{1F600}\n"
        #expect(SourceText.decode(Array(text.utf8), file: "f.yaml", diagnostics: &diagnostics) == text)
        #expect(diagnostics.all.isEmpty)
    }
}
