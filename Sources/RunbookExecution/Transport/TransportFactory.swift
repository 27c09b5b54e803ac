import RunbookCore

/// `transport: ssh`: the system OpenSSH client, one multiplexed connection per host unless
/// `RUNBOOK_SSH_MULTIPLEX=0` (for benchmarks and for sites whose ssh configuration cannot use
/// control sockets); control sockets in the context's `controlDirectory`.
public struct SSHTransportFactory: TransportFactory {
    public init() {}

    public var kind: TransportKind { .ssh }

    public func makeTransport(for host: HostConnection, context: TransportContext) -> any Transport {
        SSHTransport(
            host: host, controlDirectory: context.controlDirectory,
            multiplex: context.environment["RUNBOOK_SSH_MULTIPLEX"] != "0")
    }
}

/// `transport: local`: commands run on this machine, without ssh.
public struct LocalTransportFactory: TransportFactory {
    public init() {}

    public var kind: TransportKind { .local }

    public func makeTransport(for host: HostConnection, context: TransportContext) -> any Transport {
        LocalTransport(host: host)
    }
}

/// The pack of the built-in transports, `ssh` and `local` (in that order: the loader lists them so).
public struct StandardTransports: Pack {
    public init() {}

    public var name: String { "transports" }

    public var transports: [any TransportFactory] { [SSHTransportFactory(), LocalTransportFactory()] }
}

/// A transport for a host whose kind no registered pack provides (the loader refuses such an
/// inventory; this is for a pool built with another registry): every command fails to launch,
/// saying so, instead of running through some other transport.
struct UnknownTransport: Transport {
    let host: HostConnection
    let known: [TransportKind]

    var message: String {
        "no transport '\(host.kind)' is registered (known: \(known.map(\.rawValue).joined(separator: ", ")))"
    }

    func run(_ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws -> CommandResult {
        throw TransportError(kind: .launchFailed, host: host.name, message: message)
    }

    func checkConnection() async -> ConnectionCheck { ConnectionCheck(reachable: false, error: message) }

    func close() async {}
}
