import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports

/// What the shell completion offers (`runbook --generate-completion-script bash`): files for
/// runbooks and inventories, run ids (newest first, and `last`) for RUN, and a run's gates for
/// GATE. The journal is read quietly: a completion never prints an error.
enum Completions {
    static let files = CompletionKind.file()

    static let runs = CompletionKind.custom { _, _, prefix in
        (["last"] + recentRuns().map(\.id)).filter { $0.hasPrefix(prefix) }
    }

    /// The gates of the run named before the cursor (`runbook approve RUN <TAB>`): those waiting
    /// first, then the run's other gates.
    static let gates = CompletionKind.custom { words, index, prefix in
        let before = words.prefix(index).dropFirst()  // the words before the one being completed
        guard let command = before.firstIndex(of: "approve"), command + 1 < words.count,
            let journal = readOnlyJournal(),
            let id = try? journal.resolveRunID(prefix: words[command + 1]),
            let run = try? journal.run(id: id)
        else { return [] }
        let steps = (try? journal.steps(runID: id)) ?? []
        let waiting = steps.filter { $0.state == .waiting }.map(\.nodeID)
        let all = RunReport.plan(run)?.steps.filter { $0.kind == .gate }.map(\.id) ?? []
        return (waiting + all.filter { !waiting.contains($0) }).filter { $0.hasPrefix(prefix) }
    }

    static func readOnlyJournal() -> Journal? {
        guard let state = try? StateDirectory.resolved(),
            FileManager.default.fileExists(atPath: state.journalPath)
        else { return nil }
        return try? Journal(path: state.journalPath, redactor: Redactor(secrets: []), access: .readOnly)
    }

    static func recentRuns() -> [RunRecord] {
        (try? readOnlyJournal()?.runs(limit: 50)) ?? []
    }
}
