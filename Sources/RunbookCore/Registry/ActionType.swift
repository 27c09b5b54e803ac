/// An action, probe or gate type: its declaration and how it renders its commands.
///
/// The compiler only needs the declaration and the rendering, both pure. The executor adds the
/// effects through `ExecutableAction` in the execution layer.
public protocol ActionType: Sendable {
    var descriptor: ActionDescriptor { get }

    /// The exact commands a step of this type runs on `host` with these arguments, in order.
    func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand]

    /// Extra checks on the arguments once resolved (e.g. a volume name's shape). Messages only.
    func check(_ arguments: ResolvedArguments) -> [String]
}

extension ActionType {
    public func check(_ arguments: ResolvedArguments) -> [String] { [] }
}

/// The types `runbook` knows, by name.
public struct ActionRegistry: Sendable {
    public private(set) var types: [String: any ActionType] = [:]
    public private(set) var order: [String] = []

    public init() {}

    /// The built-in types: `shell`, `ssh.key`, `ssh.reachable`, and the `approval`/`until` gates.
    public static var builtIn: ActionRegistry {
        var registry = ActionRegistry()
        registry.register(ShellAction())
        registry.register(CommandProbe())
        registry.register(SSHKeyProbe())
        registry.register(SSHReachableProbe())
        registry.register(ApprovalGateType())
        registry.register(UntilGateType())
        return registry
    }

    public mutating func register(_ type: any ActionType) {
        let name = type.descriptor.name
        if types[name] == nil { order.append(name) }
        types[name] = type
    }

    public subscript(name: String) -> (any ActionType)? { types[name] }

    public func names(of kind: ActionDescriptor.Kind) -> [String] {
        order.filter { types[$0]?.descriptor.kind == kind }
    }

    public var all: [any ActionType] { order.compactMap { types[$0] } }
}
