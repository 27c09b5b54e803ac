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
                -i, targets, vars and roles are also checked against that inventory; without -i, \
                against the inventories among the files (`validate RUNBOOK INVENTORY`). Exit 0 when \
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
            var given: Inventory?
            if let inventory {
                given = documents.loadInventory(inventory)
            }
            // Inventories first: without -i, the runbooks are checked against every inventory
            // among the files (`validate RUNBOOK INVENTORY` cross-checks them as -i does).
            var summaries: [String: String] = [:]
            var runbooks: [(file: String, text: String)] = []
            var inventories: [Inventory] = []
            for file in files {
                guard let text = documents.read(file) else { continue }
                guard Documents.declaredKind(text) == "Inventory" else {
                    runbooks.append((file, text))
                    continue
                }
                let before = documents.diagnostics.errors.count
                if let inventory = InventoryLoader.load(
                    text: text, file: file, registry: registry, diagnostics: &documents.diagnostics),
                    documents.diagnostics.errors.count == before
                {
                    inventories.append(inventory)
                    summaries[file] =
                        "\(file): ok (inventory '\(inventory.name.value)', \(inventory.hosts.count) hosts)"
                }
            }
            let against: [Inventory?] =
                inventory != nil ? [given] : (inventories.isEmpty ? [nil] : inventories.map { $0 })
            for (file, text) in runbooks {
                let before = documents.diagnostics.errors.count
                guard let runbook = RunbookLoader.load(text: text, file: file, diagnostics: &documents.diagnostics)
                else { continue }
                for loadedInventory in against {
                    let checker = RunbookChecker(registry: registry, inventory: loadedInventory)
                    documents.diagnostics.append(contentsOf: checker.check(runbook))
                    guard let loadedInventory else { continue }
                    for role in runbook.roles {
                        let count = loadedInventory.hosts(inRole: role.name).count
                        if count < role.min {
                            documents.diagnostics.error(
                                "inventory '\(loadedInventory.name.value)' has \(count) host\(count == 1 ? "" : "s") with role '\(role.name)'; runbook '\(runbook.name.value)' needs at least \(role.min)",
                                at: role.location)
                            RoleTypos.report(
                                role: role, count: count, runbook: runbook, inventory: loadedInventory,
                                diagnostics: &documents.diagnostics)
                        } else if let max = role.max, count > max {
                            // As `plan` refuses it (Compiler), so the pair `validate` passes plans.
                            documents.diagnostics.error(
                                "inventory '\(loadedInventory.name.value)' has \(count) hosts with role '\(role.name)'; runbook '\(runbook.name.value)' allows at most \(max)",
                                at: role.location)
                        }
                    }
                }
                if documents.diagnostics.errors.count == before {
                    let checked = against.compactMap { $0.map { "'\($0.name.value)'" } }
                    summaries[file] =
                        "\(file): ok (runbook '\(runbook.name.value)', \(runbook.steps.count) steps, \(runbook.preconditions.count) preconditions"
                        + (checked.isEmpty ? ")" : "; checked against inventory \(checked.joined(separator: ", ")))")
                }
            }
            let ordered = files.compactMap { summaries[$0] }
            documents.printDiagnostics()
            for summary in ordered { Terminal.write(summary + "\n") }
            if documents.diagnostics.hasErrors {
                Terminal.writeError("runbook: \(DiagnosticPrinter.summary(documents.diagnostics)); nothing was run\n")
                throw RunbookExit.invalid
            }
        }
    }
}
