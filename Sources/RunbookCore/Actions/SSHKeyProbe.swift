/// `ssh.key`: is a private key present on the target, and (optionally) accepted by another host.
public struct SSHKeyProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "ssh.key", kind: .probe,
        summary:
            "Check that a private key exists on the target (mode, fingerprint) and, with `authorized_on`, that a host accepts it.",
        parameters: [
            ParameterSpec("path", .string, required: true, "path of the private key on the target"),
            ParameterSpec(
                "authorized_on", .string, hostReference: true,
                "a host (a host name or `role[N]`) whose authorized_keys must hold the public key"),
            ParameterSpec("user", .string, "the user on `authorized_on` whose authorized_keys is read (default root)"),
        ],
        outputs: [
            OutputSpec("present", "bool", "the key file exists and is readable"),
            OutputSpec("mode", "string", "its permission bits, e.g. 600"),
            OutputSpec("fingerprint", "string", "SHA256 fingerprint"),
            OutputSpec("authorized", "bool", "accepted by `authorized_on` (null when not asked)"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.present && outputs.authorized != false")

    /// The four commands, in the order `probe` runs them: stat, fingerprint, public key, authorized_keys.
    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let path = arguments.string("path") ?? ""
        var result = [
            PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["stat", "-c", "%a", path])),
            PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["ssh-keygen", "-l", "-f", path])),
        ]
        if let other = arguments.string("authorized_on") {
            let user = arguments.string("user") ?? "root"
            result.append(PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["ssh-keygen", "-y", "-f", path])))
            result.append(
                PlannedCommand(.probe, on: other, CommandSpec(argv: ["sh", "-c", "cat ~\(user)/.ssh/authorized_keys"])))
        }
        return result
    }

    /// `user` goes into `sh -c "cat ~USER/..."` (a tilde cannot be quoted): only a user name.
    public func check(_ arguments: ResolvedArguments) -> [String] {
        guard let user = arguments.string("user"), !arguments.hasUnknowns || !user.contains("${{") else { return [] }
        let valid = user.unicodeScalars.enumerated().allSatisfy { index, c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
                || (index > 0 && (("0"..."9").contains(c) || c == "-" || c == "."))
        }
        return valid && !user.isEmpty ? [] : ["`user` '\(user)' is not a user name (letters, digits, '_', '-', '.')"]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let planned = context.planned(.probe)
        let path = context.arguments.string("path") ?? ""
        var outputs: [String: Value] = [
            "present": .bool(false), "mode": .null, "fingerprint": .null, "authorized": .null,
        ]
        guard planned.count >= 2 else { return Observation(done: true, summary: "no key path", outputs: outputs) }
        let stat = try await context.run(planned[0])
        guard stat.succeeded else {
            return Observation(
                done: true, summary: "no key at \(path) on \(context.host)", outputs: outputs, result: stat)
        }
        let mode = stat.stdout.filter { !$0.isWhitespace }
        outputs["present"] = .bool(true)
        outputs["mode"] = .string(mode)
        let fingerprint = try await context.run(planned[1])
        if fingerprint.succeeded {
            let fields = fingerprint.stdout.split(separator: " ")
            if fields.count > 1 { outputs["fingerprint"] = .string(String(fields[1])) }
        }
        var summary = "key \(path) present (mode \(mode))"
        if planned.count == 4 {
            let user = context.arguments.string("user") ?? "root"
            let publicKey = try await context.run(planned[2])
            let keyBody = publicKey.stdout.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let authorized = try await context.run(planned[3])
            let accepted = !keyBody.isEmpty && authorized.stdout.contains(keyBody)
            outputs["authorized"] = .bool(accepted)
            let other = planned[3].host
            summary += accepted ? ", accepted by \(user)@\(other)" : ", NOT in \(user)@\(other)'s authorized_keys"
        }
        return Observation(done: true, summary: summary, outputs: outputs)
    }
}
