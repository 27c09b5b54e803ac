import RunbookCore

/// A real ``Transport`` whose commands are answered by a ``ScriptedHosts`` (scripted replies by
/// argv, every command recorded, hosts made unreachable at will): the seam a new transport uses,
/// kept working by the tests that register it through ``ScriptedTransportPack``.
public struct ScriptedTransport: Transport {
    public let host: HostConnection
    public let hosts: ScriptedHosts

    public init(host: HostConnection, hosts: ScriptedHosts) {
        self.host = host
        self.hosts = hosts
    }

    public func run(_ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws -> CommandResult {
        try await hosts.run(on: host.name, command, timeout: timeout, outputLimit: outputLimit)
    }

    public func checkConnection() async -> ConnectionCheck { await hosts.checkConnection(host.name) }

    public func close() async {}
}

/// A test pack that brings one transport, `scripted` (`transport: scripted` in an inventory),
/// answered by `hosts`.
public struct ScriptedTransportPack: Pack {
    public static let kind: TransportKind = "scripted"

    public let hosts: ScriptedHosts

    public init(hosts: ScriptedHosts) { self.hosts = hosts }

    public var name: String { "scripted" }

    public var transports: [any TransportFactory] { [Factory(hosts: hosts)] }

    struct Factory: TransportFactory {
        let hosts: ScriptedHosts
        var kind: TransportKind { ScriptedTransportPack.kind }

        func makeTransport(for host: HostConnection, context: TransportContext) -> any Transport {
            ScriptedTransport(host: host, hosts: hosts)
        }
    }
}
