/// The text of a runbook or inventory file, from its bytes.
public enum SourceText {
    /// The bytes as text; nil, with an error at the line and column of the first byte that is
    /// not UTF-8, when they are not UTF-8.
    ///
    /// Columns count characters (Unicode scalars) as libyaml does, so the position is the one an
    /// editor shows.
    public static func decode(_ bytes: [UInt8], file: String, diagnostics: inout Diagnostics) -> String? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var line = 1
        var column = 1
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error(let length):
                let bad = bytes[offset..<min(bytes.count, offset + max(length, 1))]
                let shown = bad.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
                diagnostics.error(
                    "the file is not UTF-8 text: \(shown) here is not a character in UTF-8; "
                        + "save the file as UTF-8 (for example with `iconv -f latin1 -t utf-8`)",
                    at: SourceLocation(file: file, line: line, column: column))
                return nil
            }
        }
    }
}
