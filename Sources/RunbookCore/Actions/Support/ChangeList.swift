/// A change list in glusterfind's output format: one change per line, `TYPE<FS>PATH` or
/// `RENAME<FS>OLD<FS>NEW`, paths relative to the volume root with `%` `space` `newline` written
/// as `%25` `%20` `%0A` (glusterfind's `quote_plus_space_newline`; nothing else is escaped).
///
/// `tree.replay` and `tree.diff` read these lists on the host with the Python decoder in
/// ``TreePrograms``, which follows the same rules; this one is for the types' own checks, the
/// tests and the benchmark, which writes lists with ``encode(_:separator:)``.
public enum ChangeList {
    /// A line's type (glusterfind's `utils.RecordType`).
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        case new = "NEW"
        case modify = "MODIFY"
        case rename = "RENAME"
        case delete = "DELETE"

        /// How many paths a line of this type has.
        public var pathCount: Int { self == .rename ? 2 : 1 }
    }

    /// One decoded line.
    public struct Change: Sendable, Hashable {
        public var kind: Kind
        /// The path (for a rename: the old path), decoded.
        public var path: String
        /// A rename's new path, decoded.
        public var newPath: String?

        public init(_ kind: Kind, _ path: String, to newPath: String? = nil) {
            self.kind = kind
            self.path = path
            self.newPath = newPath
        }
    }

    /// Decodes a whole list. Empty lines are skipped; anything else that is not a line of the
    /// format (an unknown type, a wrong number of fields, an escape glusterfind does not write,
    /// a path that is absolute or has an empty, `.` or `..` component) is an error naming the line.
    ///
    /// Splits on bytes, not `Character`s, so a name ending in `\r` stays apart from its line's
    /// newline (Swift reads `\r\n` as one `Character`). Paths come back as `String`s: bytes that are
    /// not UTF-8 are replaced (the decoder the types run on the host keeps them as bytes).
    public static func decode(_ text: String, separator: UInt8 = UInt8(ascii: " ")) throws(ChangeListError)
        -> [Change]
    {
        var result: [Change] = []
        let lines = Array(text.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where !line.isEmpty {
            result.append(try decodeLine(Array(line), number: index + 1, separator: separator))
        }
        return result
    }

    /// Decodes one line (its bytes, without the newline).
    public static func decodeLine(_ line: [UInt8], number: Int, separator: UInt8 = UInt8(ascii: " "))
        throws(ChangeListError) -> Change
    {
        let fields = line.split(separator: separator, omittingEmptySubsequences: false)
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        guard let first = fields.first, let kind = Kind(rawValue: String(decoding: first, as: UTF8.self)) else {
            throw ChangeListError(line: number, text: text, reason: "unknown type (NEW MODIFY RENAME DELETE)")
        }
        guard fields.count == kind.pathCount + 1 else {
            let shape = kind == .rename ? "RENAME OLD NEW" : "\(kind.rawValue) PATH"
            throw ChangeListError(
                line: number, text: text, reason: "\(fields.count - 1) path field(s), expected \(shape)")
        }
        var paths: [String] = []
        for field in fields.dropFirst() {
            guard let path = decodePath(Array(field)) else {
                throw ChangeListError(line: number, text: text, reason: "an escape other than %20 %0A %25")
            }
            guard isInside(path) else {
                throw ChangeListError(line: number, text: text, reason: "not a relative path inside the tree")
            }
            paths.append(path)
        }
        return Change(kind, paths[0], to: paths.count > 1 ? paths[1] : nil)
    }

    /// `%20` → space, `%0A` → newline, `%25` → `%`; nil for any other `%`.
    public static func decodePath(_ field: [UInt8]) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(field.count)
        var index = 0
        while index < field.count {
            let byte = field[index]
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                index += 1
                continue
            }
            guard index + 2 < field.count else { return nil }
            let code = String(decoding: field[(index + 1)...(index + 2)], as: UTF8.self)
            switch code {
            case "20": bytes.append(UInt8(ascii: " "))
            case "0A": bytes.append(UInt8(ascii: "\n"))
            case "25": bytes.append(UInt8(ascii: "%"))
            default: return nil
            }
            index += 3
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `%` → `%25`, space → `%20`, newline → `%0A` (what glusterfind writes without `--no-encode`).
    public static func encodePath(_ path: String) -> String {
        var out = ""
        out.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            switch scalar {
            case "%": out += "%25"
            case " ": out += "%20"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The list as glusterfind writes it: one line per change, each ending in a newline.
    public static func encode(_ changes: [Change], separator: Character = " ") -> String {
        var out = ""
        for change in changes {
            out += change.kind.rawValue
            out.append(separator)
            out += encodePath(change.path)
            if let newPath = change.newPath {
                out.append(separator)
                out += encodePath(newPath)
            }
            out += "\n"
        }
        return out
    }

    /// Whether a decoded path stays inside the tree: relative, and no empty, `.` or `..` component.
    public static func isInside(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    /// How many lines of each type.
    public static func counts(_ changes: [Change]) -> [Kind: Int] {
        var counts: [Kind: Int] = [:]
        for change in changes { counts[change.kind, default: 0] += 1 }
        return counts
    }
}

/// A line that is not a line of glusterfind's change-list format.
public struct ChangeListError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based.
    public var line: Int
    /// Its first 200 bytes.
    public var text: String
    public var reason: String

    public var description: String { "change list line \(line) (\(text.debugDescription)): \(reason)" }
}
