/// `shell`: runs a command; `check` says whether it is already done, `verify` whether it worked.
public struct ShellAction: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "shell", kind: .action,
        summary: "Run a command (argv list) or a script (sh -c). Idempotent through `check`; undone through the step's `undo`.",
        parameters: [
            ParameterSpec("run", .argv, "the command as a list of arguments; each element is passed as is, never re-split"),
            ParameterSpec("script", .string, "a script run with `sh -c` (instead of `run`)"),
            ParameterSpec("check", .command, "a command whose exit 0 means \"already done\": the step is then skipped as ok"),
            ParameterSpec("verify", .command, "a command run after `run` that must exit 0 for the step to succeed"),
            ParameterSpec("env", .stringMap, "environment variables added for the commands"),
            ParameterSpec("cwd", .string, "working directory of the commands"),
        ],
        exactlyOneOf: [["run", "script"]],
        outputs: [
            OutputSpec("exit_code", "int", "exit status of `run`"),
            OutputSpec("stdout", "string", "standard output of `run` (first 64 KiB)"),
            OutputSpec("stderr", "string", "standard error of `run` (first 64 KiB)"),
        ],
        changes: true, undo: .declared,
        idempotency: "`check` exits 0; without a `check` the step always runs")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let env = arguments.stringMap("env")
        let cwd = arguments.string("cwd")
        func spec(_ argv: [String]) -> CommandSpec { CommandSpec(argv: argv, environment: env, workingDirectory: cwd) }
        var result: [PlannedCommand] = []
        if let check = arguments.command("check") { result.append(PlannedCommand(.probe, on: host.name, spec(check))) }
        if let run = arguments.strings("run") {
            result.append(PlannedCommand(.apply, on: host.name, spec(run)))
        } else if let script = arguments.string("script") {
            result.append(PlannedCommand(.apply, on: host.name, spec(["/bin/sh", "-c", script])))
        }
        if let verify = arguments.command("verify") { result.append(PlannedCommand(.verify, on: host.name, spec(verify))) }
        return result
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        if let run = arguments.strings("run"), run.isEmpty { return ["`run` is an empty command"] }
        return []
    }
}

/// `command`: a read-only command whose exit code and output a step can test.
public struct CommandProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "command", kind: .probe,
        summary: "Run a read-only command (argv list or script) and expose its exit code and output; by default it must exit 0.",
        parameters: [
            ParameterSpec("run", .argv, "the command as a list of arguments"),
            ParameterSpec("script", .string, "a script run with `sh -c` (instead of `run`)"),
            ParameterSpec("env", .stringMap, "environment variables added for the command"),
            ParameterSpec("cwd", .string, "working directory of the command"),
        ],
        exactlyOneOf: [["run", "script"]],
        outputs: [
            OutputSpec("exit_code", "int", "its exit status"),
            OutputSpec("stdout", "string", "standard output, trailing newlines removed"),
            OutputSpec("stderr", "string", "standard error, trailing newlines removed"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.exit_code == 0")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let argv = arguments.strings("run") ?? arguments.string("script").map { ["/bin/sh", "-c", $0] } ?? []
        return [PlannedCommand(.probe, on: host.name, CommandSpec(argv: argv, environment: arguments.stringMap("env"), workingDirectory: arguments.string("cwd")))]
    }
}

/// `ssh.key`: is a private key present on the target, and (optionally) accepted by another host.
public struct SSHKeyProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "ssh.key", kind: .probe,
        summary: "Check that a private key exists on the target (mode, fingerprint) and, with `authorized_on`, that a host accepts it.",
        parameters: [
            ParameterSpec("path", .string, required: true, "path of the private key on the target"),
            ParameterSpec("authorized_on", .string, "a host or target (`role[0]`, host name) whose authorized_keys must hold the public key"),
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

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let path = arguments.string("path") ?? ""
        var result = [
            PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["stat", "-c", "%a", path])),
            PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["ssh-keygen", "-l", "-f", path])),
        ]
        if let other = arguments.string("authorized_on") {
            let user = arguments.string("user") ?? "root"
            result.append(PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["ssh-keygen", "-y", "-f", path])))
            result.append(PlannedCommand(.probe, on: other, CommandSpec(argv: ["sh", "-c", "cat ~\(user)/.ssh/authorized_keys"])))
        }
        return result
    }
}

/// `ssh.reachable`: can the target be reached at all.
public struct SSHReachableProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "ssh.reachable", kind: .probe,
        summary: "Connect to the target (BatchMode, ConnectTimeout from the inventory) and run `true`.",
        parameters: [],
        outputs: [
            OutputSpec("reachable", "bool", "the connection worked"),
            OutputSpec("latency_ms", "int", "round trip of the check"),
            OutputSpec("error", "string", "ssh's message when it did not"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.reachable")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["true"]))]
    }
}

/// `approval`: a person says go (terminal, `--approve`, or `runbook approve`).
public struct ApprovalGateType: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "approval", kind: .gate,
        summary: "Wait for a person: an answer at the terminal, `--approve GATE`, or `runbook approve RUN GATE`. Unattended, the run parks (exit 4) instead of hanging.",
        parameters: [
            ParameterSpec("prompt", .string, "the question shown to the approver"),
            ParameterSpec("approvers", .stringList, "names allowed to approve (any when empty)"),
            ParameterSpec("timeout", .duration, "how long to wait, counted from when the gate was first reached"),
            ParameterSpec("on_timeout", .string, "abort | rollback | proceed (default abort)"),
        ],
        outputs: [
            OutputSpec("approved_by", "string", "who approved"),
            OutputSpec("reason", "string", "the reason they gave"),
            OutputSpec("at", "timestamp", "when"),
        ],
        changes: false, undo: .none)

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] { [] }
}

/// `until`: poll a probe until a condition holds.
public struct UntilGateType: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "until", kind: .gate,
        summary: "Poll a probe every `every` until `condition` holds, printing each observation.",
        parameters: [
            ParameterSpec("probe", .string, required: true, "the probe type to poll"),
            ParameterSpec("with", .stringMap, "the probe's parameters"),
            ParameterSpec("on", .string, "where the probe runs (default: the step's target)"),
            ParameterSpec("condition", .string, required: true, "expression over `outputs` that ends the wait"),
            ParameterSpec("every", .duration, "poll interval (default 30s)"),
            ParameterSpec("timeout", .duration, "give up after this long, counted from when the gate was first reached"),
            ParameterSpec("on_timeout", .string, "abort | rollback | proceed (default abort)"),
        ],
        outputs: [OutputSpec("*", "any", "the last observation of the probe")],
        changes: false, undo: .none)

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] { [] }
}
