import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime

/// A runbook and inventory read from disk and compiled: what `plan`, `run` and `resume` start from.
struct RunInputs {
    var runbookPath: String
    var runbookText: String
    var inventoryPath: String
    var inventoryText: String
    var plan: Plan
    var documents: Documents

    /// Loads and compiles; prints diagnostics and throws exit 2 when anything is invalid.
    static func load(
        runbook path: String, inventory inventoryPath: String, mode: String?, params: [(name: String, value: String)],
        runID: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> RunInputs {
        var documents = Documents()
        let runbook = documents.loadRunbook(path)
        let inventory = documents.loadInventory(inventoryPath)
        guard let runbook, let inventory, !documents.diagnostics.hasErrors else {
            documents.printDiagnostics()
            Terminal.writeError("runbook: \(DiagnosticPrinter.summary(documents.diagnostics)); nothing was run\n")
            throw RunbookExit.invalid
        }
        let request = Compiler.Request(
            runbook: runbook, inventory: inventory, mode: mode, params: params,
            environment: environment, runID: runID)
        guard let plan = Compiler(registry: .standard).compile(request, diagnostics: &documents.diagnostics) else {
            documents.printDiagnostics()
            Terminal.writeError("runbook: \(DiagnosticPrinter.summary(documents.diagnostics)); nothing was run\n")
            throw RunbookExit.invalid
        }
        documents.printDiagnostics()
        return RunInputs(
            runbookPath: path, runbookText: documents.printer.sources[path] ?? "", inventoryPath: inventoryPath,
            inventoryText: documents.printer.sources[inventoryPath] ?? "", plan: plan, documents: documents)
    }

    /// What the run controller journals and runs.
    var runDocuments: RunDocuments {
        RunDocuments(
            runbookPath: runbookPath, runbookText: runbookText, inventoryPath: inventoryPath,
            inventoryText: inventoryText, plan: plan)
    }

    static func sha256(_ text: String) -> String { RunDocuments.sha256(text) }

    /// A path as given, made absolute against the working directory (``RunDocuments/absolute(_:)``).
    static func absolute(_ path: String) -> String { RunDocuments.absolute(path) }

    func planHash(facts: [String: String]) -> String { runDocuments.planHash(facts: facts) }

    /// The SHA-256 of the runbook and inventory text, as saved and journaled plans record them.
    var documentInputs: PlanDocument.Inputs { runDocuments.documentInputs }
}

/// The state directory and its journal, opened for a command.
struct StateContext {
    var directory: StateDirectory
    var journal: Journal

    static func open(redactor: Redactor) throws -> StateContext {
        let environment = ProcessInfo.processInfo.environment
        let directory: StateDirectory
        do {
            directory = try StateDirectory(environment: environment)
        } catch {
            if let resolved = try? StateDirectory.resolved(environment: environment), resolved.diskIsFull {
                throw reportFailure(resolved.diskFullMessage)
            }
            throw reportFailure(
                "cannot use the state directory: \(error); set RUNBOOK_STATE_DIR to a directory you can write")
        }
        do {
            let journal = try Journal(path: directory.journalPath, redactor: redactor)
            return StateContext(directory: directory, journal: journal)
        } catch {
            throw reportFailure(JournalAccess.openFailure(error, state: directory, writing: true))
        }
    }

    /// The run whose id starts with `prefix`, for `command` (`resume`, `roll back`) to act on, once
    /// its event chain and the rows it acts on are checked: what was changed outside runbook is not
    /// acted on.
    func intactRun(prefix: String, for command: String) throws -> RunRecord {
        let runID: String
        do { runID = try journal.resolveRunID(prefix: prefix) } catch {
            Terminal.writeError("runbook: error: \(error)\nSee `runbook history` for run ids.\n")
            throw RunbookExit.failed
        }
        guard let record = try journal.run(id: runID) else { throw RunbookExit.failed }
        let what: String
        switch try journal.verifyChain(runID: runID) {
        case .ok: return record
        case .broken(let seq, let reason): what = "its event log is broken at event \(seq): \(reason)"
        case .rowEdited(let row): what = ChainVerification.rowEditedReason(row)
        }
        throw reportFailure(
            "will not \(command) run \(runID): in its journal \(journal.path), \(what). The journal no longer "
                + "says reliably what ran, so acting on it could apply a step twice or skip one. Find out who "
                + "changed the file (restore it from a backup if you have one), check the world's state with "
                + "`runbook plan \(ShellQuoting.quote(record.runbookPath)) -i \(ShellQuoting.quote(record.inventoryPath))"
                + "\(SuggestedCommand.inputs(of: record))`, and start a new run with `runbook run` (see `runbook show \(runID)` for what the journal says happened)"
        )
    }
}
