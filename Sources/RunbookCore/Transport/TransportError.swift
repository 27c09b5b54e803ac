/// Why a transport could not run a command at all (as opposed to the command failing).
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The category of failure.
    public enum Kind: String, Sendable, Codable {
        /// The host could not be reached or refused us (ssh's own connection/authentication failure).
        case unreachable
        /// The local process (for example `ssh` itself) could not be started.
        case launchFailed
        /// The calling task was cancelled; the command's process group was killed.
        case cancelled
    }

    /// The category of failure.
    public var kind: Kind
    /// The inventory name of the host.
    public var host: String
    /// A human-readable reason; for `.unreachable`, ssh's own message,
    /// e.g. "ssh: connect to host 127.0.0.1 port 1: Connection refused".
    public var message: String

    /// Creates a transport error.
    public init(kind: Kind, host: String, message: String) {
        self.kind = kind
        self.host = host
        self.message = message
    }

    /// What happened, for a step's error: "`host` is unreachable: ..." only when it is; a command
    /// that could not be started (an argument list too long, ssh itself missing) says so.
    public func explanation(on host: String) -> String {
        switch kind {
        case .unreachable: return "\(host) is unreachable: \(message)"
        case .launchFailed: return "the command could not be started on \(host): \(message)"
        case .cancelled: return "cancelled on \(host): \(message)"
        }
    }

    /// `host: kind: message`, e.g. `db1: unreachable: ssh: connect to host db1 port 22: Connection refused`.
    public var description: String {
        "\(host): \(kind.rawValue): \(message)"
    }
}
