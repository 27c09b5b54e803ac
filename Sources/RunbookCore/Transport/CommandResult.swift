/// What a finished (or timed-out) command produced.
public struct CommandResult: Sendable, Hashable, Codable {
    /// The exit status; `nil` when the process was killed by a signal.
    public var exitCode: Int32?
    /// The signal that killed the process, if any.
    public var signal: Int32?
    /// Standard output, up to the output limit (invalid UTF-8 is replaced).
    public var stdout: String
    /// Standard error, up to the output limit (invalid UTF-8 is replaced).
    public var stderr: String
    /// Whether standard output went past the limit and the rest was dropped.
    public var stdoutTruncated: Bool
    /// Whether standard error went past the limit and the rest was dropped.
    public var stderrTruncated: Bool
    /// Wall-clock run time in seconds.
    public var duration: Double
    /// Whether the command was stopped because it ran past its timeout.
    public var timedOut: Bool

    /// Whether the command exited 0 within its timeout.
    public var succeeded: Bool { exitCode == 0 && !timedOut }

    /// Creates a result.
    public init(
        exitCode: Int32?,
        signal: Int32? = nil,
        stdout: String = "",
        stderr: String = "",
        stdoutTruncated: Bool = false,
        stderrTruncated: Bool = false,
        duration: Double = 0,
        timedOut: Bool = false
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.duration = duration
        self.timedOut = timedOut
    }
}
