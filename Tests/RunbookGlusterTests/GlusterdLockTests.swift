import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// glusterd's "Another transaction is in progress": the pack waits and runs the command again
/// (each try journaled with the attempt's commands), a bounded number of times. The refusals are
/// the CLI's text and `--xml` forms of glusterd's messages (see `GlusterdLock`).
@Suite struct GlusterdLockTests {
    let session = "volume geo-replication mastervol vm::slavevol"
    static let busyText = CommandResult(
        exitCode: 1, stdout: "",
        stderr: "geo-replication command failed\nAnother transaction is in progress for mastervol. "
            + "Please try again after some time.\n")

    func checkpoint() throws -> (PlanNode, any ActionType) {
        let node = try Lab.node(
            "action: gluster.georep.checkpoint\nwith: {primary: mastervol, secondary: vm::slavevol}")
        return (node, try #require(ActionRegistry.withGluster[node.typeName]))
    }

    func configAnswer() throws -> CommandResult {
        Lab.ok(
            try Fixture("live-10.3-georep-config.xml").text.replacingOccurrences(
                of: "<checkpoint>0</checkpoint>", with: "<checkpoint>1795595156</checkpoint>"))
    }

    @Test func theMessagesAreRecognisedOnlyInAFailure() {
        func output(_ result: CommandResult) -> GlusterOutput {
            GlusterOutput(command: CommandSpec(argv: ["gluster"]), host: "h", result: result)
        }
        #expect(GlusterdLock.isBusy(output(Self.busyText)))
        #expect(
            GlusterdLock.isBusy(
                output(
                    Lab.failedXML(
                        "Locking failed on gfs-a2. Another transaction is in progress for mastervol. Please try again after some time."
                    ))))
        #expect(
            GlusterdLock.isBusy(
                output(Lab.failedXML("Another transaction could be in progress. Please try again after some time."))))
        #expect(!GlusterdLock.isBusy(output(Lab.failedXML("Volume gv9 does not exist"))))
        // A volume whose description happens to say it, in a successful answer, is not a refusal.
        #expect(!GlusterdLock.isBusy(output(Lab.ok("Another transaction is in progress"))))
    }

    @Test func aBusyGlusterdIsWaitedForAndTheCommandRunAgain() async throws {
        let (node, action) = try checkpoint()
        let host = FakeHost()
        host.on(
            "--mode=script \(session) config checkpoint now", Self.busyText, Self.busyText,
            Lab.ok("geo-replication config updated successfully\n"))
        host.on("--mode=script --xml \(session) config", try configAnswer())
        let log = CommandLog()
        let context = ActionContext(
            node: node, host: node.host, settings: Lab.settings(node.host), phase: .apply, timeout: 30,
            runner: ClosureRunner(run: host.runner), log: log)
        let observation = try await action.probe(Lab.context(node, host))
        let effect = try await GlusterdLock.$delays.withValue([0.01, 0.01, 0.01]) {
            try await action.apply(context, observation: observation)
        }
        #expect(effect.succeeded, "\(effect.summary)")
        let tries = host.ran.filter { $0.suffix(2) == ["checkpoint", "now"] }
        #expect(tries.count == 3)
        // Every try is in what the attempt journals as run.
        #expect(log.commands.filter { $0.command.argv.suffix(2) == ["checkpoint", "now"] }.count == 3)
    }

    @Test func aGlusterdBusyForLongerThanTheBoundIsAnErrorThatSaysSo() async throws {
        let (node, action) = try checkpoint()
        let host = FakeHost()
        host.on("--mode=script \(session) config checkpoint now", Self.busyText)
        let observation = try await action.probe(Lab.context(node, host))
        await #expect {
            _ = try await GlusterdLock.$delays.withValue([0.01, 0.01]) {
                try await action.apply(Lab.context(node, host, phase: .apply), observation: observation)
            }
        } throws: { error in
            "\(error)".contains("refused it 3 times") && "\(error)".contains("another transaction held its lock")
        }
        #expect(host.ran.filter { $0.suffix(2) == ["checkpoint", "now"] }.count == 3)
    }

    @Test func anOrdinaryFailureIsNotRetried() async throws {
        let (node, action) = try checkpoint()
        let host = FakeHost()
        host.on(
            "--mode=script \(session) config checkpoint now",
            CommandResult(
                exitCode: 1, stderr: "Geo-replication session between mastervol and vm::slavevol does not exist."))
        let observation = try await action.probe(Lab.context(node, host))
        _ = try? await GlusterdLock.$delays.withValue([0.01, 0.01]) {
            try await action.apply(Lab.context(node, host, phase: .apply), observation: observation)
        }
        #expect(host.ran.filter { $0.suffix(2) == ["checkpoint", "now"] }.count == 1)
    }
}
