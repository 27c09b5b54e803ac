import Foundation
import RunbookCore

/// Runs gluster commands for one step on its host and turns failures into `GlusterError`s.
struct GlusterClient: Sendable {
    let context: ActionContext
    let cli: GlusterCLI

    init(_ context: ActionContext) {
        self.context = context
        self.cli = GlusterCLI(settings: context.settings)
    }

    /// Runs a command; transport failures (unreachable host) propagate as `TransportError`.
    func run(_ command: CommandSpec) async throws -> (GlusterOutput, CommandResult) {
        let result = try await context.run(command)
        if result.timedOut {
            throw GlusterError(
                .commandFailed, GlusterOutput(command: command, host: context.host, result: result),
                "timed out after \(Int(result.duration.rounded()))s")
        }
        return (GlusterOutput(command: command, host: context.host, result: result), result)
    }

    /// Runs a command that changes something and fails on a non-zero exit or `opRet`.
    func change(_ command: CommandSpec) async throws -> CommandResult {
        let (output, result) = try await run(command)
        let isXML = command.argv.contains("--xml") && output.stdout.trimmingCharacters(in: .whitespaces).hasPrefix("<")
        if isXML {
            _ = try GlusterEnvelope.checked(output)
        } else if result.exitCode != 0 {
            let code = result.exitCode.map { "exited \($0)" } ?? "was killed"
            let first = output.combined.split(separator: "\n").first.map(String.init) ?? "no output"
            throw GlusterError(.commandFailed, output, "\(code): \(first)")
        }
        return result
    }

    // MARK: Reads

    func volume(_ name: String) async throws -> GlusterVolume {
        let (output, _) = try await run(cli.volumeInfo(name))
        return try GlusterParse.volume(name, in: output)
    }

    func geoRepStatus(_ primary: String, _ secondary: String) async throws -> GeoRepStatus {
        let (output, _) = try await run(cli.geoRepStatus(primary, secondary))
        return try GlusterParse.geoRepStatus(output)
    }

    func geoRepConfig(_ primary: String, _ secondary: String) async throws -> GeoRepConfig {
        let (output, _) = try await run(cli.geoRepConfigGet(primary, secondary))
        return try GlusterParse.geoRepConfig(output)
    }
}
