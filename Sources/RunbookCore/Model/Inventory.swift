/// One site pair: the hosts, their roles, how to reach them, and parameter values.
public struct Inventory: Sendable {
    public var file: String
    public var name: Located<String>
    public var defaults: HostSettings
    public var hosts: [InventoryHost]
    public var vars: [YAMLNode.Pair]
    /// Where runs over this inventory tell people what happened (`notify:`).
    public var notify: [NotifySink]
    public var location: SourceLocation

    public init(file: String, location: SourceLocation) {
        self.file = file
        self.location = location
        self.name = Located("", at: location)
        self.defaults = HostSettings()
        self.hosts = []
        self.vars = []
        self.notify = []
    }

    public func host(named name: String) -> InventoryHost? { hosts.first { $0.name == name } }

    /// Host names of a role, in inventory order.
    public func hosts(inRole role: String) -> [String] {
        hosts.filter { $0.roles.contains { $0.value == role } }.map(\.name)
    }

    /// Every role some host declares.
    public var declaredRoles: [String] {
        var seen = Set<String>()
        return hosts.flatMap { $0.roles.map(\.value) }.filter { seen.insert($0).inserted }
    }

    /// The settings for a host: its own over the inventory defaults.
    public func settings(for host: String) -> HostSettings {
        guard let entry = self.host(named: host) else {
            var local = defaults
            local.transport = .local
            return local
        }
        return entry.settings.merged(over: defaults)
    }
}

/// How to reach a host; every field optional so host values override defaults.
public struct HostSettings: Sendable, Hashable, Codable {
    public var address: String?
    public var user: String?
    public var port: Int?
    public var sudo: Bool?
    public var transport: TransportKind?
    public var connectTimeout: Double?
    public var identityFile: String?
    public var sshOptions: [String]?
    public var hostConcurrency: Int?
    /// Keys declared by action packs (e.g. the GlusterFS pack's `gluster`), as validated text.
    public var extra: [String: String] = [:]

    public init() {}

    /// A pack's key: this host's value, else the defaults'.
    public subscript(key: String) -> String? { extra[key] }

    /// These settings, with unset fields taken from `base`.
    public func merged(over base: HostSettings) -> HostSettings {
        var result = base
        if let address { result.address = address }
        if let user { result.user = user }
        if let port { result.port = port }
        if let sudo { result.sudo = sudo }
        if let transport { result.transport = transport }
        if let connectTimeout { result.connectTimeout = connectTimeout }
        if let identityFile { result.identityFile = identityFile }
        if let sshOptions { result.sshOptions = sshOptions }
        if let hostConcurrency { result.hostConcurrency = hostConcurrency }
        result.extra.merge(extra) { _, own in own }
        return result
    }
}

/// A host of the inventory.
public struct InventoryHost: Sendable {
    public var name: String
    public var location: SourceLocation
    public var roles: [Located<String>]
    public var settings: HostSettings
}
