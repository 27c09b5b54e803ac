import RunbookCore

/// What a test expects at one marker.
public struct FindingSpec: Sendable {
    public var marker: String
    public var severity: Diagnostic.Severity
    public var message: String

    /// `message` must be contained in the diagnostic's message.
    public init(_ marker: String, _ message: String, severity: Diagnostic.Severity = .error) {
        self.marker = marker
        self.message = message
        self.severity = severity
    }
}

/// Loads and checks a marked runbook (and optional inventory) the way `runbook validate` does.
public func validate(runbook: MarkedText, file: String = "runbook.yaml", inventory: String? = nil) -> Diagnostics {
    var diagnostics = Diagnostics()
    var loadedInventory: Inventory?
    if let inventory {
        loadedInventory = InventoryLoader.load(text: inventory, file: "inventory.yaml", diagnostics: &diagnostics)
    }
    if let loaded = RunbookLoader.load(text: runbook.text, file: file, diagnostics: &diagnostics) {
        diagnostics.append(contentsOf: RunbookChecker(registry: .builtIn, inventory: loadedInventory).check(loaded))
    }
    return diagnostics
}

/// Compares diagnostics with expectations: each expected one at its marker, and no other
/// errors or warnings. Returns the mismatches, empty when all is as expected.
public func mismatches(
    _ diagnostics: Diagnostics, _ marked: MarkedText, _ specs: [FindingSpec], file: String = "runbook.yaml"
) -> [String] {
    var problems: [String] = []
    var remaining = diagnostics.all.filter { $0.severity != .note }
    for spec in specs {
        guard let position = marked.positions[spec.marker] else {
            problems.append("marker \(spec.marker) is not in the text")
            continue
        }
        let index = remaining.firstIndex {
            $0.severity == spec.severity && $0.location?.file == file && $0.location?.line == position.line
                && $0.location?.column == position.column && $0.message.contains(spec.message)
        }
        if let index {
            remaining.remove(at: index)
        } else {
            problems.append(
                "expected \(spec.severity.rawValue) at \(position.line):\(position.column) (\(spec.marker)) containing \"\(spec.message)\"; got:\n  "
                    + diagnostics.all.map(\.description).joined(separator: "\n  "))
        }
    }
    for extra in remaining {
        problems.append("unexpected: \(extra)")
    }
    return problems
}
