import ArgumentParser
import RunbookCore

extension RunbookCommand {
    /// `runbook validate FILE... [-i INV]`.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check runbooks (and inventories) and print every problem found.",
            discussion: """
                Each problem is printed as `path:line:col: error: message`; on a terminal the line \
                and a caret follow. Files whose `kind:` is Inventory are checked as inventories. With \
                -i, targets, vars and roles are also checked against that inventory. Exit 0 when \
                there are no errors (warnings allowed), 2 otherwise.
                """)

        @Argument(help: "Runbook (or inventory) files to check.", completion: Completions.files)
        var files: [String]

        @Option(
            name: [.customShort("i"), .long], help: "Inventory to check the runbooks against.",
            completion: Completions.files)
        var inventory: String?

        mutating func run() throws {
            var documents = Documents()
            let registry = ActionRegistry.standard
            var loadedInventory: Inventory?
            if let inventory {
                loadedInventory = documents.loadInventory(inventory)
            }
            var summaries: [String] = []
            for file in files {
                guard let text = documents.read(file) else { continue }
                let before = documents.diagnostics.errors.count
                if Documents.declaredKind(text) == "Inventory" {
                    if let inventory = InventoryLoader.load(
                        text: text, file: file, hostKeys: registry.hostKeys, diagnostics: &documents.diagnostics),
                        documents.diagnostics.errors.count == before
                    {
                        summaries.append(
                            "\(file): ok (inventory '\(inventory.name.value)', \(inventory.hosts.count) hosts)")
                    }
                    continue
                }
                guard let runbook = RunbookLoader.load(text: text, file: file, diagnostics: &documents.diagnostics)
                else { continue }
                let checker = RunbookChecker(registry: registry, inventory: loadedInventory)
                documents.diagnostics.append(contentsOf: checker.check(runbook))
                if let loadedInventory {
                    for role in runbook.roles {
                        let count = loadedInventory.hosts(inRole: role.name).count
                        if count < role.min {
                            documents.diagnostics.error(
                                "inventory '\(loadedInventory.name.value)' has \(count) host\(count == 1 ? "" : "s") with role '\(role.name)'; runbook '\(runbook.name.value)' needs at least \(role.min)",
                                at: role.location)
                        }
                    }
                }
                if documents.diagnostics.errors.count == before {
                    summaries.append(
                        "\(file): ok (runbook '\(runbook.name.value)', \(runbook.steps.count) steps, \(runbook.preconditions.count) preconditions)"
                    )
                }
            }
            documents.printDiagnostics()
            for summary in summaries { Terminal.write(summary + "\n") }
            if documents.diagnostics.hasErrors {
                Terminal.writeError("runbook: \(DiagnosticPrinter.summary(documents.diagnostics)); nothing was run\n")
                throw RunbookExit.invalid
            }
        }
    }
}
