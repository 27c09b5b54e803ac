/// Text with emoji markers (1️⃣ … 9️⃣) where diagnostics must point, as swift-format's tests do.
///
/// The markers are removed; each one's 1-based line and column (in Unicode scalars, as libyaml
/// counts) is remembered, so a test states the position by writing the marker in place.
public struct MarkedText: Sendable {
    public static let markers = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣"]

    public let text: String
    public let positions: [String: (line: Int, column: Int)]

    public init(_ marked: String) {
        var clean = ""
        var positions: [String: (line: Int, column: Int)] = [:]
        var line = 1
        var column = 1
        var index = marked.startIndex
        outer: while index < marked.endIndex {
            for marker in Self.markers where marked[index...].hasPrefix(marker) {
                positions[marker] = (line, column)
                index = marked.index(index, offsetBy: marker.count)
                continue outer
            }
            let character = marked[index]
            clean.append(character)
            if character == "\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
            index = marked.index(after: index)
        }
        self.text = clean
        self.positions = positions
    }
}
