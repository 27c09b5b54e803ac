import Foundation
import RunbookCore

/// Reads runbook and inventory files, keeping their text for diagnostics.
struct Documents {
    var printer = DiagnosticPrinter()
    var diagnostics = Diagnostics()

    mutating func read(_ path: String) -> String? {
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            printer.sources[path] = text
            return text
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it is not readable UTF-8 text" : "no such file"
            diagnostics.error("cannot read '\(path)': \(reason)", at: nil)
            return nil
        }
    }

    mutating func loadRunbook(_ path: String) -> Runbook? {
        guard let text = read(path) else { return nil }
        return RunbookLoader.load(text: text, file: path, diagnostics: &diagnostics)
    }

    mutating func loadInventory(_ path: String) -> Inventory? {
        guard let text = read(path) else { return nil }
        return InventoryLoader.load(text: text, file: path, hostKeys: ActionRegistry.standard.hostKeys, diagnostics: &diagnostics)
    }

    /// The `kind:` a YAML file declares, if it can be read quickly.
    static func declaredKind(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("kind:") {
            return line.dropFirst(5).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        return nil
    }

    func printDiagnostics() { printer.print(diagnostics) }
}
