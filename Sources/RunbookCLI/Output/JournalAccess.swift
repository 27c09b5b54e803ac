import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution

// The read-side commands (`status`, `history`, `show`, `approve`): opening the journal without
// creating one, resolving run ids, and saying why not.

// MARK: - Errors

/// Prints `runbook: error: MESSAGE` to stderr and returns the exit code to throw.
func reportFailure(_ message: String, exit code: ExitCode = RunbookExit.failed) -> ExitCode {
    Terminal.writeError("runbook: error: \(message)\n")
    return code
}

// MARK: - Opening the journal

/// The state directory and its journal, as the read-side commands use them.
struct JournalAccess {
    let state: StateDirectory
    /// Nil when no run has ever been journaled in this state directory (no journal file).
    let journal: Journal?

    var journalPath: String { state.journalPath }

    /// Resolves `$RUNBOOK_STATE_DIR` (or its defaults) and opens the journal if it exists.
    ///
    /// Never creates a journal: a command that only reads must not leave an empty database behind.
    static func open(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> JournalAccess {
        let state: StateDirectory
        do {
            state = try StateDirectory(environment: environment)
        } catch let failure as StateDirectory.Failure {
            throw reportFailure("\(failure); the state directory holds the journal of every run (RUNBOOK_STATE_DIR selects it)")
        }
        guard FileManager.default.fileExists(atPath: state.journalPath) else {
            return JournalAccess(state: state, journal: nil)
        }
        do {
            let journal = try Journal(path: state.journalPath, redactor: Redactor(secrets: []))
            return JournalAccess(state: state, journal: journal)
        } catch {
            throw reportFailure("cannot open the journal \(state.journalPath): \(error); check that it is a runbook journal and that you can read and write it (RUNBOOK_STATE_DIR selects another state directory)")
        }
    }

    /// The journal, or an error saying that no run was ever started here.
    func requireJournal(for runPrefix: String) throws -> Journal {
        guard let journal else {
            throw reportFailure("no run '\(runPrefix)': the state directory \(state.root) has no journal yet (no run was started with it); if the run was started elsewhere, set RUNBOOK_STATE_DIR to that state directory")
        }
        return journal
    }

    /// The run whose id is `prefix` or uniquely starts with it; prints why not and throws exit 1.
    func resolveRun(_ prefix: String) throws -> RunRecord {
        let journal = try requireJournal(for: prefix)
        do {
            let id = try journal.resolveRunID(prefix: prefix)
            guard let run = try journal.run(id: id) else {
                throw JournalError.runNotFound(id)
            }
            return run
        } catch let error as JournalError {
            switch error {
            case .noRunMatches, .runNotFound:
                throw reportFailure("\(error) in the journal \(journalPath); `runbook history` lists the runs")
            case .ambiguousRunID:
                throw reportFailure("\(error); give more characters of the run id")
            default:
                throw reportFailure("cannot read the journal \(journalPath): \(error)")
            }
        } catch let code as ExitCode {
            throw code
        } catch {
            throw reportFailure("cannot read the journal \(journalPath): \(error)")
        }
    }

    /// Runs a journal read, turning a failure into a message and exit 1.
    func reading<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let code as ExitCode {
            throw code
        } catch {
            throw reportFailure("cannot read \(what) from the journal \(journalPath): \(error)")
        }
    }
}
