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
    /// Without `writable` nothing is written at all (not even the state directory's mode), so
    /// `status`, `history` and `show` work on a full disk and on a read-only journal.
    static func open(environment: [String: String] = ProcessInfo.processInfo.environment, writable: Bool = false) throws
        -> JournalAccess
    {
        let state: StateDirectory
        do {
            state =
                writable
                ? try StateDirectory(environment: environment) : try StateDirectory.resolved(environment: environment)
        } catch let failure as StateDirectory.Failure {
            if let resolved = try? StateDirectory.resolved(environment: environment), resolved.diskIsFull {
                throw reportFailure(resolved.diskFullMessage)
            }
            throw reportFailure(
                "\(failure); the state directory holds the journal of every run (RUNBOOK_STATE_DIR selects it)")
        }
        guard FileManager.default.fileExists(atPath: state.journalPath) else {
            return JournalAccess(state: state, journal: nil)
        }
        do {
            let journal = try Journal(
                path: state.journalPath, redactor: Redactor(secrets: []), access: writable ? .readWrite : .readOnly)
            if let bytes = journal.unreadLogBytes {
                let why = state.diskIsFull ? " (the disk is full)" : ""
                Terminal.writeError(
                    "runbook: warning: read \(state.journalPath) without its log (\(bytes) bytes in "
                        + "\(state.journalPath)-wal), which cannot be opened without writing\(why): what a run wrote "
                        + "last may be missing until the log can be read\n")
            }
            return JournalAccess(state: state, journal: journal)
        } catch {
            throw reportFailure(JournalAccess.openFailure(error, state: state, writing: writable))
        }
    }

    /// Why a journal could not be opened, and what to do: a full disk named as such, a
    /// read-only journal or a busy one told apart from a file that is not a journal.
    static func openFailure(_ error: any Error, state: StateDirectory, writing: Bool) -> String {
        let path = state.journalPath
        if state.diskIsFull { return "cannot open the journal \(path): " + state.diskFullMessage }
        if let failure = error as? StateDirectory.Failure {
            return "\(failure); the state directory holds the journal of every run (RUNBOOK_STATE_DIR selects it)"
        }
        if let journalError = error as? JournalError { return "\(journalError)" }
        switch Journal.failureKind(of: error) {
        case .diskFull:
            return "cannot open the journal \(path): " + state.diskFullMessage
        case .readOnly where writing:
            return "cannot write the journal \(path): it or the state directory \(state.root) is read-only (\(error)); "
                + "`runbook status`, `history` and `show` still read it; make it writable (owner, mode, mount), "
                + "or set RUNBOOK_STATE_DIR to another state directory"
        case .busy:
            return "the journal \(path) is busy: another runbook process held it for more than 5 s; try again"
        default:
            break
        }
        return "cannot open the journal \(path): \(error); check that it is a runbook journal "
            + "(RUNBOOK_STATE_DIR selects another state directory)"
    }

    /// The journal, or an error saying that no run was ever started here.
    func requireJournal(for runPrefix: String) throws -> Journal {
        guard let journal else {
            throw reportFailure(
                "no run '\(runPrefix)': the state directory \(state.root) has no journal yet (no run was started with it); if the run was started elsewhere, set RUNBOOK_STATE_DIR to that state directory"
            )
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
