import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import RunbookTestSupport
import Testing

/// `gluster.epoch` (issue 23, item 4) over the real `volume info` output of the 10.3 capture,
/// with the `user.runbook.*` options added as glusterd lists any option set on a volume.
@Suite struct EpochActionTests {
    static let step = "action: gluster.epoch\nwith: {volume: slavevol, from: primary, authority: secondary}"
    static let readOnly = "<name>features.read-only</name>\n            <value>on</value>"

    /// The capture's `volume info` with slavevol marked (nil: not marked).
    static func info(epoch: Int?, authority: String? = nil, run: String? = nil) throws -> CommandResult {
        let capture = try Fixture("live-10.3-volume-info-all.xml").text
        var options = ""
        for (name, value) in [
            ("user.runbook.authority", authority), ("user.runbook.run", run),
            ("user.runbook.epoch", epoch.map(String.init)),
        ] {
            guard let value else { continue }
            options +=
                "\n          </option>\n          <option>\n            <name>\(name)</name>\n            <value>\(value)</value>"
        }
        #expect(capture.contains(readOnly))
        return Lab.ok(capture.replacingOccurrences(of: readOnly, with: readOnly + options))
    }

    func context(_ node: PlanNode, _ host: FakeHost, _ phase: PlannedCommand.Purpose, epoch: Int?) -> ActionContext {
        var context = Lab.context(node, host, phase: phase)
        context.runEpoch = epoch
        context.runID = "run-7"
        return context
    }

    @Test func thePlanShowsTheAuthorityTheRunAndTheEpochToBeFilledIn() throws {
        let node = try Lab.node(Self.step, on: "gfs-b1")
        #expect(
            node.commands.map { "\($0.purpose) \($0.command.argv.dropFirst(2).joined(separator: " "))" } == [
                "probe --xml volume info slavevol",
                "apply --xml volume set slavevol user.runbook.authority secondary user.runbook.run <run id> user.runbook.epoch <run epoch>",
                "verify --xml volume info slavevol",
            ])
        let type = try #require(ActionRegistry.withGluster[node.typeName] as? any EpochFencing)
        #expect(type.resource(node.arguments) == "volume slavevol")
        #expect(type.expectedAuthority(node.arguments) == "primary")
    }

    @Test func itReadsAMarkOrNoneAndRefusesOneThatIsNotANumber() async throws {
        let node = try Lab.node(Self.step, on: "gfs-b1")
        let type = try #require(ActionRegistry.withGluster[node.typeName] as? any EpochFencing)
        let host = FakeHost()
        host.on(
            "--mode=script --xml volume info slavevol", try Self.info(epoch: nil),
            try Self.info(epoch: 6, authority: "primary", run: "run-6"), try Self.info(epoch: nil, authority: "x"),
            Lab.ok(
                try Self.info(epoch: 6).stdout.replacingOccurrences(of: "<value>6</value>", with: "<value>six</value>"))
        )
        #expect(try await type.readMark(Lab.context(node, host)) == .unmarked)
        #expect(
            try await type.readMark(Lab.context(node, host)) == EpochMark(epoch: 6, authority: "primary", run: "run-6"))
        #expect(try await type.readMark(Lab.context(node, host)) == EpochMark(epoch: 0, authority: "x"))
        await #expect {
            _ = try await type.readMark(Lab.context(node, host))
        } throws: { "\($0)".contains("holds user.runbook.epoch 'six', which is not an epoch") }
    }

    /// Probe, apply (authority, run, epoch, filled in), verify, undo back to the previous mark.
    @Test func itMarksTheRunsEpochAndItsUndoPutsThePreviousMarkBack() async throws {
        let node = try Lab.node(Self.step, on: "gfs-b1")
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let host = FakeHost()
        let before = try Self.info(epoch: 6, authority: "primary", run: "run-6")
        let after = try Self.info(epoch: 7, authority: "secondary", run: "run-7")
        host.on("--mode=script --xml volume info slavevol", before, after, after)
        for set in [
            "user.runbook.authority secondary user.runbook.run run-7 user.runbook.epoch 7",
            "user.runbook.authority primary user.runbook.run run-6 user.runbook.epoch 6",
        ] {
            host.on("--mode=script --xml volume set slavevol \(set)", Lab.okXML)
        }
        let observation = try await type.probe(context(node, host, .probe, epoch: 7))
        #expect(!observation.done)
        #expect(
            observation.summary
                == "volume slavevol holds epoch 6 (authority primary, run run-6); this run marks it epoch 7 for secondary"
        )
        let applied = try await type.apply(context(node, host, .apply, epoch: 7), observation: observation)
        #expect(applied.succeeded, "\(applied.summary)")
        #expect(applied.outputs["epoch"] == .int(7))
        let verified = try await type.verify(context(node, host, .verify, epoch: 7))
        #expect(verified.succeeded, "\(verified.summary)")
        let undone = try await type.undo(context(node, host, .undo, epoch: 7), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(
            host.changes == [
                "--mode=script --xml volume set slavevol user.runbook.authority secondary user.runbook.run run-7 user.runbook.epoch 7",
                "--mode=script --xml volume set slavevol user.runbook.authority primary user.runbook.run run-6 user.runbook.epoch 6",
            ])
    }

    /// glusterd refuses `volume reset` of a `user.*` option (seen on the lab's 10.3: "Did you
    /// mean ...?"), so the undo of a first mark sets epoch 0 and `none`, which reads as unmarked.
    @Test func theUndoOfAFirstMarkSetsNoneWhichReadsAsUnmarked() async throws {
        let node = try Lab.node(Self.step, on: "gfs-b1")
        let type = try #require(ActionRegistry.withGluster[node.typeName] as? any EpochFencing)
        let host = FakeHost()
        host.on(
            "--mode=script --xml volume info slavevol", try Self.info(epoch: 7, authority: "secondary", run: "run-7"),
            try Self.info(epoch: 0, authority: "none", run: "none"))
        host.on(
            "--mode=script --xml volume set slavevol user.runbook.authority none user.runbook.run none user.runbook.epoch 0",
            Lab.okXML)
        let undone = try await type.undo(
            context(node, host, .undo, epoch: 7), undoState: #"{"epoch":0}"#)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(
            host.changes == [
                "--mode=script --xml volume set slavevol user.runbook.authority none user.runbook.run none user.runbook.epoch 0"
            ])
        #expect(try await type.readMark(Lab.context(node, host)) == .unmarked)
    }

    /// A failover run again after it succeeded changes nothing: the volume already names its
    /// authority at the newest epoch the fence read (7, this run writing 8).
    @Test func theSameAuthorityAtTheNewestEpochIsAlreadyDone() async throws {
        let node = try Lab.node(Self.step, on: "gfs-b1")
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let host = FakeHost()
        host.on(
            "--mode=script --xml volume info slavevol", try Self.info(epoch: 7, authority: "secondary", run: "run-7"),
            try Self.info(epoch: 7, authority: "primary", run: "run-7"), try Self.info(epoch: 6, authority: "secondary")
        )
        let again = try await type.probe(context(node, host, .probe, epoch: 8))
        #expect(again.done, "\(again.summary)")
        #expect(
            again.summary
                == "volume slavevol already holds epoch 7 (authority secondary, run run-7), the newest epoch: nothing to mark"
        )
        // Another authority at the newest, or this one at an older epoch: to be marked.
        #expect(try await !type.probe(context(node, host, .probe, epoch: 8)).done)
        #expect(try await !type.probe(context(node, host, .probe, epoch: 8)).done)
    }

    /// The run's own mark is done; a newer one (or the same epoch of another run) fails the
    /// step before it changes anything; an undo leaves a mark another run wrote alone.
    @Test func aNewerMarkIsSplitBrainAndIsNeverUndone() async throws {
        let node = try Lab.node(Self.step, on: "gfs-b1")
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let host = FakeHost()
        host.on(
            "--mode=script --xml volume info slavevol", try Self.info(epoch: 7, authority: "secondary", run: "run-7"),
            try Self.info(epoch: 8, authority: "primary", run: "run-8"),
            try Self.info(epoch: 7, authority: "secondary", run: "run-other"),
            try Self.info(epoch: 8, authority: "primary", run: "run-8"))
        #expect(try await type.probe(context(node, host, .probe, epoch: 7)).done)
        for _ in 0..<2 {
            await #expect {
                _ = try await type.probe(context(node, host, .probe, epoch: 7))
            } throws: { "\($0)".hasPrefix("split brain: volume slavevol on gfs-b1 holds epoch") }
        }
        let undone = try await type.undo(
            context(node, host, .undo, epoch: 7), undoState: #"{"authority":"primary","epoch":6,"run":"run-6"}"#)
        #expect(!undone.succeeded)
        #expect(undone.summary.contains("another run marked it since; not undone"), "\(undone.summary)")
        #expect(host.changes.isEmpty)
    }
}
