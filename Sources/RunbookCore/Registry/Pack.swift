/// What a pack brings to `runbook`: its action and probe types, the inventory host keys they read,
/// and the transports (by kind name) that reach hosts.
///
/// The packs of a build are composed in one place (the command line's `ActionRegistry.standard`);
/// everything else reads the one ``ActionRegistry`` made from them. A new transport is a type
/// conforming to ``Transport``, its ``TransportFactory``, and one line in a pack's `transports`.
public protocol Pack: Sendable {
    /// The pack's name, for messages (e.g. `gluster`).
    var name: String { get }
    /// The action, probe and gate types the pack declares.
    var types: [any ActionType] { get }
    /// The inventory host keys the pack's types read (in `defaults` and per host).
    var hostKeys: [HostKeySpec] { get }
    /// The transports the pack brings, each under its kind name (an inventory's `transport:`).
    var transports: [any TransportFactory] { get }
}

extension Pack {
    public var types: [any ActionType] { [] }
    public var hostKeys: [HostKeySpec] { [] }
    public var transports: [any TransportFactory] { [] }
}

/// Makes the transport of one kind for a host; implementations with I/O live in the execution layer.
public protocol TransportFactory: Sendable {
    /// The kind name an inventory selects it with (`transport: KIND`).
    var kind: TransportKind { get }
    /// The transport that reaches `host` (whose `kind` is this factory's).
    func makeTransport(for host: HostConnection, context: TransportContext) -> any Transport
}

/// What a transport may need from the run that uses it.
public struct TransportContext: Sendable {
    /// A private directory (mode 0700) where transports keep connection state, e.g. ssh's control
    /// sockets (the state directory's `ssh/`; keep it short: socket paths are limited to 107 bytes).
    public var controlDirectory: String
    /// The process environment, for a transport's switches (e.g. `RUNBOOK_SSH_MULTIPLEX=0`).
    public var environment: [String: String]

    public init(controlDirectory: String, environment: [String: String] = [:]) {
        self.controlDirectory = controlDirectory
        self.environment = environment
    }
}

/// The core's own pack: `shell`, `command`, `ssh.key`, `ssh.reachable`, `tree.replay`,
/// `tree.diff`, the `approval`/`until` gates, and the `python3` host key the tree types read.
/// Its transports live in the execution layer (`StandardTransports`).
public struct CorePack: Pack {
    public init() {}

    public var name: String { "core" }

    public var types: [any ActionType] {
        [
            ShellAction(), CommandProbe(), SSHKeyProbe(), SSHReachableProbe(), TreeReplayAction(), TreeDiffProbe(),
            TreeCopyAction(),
            ApprovalGate(), UntilGate(),
        ]
    }

    public var hostKeys: [HostKeySpec] {
        [
            HostKeySpec(
                TreeReplayAction.pythonKey, .string,
                "path of Python 3 on the host, for tree.replay and tree.diff (default /usr/bin/python3)")
        ]
    }
}
