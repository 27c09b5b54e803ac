/// Runs commands on one host.
public protocol Transport: Sendable {
    /// The host this transport reaches.
    var host: HostConnection { get }
    /// Runs a command; a non-zero exit is a result, not an error. Throws TransportError(.unreachable) when the host cannot be reached.
    ///
    /// - Parameters:
    ///   - timeout: seconds before the command is killed and returned with
    ///     `timedOut == true`; `nil` waits forever.
    ///   - outputLimit: bytes kept per stream; the rest is read and dropped,
    ///     and the stream is flagged truncated.
    /// - Throws: ``TransportError`` with `.unreachable`, `.launchFailed` or
    ///   `.cancelled` (the calling task was cancelled).
    func run(_ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws -> CommandResult
    /// Connects (or reuses the connection) and reports latency; never throws.
    func checkConnection() async -> ConnectionCheck
    /// Closes multiplexed connections (ssh -O exit).
    func close() async
    /// When commands share one connection that the first must set up (ssh's ControlMaster), the
    /// name of that connection: transports with the same key share it, and the host pool lets
    /// one `true` set it up before commands use it. `nil` (the default): no such connection.
    var sharedConnectionKey: String? { get }
}

extension Transport {
    public var sharedConnectionKey: String? { nil }
}

/// The outcome of ``Transport/checkConnection()``.
public struct ConnectionCheck: Sendable, Hashable, Codable {
    /// Whether a trivial command ran on the host.
    public var reachable: Bool
    /// Round-trip time of the check in milliseconds, when reachable.
    public var latencyMs: Double?
    /// Why the host is unreachable (ssh's own message), when it is not.
    public var error: String?

    /// Creates a connection check result.
    public init(reachable: Bool, latencyMs: Double? = nil, error: String? = nil) {
        self.reachable = reachable
        self.latencyMs = latencyMs
        self.error = error
    }
}
