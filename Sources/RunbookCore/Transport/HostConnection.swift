/// How to reach one inventory host.
public struct HostConnection: Sendable, Hashable, Codable {
    /// Inventory name, used in messages.
    public var name: String
    /// How commands reach the host: the kind name of a transport a pack registers.
    public var kind: TransportKind
    /// Address for ssh (host name or IP); `nil` means use ``name``.
    public var address: String?
    /// Remote login user; `nil` leaves it to ssh (current user or ssh_config).
    public var user: String?
    /// Remote port; `nil` leaves it to ssh (22 or ssh_config).
    public var port: Int?
    /// Seconds ssh may spend establishing the connection (ssh `ConnectTimeout`).
    public var connectTimeout: Double
    /// Prefix remote commands with `sudo -n --` (never prompts).
    public var sudo: Bool
    /// Private key for ssh (`-i`).
    public var identityFile: String?
    /// Extra `-o` options, e.g. `["StrictHostKeyChecking=accept-new", "UserKnownHostsFile=/x"]`.
    public var sshOptions: [String]

    /// Creates a host connection description.
    public init(
        name: String,
        kind: TransportKind = .ssh,
        address: String? = nil,
        user: String? = nil,
        port: Int? = nil,
        connectTimeout: Double = 10,
        sudo: Bool = false,
        identityFile: String? = nil,
        sshOptions: [String] = []
    ) {
        self.name = name
        self.kind = kind
        self.address = address
        self.user = user
        self.port = port
        self.connectTimeout = connectTimeout
        self.sudo = sudo
        self.identityFile = identityFile
        self.sshOptions = sshOptions
    }

    /// A host that runs commands on this machine.
    public static func local(name: String = "localhost") -> HostConnection {
        HostConnection(name: name, kind: .local)
    }

    /// The address ssh connects to: ``address`` or, when unset, ``name``.
    public var effectiveAddress: String { address ?? name }

    private enum CodingKeys: String, CodingKey {
        case name, kind, address, user, port, connectTimeout, sudo, identityFile, sshOptions
    }

    /// Decodes a host; every field but `name` is optional and takes the `init` default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try c.decode(String.self, forKey: .name)
        self.kind = try c.decodeIfPresent(TransportKind.self, forKey: .kind) ?? .ssh
        self.address = try c.decodeIfPresent(String.self, forKey: .address)
        self.user = try c.decodeIfPresent(String.self, forKey: .user)
        self.port = try c.decodeIfPresent(Int.self, forKey: .port)
        self.connectTimeout = try c.decodeIfPresent(Double.self, forKey: .connectTimeout) ?? 10
        self.sudo = try c.decodeIfPresent(Bool.self, forKey: .sudo) ?? false
        self.identityFile = try c.decodeIfPresent(String.self, forKey: .identityFile)
        self.sshOptions = try c.decodeIfPresent([String].self, forKey: .sshOptions) ?? []
    }
}

/// The name of a transport, as an inventory's `transport:` says it (`ssh`, `local`, or one a pack
/// registers with a ``TransportFactory``). Any name can be written; the loader accepts only the
/// kinds of the registry it is given.
public struct TransportKind: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { self.rawValue = name }
    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// The default for an inventory host (the format's default).
    public static let ssh: TransportKind = "ssh"
    /// This machine: `localhost`, and the default for a host named in no inventory.
    public static let local: TransportKind = "local"
    /// The kinds an inventory may name when no registry says otherwise (the built-in transports).
    public static let standard: [TransportKind] = [.ssh, .local]
}
