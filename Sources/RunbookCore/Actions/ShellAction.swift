/// `shell`: runs a command; `check` says whether it is already done, `verify` whether it worked.
public struct ShellAction: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "shell", kind: .action,
        summary:
            "Run a command (argv list) or a script (sh -c). Idempotent through `check`; undone through the step's `undo`.",
        parameters: [
            ParameterSpec(
                "run", .argv, "the command as a list of arguments; each element is passed as is, never re-split"),
            ParameterSpec(
                "script", .string, shellText: true,
                "a script run with `sh -c` (instead of `run`); values go in through `env`, never `${{ }}` in the text"),
            ParameterSpec(
                "check", .command, "a command whose exit 0 means \"already done\": the step is then skipped as ok"),
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
        idempotency: "`check` exits 0; without a `check` the step always runs",
        takesStepCheck: true)

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
        if let verify = arguments.command("verify") {
            result.append(PlannedCommand(.verify, on: host.name, spec(verify)))
        }
        return result
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        if let run = arguments.strings("run"), run.isEmpty { return ["`run` is an empty command"] }
        return []
    }

    public func runsEveryTime(_ arguments: ResolvedArguments) -> String? {
        arguments["check"] == nil || arguments["check"] == .null ? "no `check`: it runs every time" : nil
    }

    /// `check` exit 0 means done; without one there is nothing to ask.
    public func probe(_ context: ActionContext) async throws -> Observation {
        let checks = context.planned(.probe)
        guard !checks.isEmpty else {
            return Observation(done: false, summary: "no `check`: it runs every time")
        }
        for check in checks {
            let result = try await context.run(check)
            if let misconfigured = HookMisconfigured(check.command, result, host: context.host) {
                throw misconfigured
            }
            if !result.succeeded {
                return Observation(
                    done: false, summary: "check \(CommandFailure.status(result)): not done yet", result: result)
            }
        }
        return Observation(done: true, summary: "check exited 0: already done")
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        var effect = try await runCommands(context.planned(.apply), context: context.phase(.apply), what: "run")
        if let result = effect.result {
            effect.outputs = [
                "exit_code": result.exitCode.map { .int(Int($0)) } ?? .null,
                "stdout": .string(result.stdout), "stderr": .string(result.stderr),
            ]
        }
        return effect
    }
}

/// A hook (`check`) that could not run at all: exit 127 (the program is not found) or 126 (it is
/// not executable). That is a misconfiguration of the runbook or the host, not work left to do,
/// so the plan and the run say so (naming the program) instead of "not done yet".
public struct HookMisconfigured: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init?(_ command: CommandSpec, _ result: CommandResult, host: String) {
        guard !result.timedOut, let code = result.exitCode, code == 127 || code == 126 else { return nil }
        let stderr = result.stderr.split(separator: "\n").last.map { ": \($0)" } ?? ""
        let program = command.argv.first ?? ""
        // `sh -c TEXT` names the missing program only on its stderr.
        let what =
            ["/bin/sh", "sh"].contains(program)
            ? "a program its script runs \(code == 127 ? "is not found" : "cannot be executed")"
            : "'\(program)' \(code == 127 ? "is not found" : "is not executable")"
        message =
            "check `\(command.shellText.prefix(120))` cannot run on \(host): \(what) (exit \(code)\(stderr));"
            + " a misconfiguration, not work left to do: install it or fix the path"
    }

    public var description: String { message }
}
