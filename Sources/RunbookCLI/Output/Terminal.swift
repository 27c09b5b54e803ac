import Foundation
import RunbookExecution

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where output goes and whether a person is watching it.
struct Terminal {
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stdinIsTTY: Bool { isatty(STDIN_FILENO) == 1 }

    /// Colour only on a terminal and when NO_COLOR is not set.
    static func colorEnabled(forStderr: Bool) -> Bool {
        if ProcessInfo.processInfo.environment["NO_COLOR"].map({ !$0.isEmpty }) == true { return false }
        return forStderr ? stderrIsTTY : stdoutIsTTY
    }

    /// Discards what was typed and not yet read (TCIFLUSH), so that a "yes" typed before a
    /// question cannot answer it. Nothing happens when stdin is not a terminal.
    static func flushInput() {
        guard stdinIsTTY else { return }
        _ = tcflush(STDIN_FILENO, TCIFLUSH)
    }

    /// A failed write (a closed pipe, a terminal that hung up) means the output is gone: the
    /// command goes on (see `StandardStream`).
    static func writeError(_ text: String) {
        StandardStream.standardError.write(text)
    }

    static func write(_ text: String) {
        StandardStream.standardOutput.write(text)
    }
}
