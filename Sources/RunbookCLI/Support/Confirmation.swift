import ArgumentParser
import Foundation

/// Asking the operator before a command changes the world: `run`, `rollback`, and a `resume`
/// that would roll back. Without a terminal the command needs `--yes` (exit 64 otherwise).
enum Confirmation {
    /// What the operator must answer.
    enum Answer {
        /// `yes` or `no`.
        case yesOrNo
        /// This exact text (a run id), for what cannot be taken back lightly.
        case typed(String)
    }

    /// True to go ahead. `yes` (`--yes`) answers without asking; without a terminal,
    /// `unattended` is printed as the error and the command exits 64 (as `run` does).
    static func ask(_ question: String, answer: Answer = .yesOrNo, yes: Bool, unattended: String) throws -> Bool {
        if yes { return true }
        guard Terminal.stdinIsTTY else {
            Terminal.writeError("runbook: error: no terminal to confirm on: \(unattended)\n")
            throw RunbookExit.usage
        }
        // What was typed before the question (while the hosts were probed) answers nothing:
        // only what is typed after it is read.
        Terminal.flushInput()
        switch answer {
        case .yesOrNo:
            Terminal.writeError("\(question) (yes/no) ")
            while let line = readLine() {
                switch line.trimmingCharacters(in: .whitespaces).lowercased() {
                case "y", "yes": return true
                case "n", "no", "": return false
                default: Terminal.writeError("please answer yes or no: ")
                }
            }
            return false
        case .typed(let expected):
            Terminal.writeError("\(question)\nType the run id \(expected) to go ahead (anything else cancels): ")
            guard let line = readLine() else { return false }
            return line.trimmingCharacters(in: .whitespaces) == expected
        }
    }
}
