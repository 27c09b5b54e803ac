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

    // MARK: A peer of the volume down (glusterd-geo-rep.c at v10.3, lines 3180-3184 and 3722-3726)

    /// glusterd's text, with the lab's names: "Peer %s, which is a part of %s volume, is down.
    /// Please bring up the peer and retry.", as the CLI prints a staging failure.
    static let peerDownText = CommandResult(
        exitCode: 1, stdout: "",
        stderr: "Staging failed on localhost. Error: Peer gfs-a2, which is a part of gvprimary volume, is down."
            + " Please bring up the peer and retry.\ngeo-replication command failed\n")

    func stop() throws -> (PlanNode, any ActionType, String) {
        let node = try Lab.node(
            "action: gluster.georep.stop\nwith: {primary: gvprimary, secondary: gfs-b1::gvsecondary}")
        let action = try #require(ActionRegistry.withGluster[node.typeName])
        let command = try #require(node.commands.first { $0.purpose == .apply }).command.argv
        return (node, action, command.dropFirst().joined(separator: " "))
    }

    @Test func aDownPeerIsRecognisedInTextAndXMLAndOnlyInAFailure() {
        func output(_ result: CommandResult) -> GlusterOutput {
            GlusterOutput(command: CommandSpec(argv: ["gluster"]), host: "h", result: result)
        }
        let text = GlusterdLock.downPeer(output(Self.peerDownText))
        #expect(text?.peer == "gfs-a2" && text?.volume == "gvprimary")
        let xml = GlusterdLock.downPeer(
            output(
                Lab.failedXML(
                    "Peer gfs-a2, which is a part of gvprimary volume, is down. Please bring up the peer and retry.")))
        #expect(xml?.peer == "gfs-a2")
        #expect(
            GlusterdLock.downPeer(output(Lab.ok("Peer gfs-a2, which is a part of gvprimary volume, is down."))) == nil)
        #expect(!GlusterdLock.isBusy(output(Self.peerDownText)), "not the lock")
    }

    @Test func aDownPeerIsWaitedForAndTheCommandRunAgain() async throws {
        let (node, action, stop) = try stop()
        let host = FakeHost()
        host.on(stop, Self.peerDownText, Self.peerDownText, Lab.okXML)
        let effect = try await GlusterdLock.$peerDelays.withValue([0.01, 0.01, 0.01]) {
            try await action.apply(
                Lab.context(node, host, phase: .apply), observation: Observation(done: false, summary: ""))
        }
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(host.ran.filter { $0.dropFirst().joined(separator: " ") == stop }.count == 3)
    }

    @Test func aPeerDownForLongerThanTheBoundIsAnErrorThatNamesItAndSaysWhatToDo() async throws {
        let (node, action, stop) = try stop()
        let host = FakeHost()
        host.on(stop, Self.peerDownText)
        await #expect {
            _ = try await GlusterdLock.$peerDelays.withValue([0.01, 0.01]) {
                try await action.apply(
                    Lab.context(node, host, phase: .apply), observation: Observation(done: false, summary: ""))
            }
        } throws: { error in
            let text = "\(error)"
            return text.contains("refused it 3 times") && text.contains("peer gfs-a2, which holds a brick of gvprimary")
                && text.contains("`gluster peer status`") && text.contains("resume")
        }
        #expect(host.ran.filter { $0.dropFirst().joined(separator: " ") == stop }.count == 3)
    }
}
