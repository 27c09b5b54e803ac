/// POSIX shell quoting for building command lines that a remote `sh` will re-split.
public enum ShellQuoting {
    /// Quotes one word for a POSIX shell.
    ///
    /// Words made only of `[A-Za-z0-9_@%+=:,./-]` are returned unchanged; the
    /// empty string becomes `''`; anything else is wrapped in single quotes,
    /// with each embedded `'` written as `'\''`.
    public static func quote(_ s: String) -> String {
        if s.isEmpty {
            return "''"
        }
        if s.unicodeScalars.allSatisfy(isSafe) {
            return s
        }
        return "'" + s.replacingAll("'", with: "'\\''") + "'"
    }

    /// Quotes a word that stands in command position (the program name).
    ///
    /// Unlike ``quote(_:)``, this also quotes words a shell would not treat
    /// as a plain program name: ones containing `=` (which a shell reads as an
    /// assignment) and reserved words such as `if` or `!`.
    public static func quoteCommandWord(_ s: String) -> String {
        if s.contains("=") || reservedWords.contains(s) {
            return "'" + s.replacingAll("'", with: "'\\''") + "'"
        }
        return quote(s)
    }

    /// Whether `name` can be used as a shell variable name (`K=V` prefix).
    public static func isValidVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        guard first == "_" || isASCIILetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isASCIILetter($0) || isASCIIDigit($0) }
    }

    private static let reservedWords: Set<String> = [
        "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for",
        "if", "in", "then", "until", "while", "function", "select", "time", "[[", "]]",
    ]

    private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }

    private static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool {
        c >= "0" && c <= "9"
    }

    private static func isSafe(_ c: Unicode.Scalar) -> Bool {
        if isASCIILetter(c) || isASCIIDigit(c) {
            return true
        }
        switch c {
        case "_", "@", "%", "+", "=", ":", ",", ".", "/", "-":
            return true
        default:
            return false
        }
    }
}

extension String {
    /// Replaces every occurrence of `target` (no Foundation needed).
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(count)
        for ch in self {
            if ch == target {
                out += replacement
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
