import RunbookCore

/// Makes the transport that reaches `host`.
///
/// - Parameters:
///   - host: the inventory host.
///   - controlDirectory: where ssh keeps its ControlMaster sockets (the state
///     directory's `ssh/` folder); created with mode 0700 on first use.
///   - multiplex: whether ssh reuses one connection per host (ControlMaster).
public func makeTransport(for host: HostConnection, controlDirectory: String, multiplex: Bool = true) -> any Transport {
    switch host.kind {
    case .local:
        return LocalTransport(host: host)
    case .ssh:
        return SSHTransport(host: host, controlDirectory: controlDirectory, multiplex: multiplex)
    }
}

/// Namespace form of ``makeTransport(for:controlDirectory:multiplex:)``.
public enum TransportFactory {
    /// Makes the transport that reaches `host`.
    public static func make(for host: HostConnection, controlDirectory: String, multiplex: Bool = true) -> any Transport
    {
        makeTransport(for: host, controlDirectory: controlDirectory, multiplex: multiplex)
    }
}
