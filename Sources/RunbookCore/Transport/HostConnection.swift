/// How to reach one inventory host.
public struct HostConnection: Sendable, Hashable, Codable {
    /// How commands reach the host.
    public enum Kind: String, Sendable, Codable {
        /// Run on this machine, without ssh.
        case local
        /// Run through the system OpenSSH client.
        case ssh
    }

    /// Inventory name, used in messages.
    public var name: String
    /// How commands reach the host.
    public var kind: Kind
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
        kind: Kind = .ssh,
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
        self.kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .ssh
        self.address = try c.decodeIfPresent(String.self, forKey: .address)
        self.user = try c.decodeIfPresent(String.self, forKey: .user)
        self.port = try c.decodeIfPresent(Int.self, forKey: .port)
        self.connectTimeout = try c.decodeIfPresent(Double.self, forKey: .connectTimeout) ?? 10
        self.sudo = try c.decodeIfPresent(Bool.self, forKey: .sudo) ?? false
        self.identityFile = try c.decodeIfPresent(String.self, forKey: .identityFile)
        self.sshOptions = try c.decodeIfPresent([String].self, forKey: .sshOptions) ?? []
    }
}
