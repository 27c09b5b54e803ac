import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A parsed XML element: name, attributes, direct text and children, in document order.
///
/// Gluster's `--xml` output is small, so the whole document is read into this tree and walked
/// with `child(_:)` / `children(_:)` / `text(_:)` instead of callbacks.
public struct XMLTree: Sendable, Hashable {
    /// The element's tag name.
    public var name: String
    /// Its attributes.
    public var attributes: [String: String]
    /// The text directly inside it (not its children's), whitespace trimmed.
    public var text: String
    /// Its child elements, in document order.
    public var children: [XMLTree]

    /// Creates an element.
    public init(name: String, attributes: [String: String] = [:], text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    /// The first child element named `name`.
    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// Every child element named `name`.
    public func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The text of the first child named one of `names` (the first name that exists wins).
    public func text(_ names: String...) -> String? {
        for name in names { if let node = child(name) { return node.text } }
        return nil
    }

    /// The element at a `/`-separated path of child names, e.g. `geoRep/config`.
    public func path(_ path: String) -> XMLTree? {
        var node: XMLTree? = self
        for part in path.split(separator: "/") { node = node?.child(String(part)) }
        return node
    }

    /// Parses a document; nil when the text is not well-formed XML.
    public static func parse(_ text: String) -> XMLTree? {
        guard let data = text.data(using: .utf8), !data.isEmpty else { return nil }
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }
}

/// Builds an `XMLTree` from `XMLParser` callbacks.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLTree] = []
    var texts: [String] = []
    var root: XMLTree?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
        stack.append(XMLTree(name: elementName, attributes: attributeDict))
        texts.append("")
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !texts.isEmpty else { return }
        texts[texts.count - 1] += string
    }

    func parser(_ parser: XMLParser, foundCDATA block: Data) {
        guard !texts.isEmpty else { return }
        texts[texts.count - 1] += String(decoding: block, as: UTF8.self)
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
    ) {
        guard var node = stack.popLast(), let text = texts.popLast() else { return }
        node.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }
}
