import Foundation
import RunbookCore

/// Reads runbook and inventory files, keeping their text for diagnostics.
struct Documents {
    var printer = DiagnosticPrinter()
    var diagnostics = Diagnostics()

    /// The file's text; nil with an error when it cannot be read, is too large or is not UTF-8.
    mutating func read(_ path: String) -> String? {
        let limit = YAMLParser.Limits.standard.maxBytes
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
                diagnostics.error("cannot read '\(path)': \(reason)", at: nil)
                return nil
            }
            defer { try? handle.close() }
            // At most one byte past the limit: a runaway file (or /dev/zero) is not read whole.
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            diagnostics.error("cannot read '\(path)': \(error.localizedDescription)", at: nil)
            return nil
        }
        let start = SourceLocation(file: path, line: 1, column: 1)
        if data.count > limit {
            diagnostics.error(
                "the file is larger than \(limit >> 20) MiB, the most a runbook or inventory may be; split it",
                at: start)
            return nil
        }
        let bytes = [UInt8](data)
        guard let text = SourceText.decode(bytes, file: path, diagnostics: &diagnostics) else {
            // Shown with the caret: the bad bytes as U+FFFD.
            printer.sources[path] = String(decoding: bytes, as: UTF8.self)
            return nil
        }
        printer.sources[path] = text
        return text
    }

    mutating func loadRunbook(_ path: String) -> Runbook? {
        guard let text = read(path) else { return nil }
        return RunbookLoader.load(text: text, file: path, diagnostics: &diagnostics)
    }

    mutating func loadInventory(_ path: String) -> Inventory? {
        guard let text = read(path) else { return nil }
        return InventoryLoader.load(text: text, file: path, registry: .standard, diagnostics: &diagnostics)
    }

    /// The `kind:` a YAML file declares, if it can be read quickly.
    static func declaredKind(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("kind:") {
            return line.dropFirst(5).trimmingCharacters(in: .whitespaces).trimmingCharacters(
                in: CharacterSet(charactersIn: "\"'"))
        }
        return nil
    }

    func printDiagnostics() { printer.print(diagnostics) }
}
