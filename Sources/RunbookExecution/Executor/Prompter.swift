import Foundation
import Synchronization

/// Asks a person at the terminal, while something else (another shell's `runbook approve`)
/// may answer first. Lines are read on a thread of their own so the run never blocks on them.
public actor Prompter {
    public enum Answer: Sendable { case yes, no, external, timedOut, cancelled }

    private let write: @Sendable (String) -> Void
    private let input = LineBuffer()

    final class LineBuffer: Sendable {
        let state = Mutex<(lines: [String], closed: Bool, started: Bool)>(([], false, false))
        func withLock<T>(_ body: (inout (lines: [String], closed: Bool, started: Bool)) -> T) -> T {
            state.withLock { body(&$0) }
        }
    }

    public init(write: @escaping @Sendable (String) -> Void = { StandardStream.standardError.write($0) }) {
        self.write = write
    }

    /// The next line typed, or nil when stdin closed or the task was cancelled.
    private nonisolated func nextLine() async -> String? {
        let start = input.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        if start {
            let input = self.input
            Thread {
                while let line = readLine() { input.withLock { $0.lines.append(line) } }
                input.withLock { $0.closed = true }
            }.start()
        }
        while !Task.isCancelled {
            let (line, closed) = input.withLock { state -> (String?, Bool) in
                state.lines.isEmpty ? (nil, state.closed) : (state.lines.removeFirst(), false)
            }
            if let line { return line }
            if closed { return nil }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    enum Race: Sendable {
        case line(String?)
        case external, deadline, cancelled
    }

    /// Prompts until yes/no, an external answer (`answeredElsewhere` turns true), or the deadline.
    public func ask(
        _ question: String, deadline: Date?, pollEvery: Double, answeredElsewhere: @escaping @Sendable () -> Bool
    ) async -> Answer {
        // A line typed before the question (while the run was busy) answers nothing: the
        // terminal's pending input is discarded, and so is what the reader thread took already.
        if isatty(STDIN_FILENO) == 1 { _ = tcflush(STDIN_FILENO, TCIFLUSH) }
        input.withLock { $0.lines.removeAll() }
        while true {
            write("\(question) ")
            let race: Race = await withTaskGroup(of: Race.self) { group in
                group.addTask { [self] in
                    let line = await self.nextLine()
                    return Task.isCancelled ? .cancelled : .line(line)
                }
                group.addTask {
                    while !Task.isCancelled {
                        if answeredElsewhere() { return .external }
                        if let deadline, Date() >= deadline { return .deadline }
                        do { try await sleep(seconds: pollEvery) } catch { return .cancelled }
                    }
                    return .cancelled
                }
                let first = await group.next() ?? .cancelled
                group.cancelAll()
                return first
            }
            switch race {
            case .line(let line?):
                switch line.trimmingCharacters(in: .whitespaces).lowercased() {
                case "y", "yes": return .yes
                case "n", "no": return .no
                default: write("please answer yes or no.\n")
                }
            case .line(nil): return .cancelled  // stdin closed
            case .external:
                write("\nanswered from another shell.\n")
                return .external
            case .deadline:
                write("\nno answer before the gate's timeout.\n")
                return .timedOut
            case .cancelled: return .cancelled
            }
        }
    }
}
