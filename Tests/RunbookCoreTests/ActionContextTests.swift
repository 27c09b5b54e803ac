import Foundation
import RunbookCore
import Synchronization
import Testing

/// The context runs only what the plan shows: the plan's promise holds by construction.
@Suite struct ActionContextTests {
    /// A runner that records what reached it.
    final class Recorder: CommandRunner {
        let ran = Mutex<[[String]]>([])
        func run(on host: String, _ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws
            -> CommandResult
        {
            ran.withLock { $0.append(command.argv) }
            return CommandResult(exitCode: 0, stdout: "")
        }
        func checkConnection(_ host: String) async -> ConnectionCheck { ConnectionCheck(reachable: true) }
    }

    func node(undo: UndoPlan = .none) throws -> PlanNode {
        let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            steps:
              - id: s
                on: localhost
                action: shell
                with: {run: [touch, /tmp/x], check: [test, -e, /tmp/x]}
                undo: {action: shell, with: {run: [rm, -f, /tmp/x]}}
            """
        let inventory = "apiVersion: runbook/v1\nkind: Inventory\nmetadata: {name: i}\nhosts: {}\n"
        var diagnostics = Diagnostics()
        let runbook = try #require(RunbookLoader.load(text: text, file: "r.yaml", diagnostics: &diagnostics))
        let loaded = try #require(InventoryLoader.load(text: inventory, file: "i.yaml", diagnostics: &diagnostics))
        let request = Compiler.Request(runbook: runbook, inventory: loaded, mode: nil, params: [], environment: [:])
        let plan = try #require(
            Compiler(registry: .builtIn).compile(request, diagnostics: &diagnostics), "\(diagnostics.all)")
        var node = try #require(plan.nodes.first)
        if undo != .none { node.undo = undo }
        return node
    }

    @Test func runsPlannedCommandsAndRecordsThem() async throws {
        let recorder = Recorder()
        let log = CommandLog()
        let node = try node()
        let context = ActionContext(
            node: node, host: "localhost", phase: .apply, timeout: nil, runner: recorder, log: log)
        let effect = try await ShellAction().apply(context, observation: Observation(done: false, summary: ""))
        #expect(effect.succeeded)
        #expect(recorder.ran.withLock { $0 } == [["touch", "/tmp/x"]])
        #expect(log.commands.map(\.command.argv) == [["touch", "/tmp/x"]])
        #expect(log.commands.map(\.purpose) == [.apply])
    }

    @Test func refusesACommandThePlanDoesNotShow() async throws {
        let recorder = Recorder()
        let context = ActionContext(node: try node(), host: "localhost", timeout: nil, runner: recorder)
        await #expect(throws: UnplannedCommandError.self) {
            _ = try await context.run(CommandSpec(argv: ["rm", "-rf", "/"]))
        }
        // The same command on another host is not the planned one either.
        await #expect(throws: UnplannedCommandError.self) {
            _ = try await context.run(CommandSpec(argv: ["touch", "/tmp/x"]), on: "elsewhere")
        }
        #expect(recorder.ran.withLock { $0 }.isEmpty)
    }

    @Test func aDeclaredUndoIsPlannedAndADerivedOneMayDecideAtRunTime() async throws {
        let recorder = Recorder()
        let declared = ActionContext(node: try node(), host: "localhost", phase: .undo, timeout: nil, runner: recorder)
        _ = try await declared.run(CommandSpec(argv: ["rm", "-f", "/tmp/x"]))
        let derived = ActionContext(
            node: try node(undo: .derived("restore")), host: "localhost", phase: .undo, timeout: nil, runner: recorder)
        _ = try await derived.run(CommandSpec(argv: ["echo", "restored"]))
        let probing = ActionContext(
            node: try node(undo: .derived("restore")), host: "localhost", phase: .probe, timeout: nil, runner: recorder)
        await #expect(throws: UnplannedCommandError.self) {
            _ = try await probing.run(CommandSpec(argv: ["echo", "restored"]))
        }
        #expect(recorder.ran.withLock { $0 } == [["rm", "-f", "/tmp/x"], ["echo", "restored"]])
    }

    @Test func placeholdersMatchWhatWasFilledIn() {
        let template = CommandSpec(argv: [
            "find", "<each local brick of gv0>", "-path", "<each local brick of gv0>/.glusterfs",
        ])
        let filled = template.filling(["each local brick of gv0": "/bricks/b1"])
        #expect(filled.argv == ["find", "/bricks/b1", "-path", "/bricks/b1/.glusterfs"])
        #expect(template.matches(filled.argv))
        #expect(!template.matches(["find", "/bricks/b1", "-path", "/bricks/b1/.trashcan"]))
        #expect(!template.matches(["find", "/bricks/b1"]))
        #expect(CommandSpec(argv: ["true"]).matches(["true"]))
    }
}
