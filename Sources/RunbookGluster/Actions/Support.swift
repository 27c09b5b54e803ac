import Foundation
import RunbookCore
import RunbookExecution

/// Runs gluster commands for one step on its host and turns failures into `GlusterError`s.
struct GlusterClient: Sendable {
    let context: ActionContext
    let cli: GlusterCLI

    init(_ context: ActionContext) {
        self.context = context
        self.cli = GlusterCLI(commands: context.node.commands)
    }

    /// Runs a command; transport failures (unreachable host) propagate as `TransportError`.
    func run(_ command: CommandSpec) async throws -> (GlusterOutput, CommandResult) {
        let result = try await context.run(command)
        if result.timedOut {
            throw GlusterError(.commandFailed, GlusterOutput(command: command, host: context.host, result: result),
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

/// Argument access that fails with a message naming the step, for the few values the compiler
/// cannot guarantee (required parameters are checked at validate time).
extension ActionContext {
    func required(_ name: String) throws -> String {
        guard let value = arguments.string(name), !value.isEmpty else {
            throw GlusterArgumentError(message: "step \(node.id) on \(host): `\(name)` is required")
        }
        return value
    }

    func flag(_ name: String, default value: Bool = false) -> Bool {
        arguments.bool(name) ?? (arguments.string(name).map { ["true", "yes", "on", "1"].contains($0.lowercased()) } ?? value)
    }
}

/// A step's arguments do not allow running it.
struct GlusterArgumentError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// JSON for `Observation.undoState`.
enum UndoJSON {
    static func encode<T: Encodable>(_ value: T) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let data = text?.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}

/// Comparing option values the way gluster reads them: booleans in any spelling are equal.
enum OptionValue {
    static let truthy: Set<String> = ["on", "yes", "true", "enable", "enabled", "1"]
    static let falsy: Set<String> = ["off", "no", "false", "disable", "disabled", "0"]

    static func same(_ a: String, _ b: String) -> Bool {
        let x = a.trimmingCharacters(in: .whitespaces), y = b.trimmingCharacters(in: .whitespaces)
        if x == y { return true }
        let lx = x.lowercased(), ly = y.lowercased()
        if truthy.contains(lx) && truthy.contains(ly) { return true }
        if falsy.contains(lx) && falsy.contains(ly) { return true }
        return false
    }
}

/// Shared checks on resolved arguments (values not yet known, `${{ ... }}`, are not checked).
enum ArgumentChecks {
    static func isUnknown(_ text: String) -> Bool { text.contains("${{") }

    static func volume(_ arguments: ResolvedArguments, _ name: String = "volume") -> [String] {
        guard let value = arguments.string(name), !isUnknown(value) else { return [] }
        if value.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) == nil {
            return ["`\(name)` '\(value)' is not a gluster volume name (letters, digits, _ . -)"]
        }
        return []
    }

    /// `host::vol` or `user@host::vol`; `host:vol` and `host:::vol` are rejected by gluster.
    static func secondary(_ arguments: ResolvedArguments) -> [String] {
        guard let value = arguments.string("secondary"), !isUnknown(value) else { return [] }
        let pattern = "^([A-Za-z0-9_.-]+@)?[^:@\\s]+::[A-Za-z0-9_.-]+$"
        if value.range(of: pattern, options: .regularExpression) == nil {
            return ["`secondary` '\(value)' must be HOST::VOLUME or USER@HOST::VOLUME (gluster rejects host:vol and host:::vol)"]
        }
        return []
    }

    static func session(_ arguments: ResolvedArguments) -> [String] { volume(arguments, "primary") + secondary(arguments) }
}

extension ExecutableAction {
    /// Runs the user's own `verify` commands (the ones that are not this type's own re-reads).
    func userVerify(_ context: ActionContext) async throws -> EffectResult? {
        let own = Set(context.node.commands.filter { $0.purpose == .probe }.map(\.command))
        let extra = context.node.commands.filter { $0.purpose == .verify && !own.contains($0.command) }
        guard !extra.isEmpty else { return nil }
        for command in extra {
            let result = try await context.run(command.command, on: command.host)
            if !result.succeeded {
                let code = result.exitCode.map { "exited \($0)" } ?? (result.timedOut ? "timed out" : "was killed")
                return EffectResult(succeeded: false, summary: "verify `\(command.command.shellText.prefix(120))` on \(command.host) \(code)", result: result)
            }
        }
        return nil
    }
}

/// The typed actions' shared verify: re-probe (a few times, state changes can lag) until done,
/// then run the step's own `verify` commands, if any.
public protocol ReprobingAction: ExecutableAction {
    /// Seconds between verify attempts.
    var verifyDelay: Double { get }
}

extension ReprobingAction {
    /// Re-probes up to 3 times, `verifyDelay` apart, until the probe says done.
    public func verify(_ context: ActionContext) async throws -> EffectResult {
        var last = Observation(done: false, summary: "not verified")
        for attempt in 0..<3 {
            if attempt > 0, verifyDelay > 0 { try await Task.sleep(for: .seconds(verifyDelay)) }
            last = try await probe(context)
            if last.done { break }
        }
        guard last.done else { return EffectResult(succeeded: false, summary: "verify on \(context.host): still not done: \(last.summary)") }
        if let failed = try await userVerify(context) { return failed }
        return EffectResult(succeeded: true, summary: "verified: \(last.summary)", outputs: last.outputs)
    }
}
