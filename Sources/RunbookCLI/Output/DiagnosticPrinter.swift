import RunbookCore

/// Prints diagnostics as `path:line:col: error: message`, with the source line and a caret
/// under the column when a person is reading.
struct DiagnosticPrinter {
    var sources: [String: String] = [:]
    var showSnippets: Bool
    var color: Bool

    init(showSnippets: Bool = Terminal.stderrIsTTY, color: Bool = Terminal.colorEnabled(forStderr: true)) {
        self.showSnippets = showSnippets
        self.color = color
    }

    func format(_ diagnostic: Diagnostic) -> String {
        let severity: String
        switch diagnostic.severity {
        case .error: severity = color ? "\u{1B}[1;31merror\u{1B}[0m" : "error"
        case .warning: severity = color ? "\u{1B}[1;33mwarning\u{1B}[0m" : "warning"
        case .note: severity = color ? "\u{1B}[1;36mnote\u{1B}[0m" : "note"
        }
        var text: String
        if let location = diagnostic.location {
            text = "\(location): \(severity): \(diagnostic.message)\n"
            if showSnippets, let source = sources[location.file] {
                let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
                if location.line >= 1, location.line <= lines.count {
                    let line = String(lines[location.line - 1])
                    text += "  \(line)\n"
                    let prefix = line.unicodeScalars.prefix(max(0, location.column - 1)).map { $0 == "\t" ? "\t" : " " }
                        .joined()
                    text += "  \(prefix)\(color ? "\u{1B}[1;32m^\u{1B}[0m" : "^")\n"
                }
            }
        } else {
            text = "runbook: \(severity): \(diagnostic.message)\n"
        }
        return text
    }

    func print(_ diagnostics: Diagnostics) {
        for diagnostic in diagnostics.sorted { Terminal.writeError(format(diagnostic)) }
    }

    /// "2 errors and 1 warning", for the closing line.
    static func summary(_ diagnostics: Diagnostics) -> String {
        let errors = diagnostics.errors.count
        let warnings = diagnostics.warnings.count
        var parts: [String] = []
        if errors > 0 { parts.append("\(errors) error\(errors == 1 ? "" : "s")") }
        if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
        return parts.isEmpty ? "no problems" : parts.joined(separator: " and ")
    }
}
