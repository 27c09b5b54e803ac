/// Turns inventory YAML into an `Inventory`, reporting every problem it finds.
public enum InventoryLoader {
    static let topLevelKeys = ["apiVersion", "kind", "metadata", "defaults", "hosts", "vars", "notify"]
    static let settingKeys = [
        "address", "user", "port", "sudo", "transport", "connect_timeout", "identity_file",
        "ssh_options", "host_concurrency",
    ]

    /// Loads an inventory; `hostKeys` are the keys the registry's packs declare (`registry.hostKeys`),
    /// `transports` the transport kinds they register (`registry.transportKinds`).
    public static func load(
        text: String, file: String, hostKeys: [HostKeySpec] = [], transports: [TransportKind] = TransportKind.standard,
        diagnostics: inout Diagnostics
    )
        -> Inventory?
    {
        guard let root = YAMLParser.parse(text, file: file, diagnostics: &diagnostics) else { return nil }
        var reader = NodeReader()
        let inventory = load(root: root, file: file, hostKeys: hostKeys, transports: transports, reader: &reader)
        diagnostics.append(contentsOf: reader.diagnostics)
        return inventory
    }

    /// Loads an inventory with the host keys and transport kinds of `registry`'s packs.
    public static func load(text: String, file: String, registry: ActionRegistry, diagnostics: inout Diagnostics)
        -> Inventory?
    {
        load(
            text: text, file: file, hostKeys: registry.hostKeys, transports: registry.transportKinds,
            diagnostics: &diagnostics)
    }

    static func load(
        root: YAMLNode, file: String, hostKeys: [HostKeySpec], transports: [TransportKind] = TransportKind.standard,
        reader: inout NodeReader
    ) -> Inventory? {
        let settingKeys = Self.settingKeys + hostKeys.map(\.name)
        let hostKeyNames = settingKeys + ["roles", "description"]
        guard let top = reader.mapping(root, allowed: topLevelKeys, what: "the inventory") else { return nil }
        var inventory = Inventory(file: file, location: root.location)
        if let pair = top["apiVersion"] {
            if let version = reader.string(pair.value, what: "apiVersion"), version != "runbook/v1" {
                reader.diagnostics.error(
                    "unsupported apiVersion '\(version)': expected runbook/v1", at: pair.value.location)
            }
        } else {
            reader.diagnostics.error(
                "missing required key 'apiVersion' (add `apiVersion: runbook/v1`)", at: root.location)
        }
        if let pair = top["kind"], let kind = reader.string(pair.value, what: "kind"), kind != "Inventory" {
            reader.diagnostics.error(
                "kind must be Inventory in an inventory file, got '\(kind)'", at: pair.value.location)
        }
        if let pair = top["metadata"],
            let meta = reader.mapping(pair.value, allowed: ["name", "description"], what: "metadata")
        {
            if let name = meta["name"], let text = reader.string(name.value, what: "metadata.name") {
                inventory.name = Located(text, at: name.value.location)
                if !RunbookLoader.isValidName(text) {
                    reader.diagnostics.error(
                        "metadata.name '\(text)' must be letters, digits, '.', '_' or '-'", at: name.value.location)
                }
            } else if meta["name"] == nil {
                reader.diagnostics.error("missing required key 'name' in metadata", at: pair.value.location)
            }
        } else if top["metadata"] == nil {
            reader.diagnostics.error("missing required key 'metadata' (with a `name`)", at: root.location)
        }
        if let pair = top["defaults"] {
            inventory.defaults =
                loadSettings(
                    pair.value, allowed: settingKeys, packKeys: hostKeys, transports: transports, what: "defaults",
                    reader: &reader
                )
                .settings
        }
        if let pair = top["hosts"] {
            if let pairs = pair.value.pairs {
                for hostPair in pairs where !YAMLParser.isDuplicateSentinel(hostPair.key) {
                    if !RunbookLoader.isValidName(hostPair.key) {
                        reader.diagnostics.error(
                            "host name '\(hostPair.key)' must be letters, digits, '.', '_' or '-'",
                            at: hostPair.keyLocation)
                    }
                    let (settings, roles) = loadSettings(
                        hostPair.value, allowed: hostKeyNames, packKeys: hostKeys, transports: transports,
                        what: "host '\(hostPair.key)'",
                        reader: &reader)
                    inventory.hosts.append(
                        InventoryHost(
                            name: hostPair.key, location: hostPair.keyLocation, roles: roles, settings: settings))
                    let effective = settings.merged(over: inventory.defaults)
                    if effective.address == nil, effective.transport != .local, hostPair.key.hasPrefix("-") {
                        reader.diagnostics.error(
                            "host name '\(hostPair.key)' starts with '-' and the host has no `address`, "
                                + "so ssh would read its name as an option; give it an `address` "
                                + "(a DNS name or IP address) or rename it",
                            at: hostPair.keyLocation)
                    }
                }
            } else {
                reader.diagnostics.error(
                    "hosts must be a mapping of host name to settings, got \(pair.value.kindDescription)",
                    at: pair.value.location)
            }
        } else {
            reader.diagnostics.error("missing required key 'hosts'", at: root.location)
        }
        if let pair = top["notify"] { inventory.notify = NotifyLoader.load(pair.value, reader: &reader) }
        if let pair = top["vars"] {
            if let pairs = pair.value.pairs {
                inventory.vars = pairs.filter { !YAMLParser.isDuplicateSentinel($0.key) }
            } else if !pair.value.isNull {
                reader.diagnostics.error(
                    "vars must be a mapping of names to values, got \(pair.value.kindDescription)",
                    at: pair.value.location)
            }
        }
        return inventory
    }

    static func loadSettings(
        _ node: YAMLNode, allowed: [String], packKeys: [HostKeySpec], transports: [TransportKind], what: String,
        reader: inout NodeReader
    )
        -> (settings: HostSettings, roles: [Located<String>])
    {
        var settings = HostSettings()
        var roles: [Located<String>] = []
        if node.isNull { return (settings, roles) }
        guard let fields = reader.mapping(node, allowed: allowed, what: what) else { return (settings, roles) }
        if let pair = fields["address"], let address = reader.string(pair.value, what: "address") {
            if let problem = addressProblem(address) {
                reader.diagnostics.error("address \(problem)", at: pair.value.location)
            } else {
                settings.address = address
            }
        }
        if let pair = fields["user"] { settings.user = reader.string(pair.value, what: "user") }
        if let pair = fields["port"] { settings.port = reader.int(pair.value, what: "port", range: 1...65535) }
        if let pair = fields["sudo"] { settings.sudo = reader.bool(pair.value, what: "sudo") }
        if let pair = fields["transport"], let name = reader.string(pair.value, what: "transport") {
            // A kind no pack registers is refused here, never run as ssh.
            let names = transports.map(\.rawValue)
            if names.contains(name) {
                settings.transport = TransportKind(name)
            } else {
                reader.diagnostics.error(
                    "transport must be one of \(names.joined(separator: ", ")), got '\(name)'"
                        + Suggestions.hint(for: name, in: names),
                    at: pair.value.location)
            }
        }
        if let pair = fields["connect_timeout"] {
            settings.connectTimeout = reader.duration(pair.value, what: "connect_timeout")
        }
        for key in packKeys {
            guard let pair = fields[key.name] else { continue }
            if let text = packValue(pair.value, key: key, reader: &reader) { settings.extra[key.name] = text }
        }
        if let pair = fields["identity_file"] {
            settings.identityFile = reader.string(pair.value, what: "identity_file")
        }
        if let pair = fields["ssh_options"] {
            settings.sshOptions = reader.stringList(pair.value, what: "ssh_options")?.map(\.value)
        }
        if let pair = fields["host_concurrency"] {
            settings.hostConcurrency = reader.int(pair.value, what: "host_concurrency", range: 1...1000)
        }
        if let pair = fields["roles"] { roles = reader.stringList(pair.value, what: "roles") ?? [] }
        return (settings, roles)
    }

    /// What is wrong with an address ssh would be given, or nil: empty, or an ssh option.
    static func addressProblem(_ address: String) -> String? {
        if address.allSatisfy(\.isWhitespace) {
            return "is empty: give the host's DNS name or IP address (or leave `address` out to use the host's name)"
        }
        if address.hasPrefix("-") {
            return "'\(address)' starts with '-', which ssh would read as an option; give a DNS name or IP address"
        }
        if address.contains(where: \.isWhitespace) {
            return "'\(address)' contains whitespace; give a DNS name or IP address"
        }
        return nil
    }

    /// A pack key's value, checked against its declared type, as text.
    static func packValue(_ node: YAMLNode, key: HostKeySpec, reader: inout NodeReader) -> String? {
        switch key.type {
        case .int: return reader.int(node, what: key.name).map(String.init)
        case .bool: return reader.bool(node, what: key.name).map { $0 ? "true" : "false" }
        case .duration: return reader.duration(node, what: key.name).map { Value.formatDuration($0) }
        default: return reader.string(node, what: key.name)
        }
    }
}
