import Yams

/// Parses YAML text into `YAMLNode`s, reporting syntax errors and every duplicate key.
///
/// Yams stops at the first duplicate key and points at its first occurrence. To report all of
/// them at the second occurrence (where the mistake is), the duplicate is located in the text,
/// renamed to a sentinel in a private copy, and the text is composed again.
public enum YAMLParser {
    static let duplicateMarker = "__runbook_duplicate_key_"

    /// Whether a key is a renamed duplicate (already reported).
    public static func isDuplicateSentinel(_ key: String) -> Bool {
        // Called for every mapping key: skip the (slow, generic) substring search for keys too
        // short to hold the marker, which is almost all of them.
        key.utf8.count >= duplicateMarker.utf8.count && key.contains(duplicateMarker)
    }

    /// The document's root node, or nil when the text is not YAML (with the errors reported).
    public static func parse(_ text: String, file: String, diagnostics: inout Diagnostics) -> YAMLNode? {
        var working = text
        for attempt in 0..<200 {
            do {
                // The basic resolver: scalars keep their text (we type them ourselves), and no regular
                // expression runs per scalar (Yams resolves tags when it hashes keys for duplicates).
                guard let node = try Yams.compose(yaml: working, .basic) else {
                    diagnostics.error("the file is empty: expected a YAML mapping", at: SourceLocation(file: file, line: 1, column: 1))
                    return nil
                }
                return convert(node, file: file, diagnostics: &diagnostics)
            } catch let error as YamlError {
                switch error {
                case .duplicatedKeysInMapping(let keys, let context):
                    guard let key = keys.sorted().first,
                        let found = locateDuplicate(of: key, firstAt: context.mark, in: working)
                    else {
                        let location = SourceLocation(file: file, line: context.mark.line, column: context.mark.column)
                        diagnostics.error("duplicate key \(keys.map { "'\($0)'" }.joined(separator: ", ")) in this mapping", at: location)
                        return nil
                    }
                    diagnostics.error(
                        "duplicate key '\(key)' (first defined at line \(context.mark.line), column \(context.mark.column)); remove one of them",
                        at: SourceLocation(file: file, line: found.line, column: found.column))
                    working = rename(keyAt: found, length: key.unicodeScalars.count, to: "\(key)\(duplicateMarker)\(attempt)", in: working)
                case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                    .composer(_, let problem, let mark, _):
                    diagnostics.error("YAML syntax: \(problem)", at: SourceLocation(file: file, line: mark.line, column: mark.column))
                    return nil
                case .reader(let problem, let offset, _, _):
                    let (line, column) = lineAndColumn(ofByteOffset: offset ?? 0, in: text)
                    diagnostics.error("YAML: \(problem)", at: SourceLocation(file: file, line: line, column: column))
                    return nil
                default:
                    diagnostics.error("YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
                    return nil
                }
            } catch {
                diagnostics.error("YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
                return nil
            }
        }
        return nil
    }

    // MARK: - Conversion

    private static func convert(_ node: Node, file: String, diagnostics: inout Diagnostics) -> YAMLNode {
        let location = node.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) }
            ?? SourceLocation(file: file, line: 1, column: 1)
        switch node {
        case .scalar(let scalar):
            let style: YAMLNode.ScalarStyle
            switch scalar.style {
            case .singleQuoted: style = .singleQuoted
            case .doubleQuoted: style = .doubleQuoted
            case .literal, .folded: style = .block
            default: style = .plain
            }
            return YAMLNode(.scalar(scalar.string, style), at: location)
        case .sequence(let sequence):
            return YAMLNode(.sequence(sequence.map { convert($0, file: file, diagnostics: &diagnostics) }), at: location)
        case .mapping(let mapping):
            var pairs: [YAMLNode.Pair] = []
            pairs.reserveCapacity(mapping.count)
            for (key, value) in mapping {
                let keyLocation = key.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) } ?? location
                guard let name = key.scalar?.string else {
                    diagnostics.error("a mapping key must be a plain name, not \(key.sequence != nil ? "a list" : "a mapping")", at: keyLocation)
                    continue
                }
                pairs.append(YAMLNode.Pair(key: name, keyLocation: keyLocation, value: convert(value, file: file, diagnostics: &diagnostics)))
            }
            return YAMLNode(.mapping(pairs), at: location)
        case .alias(let alias):
            let mark = alias.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) } ?? location
            diagnostics.error("YAML aliases are not supported in runbooks; write the value out", at: mark)
            return YAMLNode(.scalar("", .plain), at: mark)
        }
    }

    // MARK: - Locating duplicates in the text

    struct TextPosition { var line: Int; var column: Int }

    /// Finds the second occurrence of `key` in the mapping whose first occurrence is at `first`.
    static func locateDuplicate(of key: String, firstAt first: Mark, in text: String) -> TextPosition? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        guard first.line >= 1, first.line <= lines.count else { return nil }
        let keyScalars = Array(key.unicodeScalars)
        let column = first.column - 1  // 0-based

        func keyMatches(_ line: [Unicode.Scalar], at index: Int) -> Bool {
            guard index >= 0, index + keyScalars.count <= line.count else { return false }
            guard Array(line[index..<index + keyScalars.count]) == keyScalars else { return false }
            var rest = index + keyScalars.count
            while rest < line.count, line[rest] == " " { rest += 1 }
            return rest < line.count && line[rest] == ":"
        }

        // A flow mapping: the duplicate is later on the same line, after '{' or ','.
        let firstLine = lines[first.line - 1]
        var index = column + keyScalars.count
        while index < firstLine.count {
            if firstLine[index] == "," || firstLine[index] == "{" {
                var start = index + 1
                while start < firstLine.count, firstLine[start] == " " { start += 1 }
                if keyMatches(firstLine, at: start) { return TextPosition(line: first.line, column: start + 1) }
            }
            index += 1
        }
        // A block mapping: later lines indented to the same column, until one is indented less.
        var lineIndex = first.line
        while lineIndex < lines.count {
            let line = lines[lineIndex]
            let indent = line.prefix { $0 == " " }.count
            let isBlank = indent == line.count || line[indent] == "#"
            if !isBlank {
                if indent < column { return nil }
                if indent == column, keyMatches(line, at: column) {
                    return TextPosition(line: lineIndex + 1, column: column + 1)
                }
            }
            lineIndex += 1
        }
        return nil
    }

    static func rename(keyAt position: TextPosition, length: Int, to replacement: String, in text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        let index = position.column - 1
        lines[position.line - 1].replaceSubrange(index..<index + length, with: Array(replacement.unicodeScalars))
        return lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
    }

    static func lineAndColumn(ofByteOffset offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for (index, byte) in text.utf8.enumerated() {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }
}
