// libyaml through the module Yams builds it in (a dependency of the Yams product): composing
// from its events ourselves is what lets aliases, nesting and size be bounded before anything
// is expanded, and duplicate keys be reported where they are, in one pass.
internal import CYaml

/// Parses YAML text into `YAMLNode`s, reporting syntax errors and every duplicate key.
///
/// The tree is composed from libyaml's events with bounds a hostile file cannot get past: the
/// text's size, the nesting depth, the nodes in the document, and the nodes aliases add (a
/// "billion laughs" of nine levels of nine-fold aliases is 1.5 KB of text and 387 million
/// nodes). An alias that would go past a bound is reported at the alias and nothing is
/// expanded further. A duplicate key is reported at its second occurrence (where the mistake
/// is) and dropped: the first one counts.
public enum YAMLParser {
    /// How much a document may hold.
    public struct Limits: Sendable, Hashable {
        /// The longest text, in UTF-8 bytes.
        public var maxBytes: Int
        /// The most nodes in the document, counting every node an alias expands to.
        public var maxNodes: Int
        /// The most nodes that aliases may add to what is written out.
        public var maxAliasNodes: Int
        /// The deepest nesting of lists and mappings.
        public var maxDepth: Int

        public init(maxBytes: Int, maxNodes: Int, maxAliasNodes: Int, maxDepth: Int) {
            self.maxBytes = maxBytes
            self.maxNodes = maxNodes
            self.maxAliasNodes = maxAliasNodes
            self.maxDepth = maxDepth
        }

        /// 64 MiB, 5 million nodes, 100,000 from aliases, 128 levels: a 50,000-step runbook is
        /// 22 MB and 1.6 million nodes, and nests about 10 levels deep.
        public static let standard = Limits(
            maxBytes: 64 << 20, maxNodes: 5_000_000, maxAliasNodes: 100_000, maxDepth: 128)
    }

    static let duplicateMarker = "__runbook_duplicate_key_"

    /// Whether a key is a renamed duplicate (already reported).
    ///
    /// Duplicates are now dropped when composing; kept so that callers that skip them still compile.
    public static func isDuplicateSentinel(_ key: String) -> Bool {
        // Called for every mapping key: skip the (slow, generic) substring search for keys too
        // short to hold the marker, which is almost all of them.
        key.utf8.count >= duplicateMarker.utf8.count && key.contains(duplicateMarker)
    }

    /// The document's root node, or nil when the text is not YAML (with the errors reported).
    public static func parse(
        _ text: String, file: String, limits: Limits = .standard, diagnostics: inout Diagnostics
    ) -> YAMLNode? {
        let size = text.utf8.count
        if size > limits.maxBytes {
            diagnostics.error(
                "the file is \(size) bytes, more than the \(limits.maxBytes) a runbook or inventory may have; "
                    + "split it, or write what it repeats once",
                at: SourceLocation(file: file, line: 1, column: 1))
            return nil
        }
        if let result = text.utf8.withContiguousStorageIfAvailable({ bytes in
            compose(bytes, text: text, file: file, limits: limits, diagnostics: &diagnostics)
        }) {
            return result
        }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer {
            compose($0, text: text, file: file, limits: limits, diagnostics: &diagnostics)
        }
    }

    // MARK: - Composing from events

    /// A list or mapping being composed.
    private struct Frame {
        var isMapping: Bool
        var location: SourceLocation
        var anchor: String?
        var items: [YAMLNode] = []
        var pairs: [YAMLNode.Pair] = []
        /// The key waiting for its value; `skipValue` when the key was refused.
        var key: (name: String, location: SourceLocation)?
        var skipValue = false
        /// The keys of `pairs` by name, made only for a large mapping (see `location(ofKey:)`).
        var keys: [String: SourceLocation] = [:]
        /// Nodes in this subtree so far, aliases expanded, itself included.
        var nodes = 1

        /// Where `name` is already a key of this mapping: a scan of a small mapping (almost all
        /// of them: a dictionary for each was a tenth of composing), a dictionary for a large one,
        /// filled with the pairs added since it was last asked.
        mutating func location(ofKey name: String) -> SourceLocation? {
            if pairs.count < 12 { return pairs.first { $0.key == name }?.keyLocation }
            for pair in pairs[keys.count...] { keys[pair.key] = pair.keyLocation }
            return keys[name]
        }
    }

    private static func compose(
        _ bytes: UnsafeBufferPointer<UInt8>, text: String, file: String, limits: Limits, diagnostics: inout Diagnostics
    ) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            diagnostics.error("YAML: out of memory", at: SourceLocation(file: file, line: 1, column: 1))
            return nil
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)

        func location(_ mark: yaml_mark_t) -> SourceLocation {
            SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
        }
        func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }

        var stack: [Frame] = []
        var anchors: [String: (node: YAMLNode, nodes: Int)] = [:]
        var root: YAMLNode?
        var documents = 0
        var total = 0
        var fromAliases = 0

        /// Hands a finished node to its parent.
        func deliver(_ node: YAMLNode, nodes: Int) {
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            stack[top].nodes += nodes
            guard stack[top].isMapping else {
                stack[top].items.append(node)
                return
            }
            if stack[top].key == nil, !stack[top].skipValue {
                guard let name = node.scalar else {
                    diagnostics.error(
                        "a mapping key must be a plain name, not \(node.items != nil ? "a list" : "a mapping")",
                        at: node.location)
                    stack[top].skipValue = true
                    return
                }
                stack[top].key = (name, node.location)
                return
            }
            defer {
                stack[top].key = nil
                stack[top].skipValue = false
            }
            guard let key = stack[top].key else { return }
            if let first = stack[top].location(ofKey: key.name) {
                diagnostics.error(
                    "duplicate key '\(key.name)' (first defined at line \(first.line), column \(first.column)); "
                        + "remove one of them",
                    at: key.location)
                return
            }
            stack[top].pairs.append(YAMLNode.Pair(key: key.name, keyLocation: key.location, value: node))
        }

        func counted(_ added: Int, at mark: yaml_mark_t) -> Bool {
            total += added
            if total > limits.maxNodes {
                diagnostics.error(
                    "the document has more than \(limits.maxNodes) values (lists, mappings and scalars); "
                        + "a runbook or inventory this large is refused: split it",
                    at: location(mark))
                return false
            }
            return true
        }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                report(parser, text: text, file: file, diagnostics: &diagnostics)
                return nil
            }
            defer { yaml_event_delete(&event) }
            let at = event.start_mark
            switch event.type {
            case YAML_STREAM_END_EVENT:
                guard let root else {
                    diagnostics.error(
                        "the file is empty: expected a YAML mapping", at: SourceLocation(file: file, line: 1, column: 1)
                    )
                    return nil
                }
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    diagnostics.error(
                        "a second YAML document (after `---`): a runbook or inventory file holds exactly one",
                        at: location(at))
                    return nil
                }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let value = String(
                    decoding: UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length)), as: UTF8.self)
                let style: YAMLNode.ScalarStyle
                switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE, YAML_FOLDED_SCALAR_STYLE: style = .block
                default: style = .plain
                }
                let node = YAMLNode(.scalar(value, style), at: location(at))
                guard counted(1, at: at) else { return nil }
                if let anchor = string(scalar.anchor) { anchors[anchor] = (node, 1) }
                deliver(node, nodes: 1)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                if stack.count >= limits.maxDepth {
                    diagnostics.error(
                        "lists and mappings nested more than \(limits.maxDepth) levels deep; "
                            + "a runbook needs far fewer: "
                            + "flatten this value",
                        at: location(at))
                    return nil
                }
                guard counted(1, at: at) else { return nil }
                let anchor =
                    isMapping ? string(event.data.mapping_start.anchor) : string(event.data.sequence_start.anchor)
                stack.append(Frame(isMapping: isMapping, location: location(at), anchor: anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { continue }
                let node = YAMLNode(
                    frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items), at: frame.location)
                if let anchor = frame.anchor { anchors[anchor] = (node, frame.nodes) }
                deliver(node, nodes: frame.nodes)
            case YAML_ALIAS_EVENT:
                let name = string(event.data.alias.anchor) ?? ""
                guard let anchored = anchors[name] else {
                    diagnostics.error(
                        "alias '*\(name)' names no anchor: an anchor (&\(name)) must come before it", at: location(at))
                    return nil
                }
                fromAliases += anchored.nodes
                if fromAliases > limits.maxAliasNodes {
                    diagnostics.error(
                        "alias '*\(name)' expands to \(anchored.nodes) values, which takes what aliases add past "
                            + "\(limits.maxAliasNodes); write the values out instead, or use fewer aliases",
                        at: location(at))
                    return nil
                }
                guard counted(anchored.nodes, at: at) else { return nil }
                deliver(anchored.node, nodes: anchored.nodes)
            default:
                continue  // stream start, document end
            }
        }
    }

    private static func report(_ parser: yaml_parser_t, text: String, file: String, diagnostics: inout Diagnostics) {
        let problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
        switch parser.error {
        case YAML_READER_ERROR:
            let (line, column) = lineAndColumn(ofByteOffset: Int(parser.problem_offset), in: text)
            diagnostics.error("YAML: \(problem)", at: SourceLocation(file: file, line: line, column: column))
        case YAML_MEMORY_ERROR:
            diagnostics.error("YAML: out of memory", at: SourceLocation(file: file, line: 1, column: 1))
        default:
            let mark = parser.problem_mark
            let line = Int(mark.line) + 1
            if problem.hasPrefix("did not find expected ','"),
                let target = flowTarget(in: text, line: line, before: Int(mark.column) + 1)
            {
                diagnostics.error(
                    "YAML syntax: \(problem): inside `{...}` or `[...]`, `[` starts a list, so a target like "
                        + "\(target.text) must be quoted there: '\(target.text)' (or write the mapping one key per line)",
                    at: SourceLocation(file: file, line: line, column: target.column))
                return
            }
            diagnostics.error(
                "YAML syntax: \(problem)", at: SourceLocation(file: file, line: line, column: Int(mark.column) + 1))
        }
    }

    /// The last `word[...]` (the tool's `role[N]`) on `line` starting before `column` (1-based,
    /// in characters): what a flow mapping or list reads as a word and then a list.
    static func flowTarget(in text: String, line: Int, before column: Int) -> (text: String, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let characters = Array(lines[line - 1])
        func isWord(_ character: Character) -> Bool {
            character.isLetter || character.isNumber || "_-.".contains(character)
        }
        var found: (text: String, column: Int)?
        var index = 0
        while index < characters.count, index < column {
            guard characters[index] == "[", index > 0, isWord(characters[index - 1]) else {
                index += 1
                continue
            }
            var start = index - 1
            while start > 0, isWord(characters[start - 1]) { start -= 1 }
            guard let close = characters[index...].firstIndex(of: "]") else { break }
            found = (String(characters[start...close]), start + 1)
            index = close + 1
        }
        return found
    }

    static func lineAndColumn(ofByteOffset offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for (index, byte) in text.utf8.enumerated() {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}
