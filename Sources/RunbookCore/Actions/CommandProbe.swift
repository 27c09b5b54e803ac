/// `command`: a read-only command whose exit code and output a step can test.
public struct CommandProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "command", kind: .probe,
        summary:
            "Run a read-only command (argv list or script) and expose its exit code and output; by default it must exit 0.",
        parameters: [
            ParameterSpec("run", .argv, "the command as a list of arguments"),
            ParameterSpec(
                "script", .string, shellText: true,
                "a script run with `sh -c` (instead of `run`); values go in through `env`, never `${{ }}` in the text"),
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
        let spec = CommandSpec(
            argv: argv, environment: arguments.stringMap("env"), workingDirectory: arguments.string("cwd"))
        return [PlannedCommand(.probe, on: host.name, spec)]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        guard let command = context.planned(.probe).first else {
            return Observation(done: true, summary: "no command")
        }
        let result = try await context.run(command)
        let outputs: [String: Value] = [
            "exit_code": result.exitCode.map { .int(Int($0)) } ?? .int(-1),
            "stdout": .string(Self.trimmed(result.stdout)), "stderr": .string(Self.trimmed(result.stderr)),
        ]
        let status = result.timedOut ? "timed out" : result.exitCode.map { "exited \($0)" } ?? "was killed"
        let firstLine = Self.trimmed(result.stdout).split(separator: "\n").first.map { ": \($0.prefix(80))" } ?? ""
        return Observation(done: true, summary: "\(status)\(firstLine)", outputs: outputs, result: result)
    }

    static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while text.last == "\n" || text.last == "\r" { text = text.dropLast() }
        return String(text)
    }
}
