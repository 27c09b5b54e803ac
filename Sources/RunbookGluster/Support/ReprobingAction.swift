import Foundation
import RunbookCore

extension ActionType {
    /// Runs the user's own `verify` commands (the ones that are not this type's own re-reads).
    func userVerify(_ context: ActionContext) async throws -> EffectResult? {
        let own = Set(context.node.commands.filter { $0.purpose == .probe }.map(\.command))
        let extra = context.node.commands.filter { $0.purpose == .verify && !own.contains($0.command) }
        guard !extra.isEmpty else { return nil }
        for command in extra {
            let result = try await context.run(command.command, on: command.host)
            if !result.succeeded {
                let code = result.exitCode.map { "exited \($0)" } ?? (result.timedOut ? "timed out" : "was killed")
                return EffectResult(
                    succeeded: false,
                    summary: "verify `\(command.command.shellText.prefix(120))` on \(command.host) \(code)",
                    result: result)
            }
        }
        return nil
    }
}

/// The typed actions' shared verify: re-probe (a few times, state changes can lag) until done,
/// then run the step's own `verify` commands, if any.
public protocol ReprobingAction: ActionType {
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
        guard last.done else {
            return EffectResult(succeeded: false, summary: "verify on \(context.host): still not done: \(last.summary)")
        }
        if let failed = try await userVerify(context) { return failed }
        return EffectResult(succeeded: true, summary: "verified: \(last.summary)", outputs: last.outputs)
    }
}

extension ActionType {
    /// Runs the step's own `undo:` commands when it declared some (they replace the derived undo).
    func runDeclaredUndo(_ context: ActionContext) async throws -> EffectResult? {
        guard case .commands = context.node.undo else { return nil }
        let commands = context.node.undo.commands(.undo)
        var last: CommandResult?
        for command in commands {
            let result = try await context.run(command.command, on: command.host)
            last = result
            if !result.succeeded {
                let output = GlusterOutput(command: command.command, host: command.host, result: result)
                let code = result.exitCode.map { "exited \($0)" } ?? (result.timedOut ? "timed out" : "was killed")
                return EffectResult(
                    succeeded: false,
                    summary: "undo `\(output.command.prefix(120))` on \(command.host) \(code): \(output.start)",
                    result: result)
            }
        }
        return EffectResult(succeeded: true, summary: commands.isEmpty ? "no undo command" : "undo ok", result: last)
    }
}
