import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Synchronization
import Testing

/// `gluster.georep.prove` over a scripted cluster: a session whose Active worker sits in
/// Changelog Crawl with LAST_SYNCED frozen (what GlusterFS does when a worker's registration with
/// its brick loses the race in changelog-ev-handle.c: no live changelog ever reaches it) is
/// restarted and proven; one that stays stalled fails naming it; a rollback of
/// `gluster.georep.stop` with `marker_dir` proves the session it starts.
@Suite struct GeoRepProveTests {
    /// A cluster of one Active worker: stalled until `healAfterRestarts` restarts, then the
    /// checkpoint set after the marker completes.
    final class Cluster: Sendable {
        struct State {
            var running = true
            var restarts = 0
            var checkpoints = 0
            var markerWritten = false
            var ran: [String] = []
        }
        let state = Mutex(State())
        let healAfterRestarts: Int
        /// The Active worker's FAILURES before the marker is written, and after.
        let failures: (before: Int, after: Int)
        init(healAfterRestarts: Int, failures: (before: Int, after: Int) = (0, 0)) {
            self.healAfterRestarts = healAfterRestarts
            self.failures = failures
        }

        var ran: [String] { state.withLock { $0.ran } }

        func answer(_ command: CommandSpec) -> CommandResult {
            let text = command.argv.joined(separator: " ")
            return state.withLock { state in
                state.ran.append(text)
                if text.hasSuffix("stop force") {
                    state.running = false
                } else if text.hasSuffix("start force") {
                    if !state.running && state.checkpoints > 0 { state.restarts += 1 }
                    state.running = true
                } else if text.contains("config checkpoint now") {
                    state.checkpoints += 1
                    state.markerWritten = false
                } else if command.argv.first == "touch" {
                    state.markerWritten = true
                }
                guard text.hasSuffix("status detail") else { return Lab.ok() }
                let healed = state.restarts >= healAfterRestarts
                let checkpoint = state.checkpoints == 0 ? "N/A" : "2026-12-07 01:0\(state.checkpoints):00"
                return Lab.ok(
                    GeoRepProveTests.status(
                        running: state.running, checkpoint: checkpoint,
                        completed: healed && state.markerWritten && state.checkpoints > 0,
                        lastSynced: healed && state.markerWritten ? "2026-12-07 01:09:30" : "2026-12-07 00:59:00",
                        failures: state.markerWritten ? failures.after : failures.before))
            }
        }

        var runner: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult {
            { [self] _, command, _, _ in self.answer(command) }
        }
    }

    /// `status detail --xml` of one Active worker (the shape of live-10.3-georep-status-detail-checkpoint.xml).
    static func status(
        running: Bool, checkpoint: String, completed: Bool, lastSynced: String, failures: Int = 0
    ) -> String {
        """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><geoRep><volume><name>gvprimary</name><sessions>
        <session><session_secondary>u:ssh://gfs-b1::gvsecondary:v</session_secondary><pair>
        <primary_node>gfs-a1</primary_node><primary_brick>/bricks/gvprimary</primary_brick>
        <secondary_user>root</secondary_user><secondary>gfs-b1::gvsecondary</secondary><secondary_node>gfs-b1</secondary_node>
        <status>\(running ? "Active" : "Stopped")</status><crawl_status>\(running ? "Changelog Crawl" : "N/A")</crawl_status>
        <entry>0</entry><data>0</data><meta>0</meta><failures>\(running ? String(failures) : "N/A")</failures>
        <checkpoint_completed>\(completed ? "Yes" : "No")</checkpoint_completed>
        <primary_node_uuid>u</primary_node_uuid><last_synced>\(lastSynced)</last_synced>
        <checkpoint_time>\(checkpoint)</checkpoint_time>
        <checkpoint_completion_time>\(completed ? "2026-12-07 01:09:31" : "N/A")</checkpoint_completion_time>
        </pair></session></sessions></volume></geoRep></cliOutput>
        """
    }

    let step = """
        action: gluster.georep.prove
        with: {primary: gvprimary, secondary: "gfs-b1::gvsecondary", marker_dir: /mnt/gvprimary/, every: 1s, stall_after: 2s, restarts: RESTARTS}
        """

    func prove(_ cluster: Cluster, restarts: Int) async throws -> EffectResult {
        let node = try Lab.node(step.replacingOccurrences(of: "RESTARTS", with: String(restarts)))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(
            ActionContext(
                node: node, host: "gfs-a1", settings: Lab.settings("gfs-a1"), timeout: 30, runner: cluster.runner))
        return try await type.apply(
            ActionContext(
                node: node, host: "gfs-a1", settings: Lab.settings("gfs-a1"), phase: .apply, timeout: 30,
                runner: cluster.runner),
            observation: observation)
    }

    @Test func aStalledSessionIsRestartedUntilItsCheckpointCompletes() async throws {
        let cluster = Cluster(healAfterRestarts: 1)
        let result = try await prove(cluster, restarts: 2)
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.outputs["restarts"] == .int(1))
        #expect(result.outputs["replicating"] == .bool(true))
        #expect(result.summary.contains("restarted after a stall (Changelog Crawl, LAST_SYNCED"))
        let changes = cluster.ran.filter { !$0.hasSuffix("status detail") }
        #expect(
            changes.map { $0.replacingOccurrences(of: Lab.binary + " --mode=script ", with: "") } == [
                "volume geo-replication gvprimary gfs-b1::gvsecondary config checkpoint now",
                "touch /mnt/gvprimary/.runbook-prove",
                "--xml volume geo-replication gvprimary gfs-b1::gvsecondary stop force",
                "--xml volume geo-replication gvprimary gfs-b1::gvsecondary start force",
                "volume geo-replication gvprimary gfs-b1::gvsecondary config checkpoint now",
                "touch /mnt/gvprimary/.runbook-prove",
                "rm -f /mnt/gvprimary/.runbook-prove",
            ])
    }

    /// Issue 21, case 3: a checkpoint completes while entries failed (gsyncd counts them in
    /// FAILURES and goes on): not proven; the step fails naming the worker, the counts and where
    /// the `ENTRY FAILED` lines are.
    @Test func aCheckpointCompletedWhileEntriesFailedIsNotAProof() async throws {
        let cluster = Cluster(healAfterRestarts: 0, failures: (before: 0, after: 2))
        let result = try await prove(cluster, restarts: 2)
        #expect(!result.succeeded, "\(result.summary)")
        #expect(result.outputs["replicating"] == .bool(false))
        #expect(result.outputs["failures"] == .int(2))
        #expect(result.summary.contains("counted 2 failed entries while it was proven"), "\(result.summary)")
        #expect(result.summary.contains("gfs-a1:/bricks/gvprimary FAILURES 0 -> 2"), "\(result.summary)")
        #expect(result.summary.contains("/var/log/glusterfs/geo-replication/gvprimary_*/"), "\(result.summary)")
        #expect(cluster.ran.last == "rm -f /mnt/gvprimary/.runbook-prove", "the marker is removed: \(cluster.ran)")
    }

    /// With faulty_grace (a session the run does not depend on, the failback's pre-copy) the same
    /// ends the step not proven and the run goes on.
    @Test func withFaultyGraceEntriesThatFailedEndTheStepNotProven() async throws {
        let cluster = Cluster(healAfterRestarts: 0, failures: (before: 1, after: 4))
        let node = try Lab.node(
            """
            action: gluster.georep.prove
            with: {primary: gvprimary, secondary: "gfs-b1::gvsecondary", marker_dir: /mnt/gvprimary, every: 1s, faulty_grace: 30s}
            """)
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let context = ActionContext(
            node: node, host: "gfs-a1", settings: Lab.settings("gfs-a1"), phase: .apply, timeout: 30,
            runner: cluster.runner)
        let result = try await type.apply(context, observation: try await type.probe(context))
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.outputs["replicating"] == .bool(false) && result.outputs["failures"] == .int(3))
        #expect(result.summary.hasSuffix("not proven; the run goes on without it (faulty_grace)"), "\(result.summary)")
        #expect(result.summary.contains("FAILURES 1 -> 4"), "\(result.summary)")
    }

    /// FAILURES is cumulative over the session's life: failures from before the proof that do not
    /// grow while it runs do not fail it; the summary says they are there.
    @Test func failuresFromBeforeTheProofAreSaidNotHeldAgainstIt() async throws {
        let cluster = Cluster(healAfterRestarts: 0, failures: (before: 3, after: 3))
        let result = try await prove(cluster, restarts: 2)
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.outputs["failures"] == .int(0))
        #expect(
            result.summary.contains(
                "no entry failed while proven (FAILURES 3 from before: gfs-a1:/bricks/gvprimary FAILURES 3)"),
            "\(result.summary)")
    }

    @Test func aSessionThatStaysStalledFailsNamingItAndWhatToDo() async throws {
        let cluster = Cluster(healAfterRestarts: 99)
        let result = try await prove(cluster, restarts: 1)
        #expect(!result.succeeded)
        #expect(result.outputs["replicating"] == .bool(false))
        #expect(result.summary.hasPrefix("session gvprimary → gfs-b1::gvsecondary is stalled: Changelog Crawl"))
        #expect(result.summary.contains("1 restart did not help"))
        #expect(result.summary.contains("stop force` and `start force`"))
        #expect(cluster.ran.filter { $0.hasSuffix("start force") }.count == 1)
    }

    /// A worker that fails on an entry, restarts, crawls its history again and fails again is
    /// never Faulty for long at a time (the status alternates Faulty / Active History Crawl), but
    /// it gets nowhere: with faulty_grace the step ends after it, not proven, instead of waiting
    /// for its timeout.
    @Test func aSessionThatKeepsGoingFaultyEndsAfterFaultyGraceNotProven() async throws {
        let polls = Mutex(0)
        let runner: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult = { _, command, _, _ in
            guard command.argv.joined(separator: " ").hasSuffix("status detail") else { return Lab.ok() }
            let faulty = polls.withLock { n in
                n += 1
                return n % 2 == 1
            }
            return Lab.ok(
                GeoRepProveTests.status(running: true, checkpoint: "N/A", completed: false, lastSynced: "N/A")
                    .replacingOccurrences(
                        of: "<status>Active</status><crawl_status>Changelog Crawl</crawl_status>",
                        with: faulty
                            ? "<status>Faulty</status><crawl_status>N/A</crawl_status>"
                            : "<status>Active</status><crawl_status>History Crawl</crawl_status>"))
        }
        let node = try Lab.node(
            """
            action: gluster.georep.prove
            with: {primary: gvprimary, secondary: "gfs-b1::gvsecondary", marker_dir: /mnt/gvprimary/, every: 1s, faulty_grace: 3s, timeout: 30s}
            """)
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let context = ActionContext(
            node: node, host: "gfs-a1", settings: Lab.settings("gfs-a1"), phase: .apply, timeout: 60, runner: runner)
        let result = try await type.apply(context, observation: try await type.probe(context))
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.outputs["replicating"] == .bool(false))
        #expect(
            result.summary.contains(
                "Faulty (gfs-a1:/bricks/gvprimary is Faulty) and not back on the live changelog for 3s"))
        #expect(polls.withLock { $0 } < 10, "ended after the grace, not at the timeout")
    }

    @Test func theRollbackOfAStopWithMarkerDirStartsTheSessionAndProvesIt() async throws {
        let cluster = Cluster(healAfterRestarts: 0)
        cluster.state.withLock { $0.running = false }
        let node = try Lab.node(
            """
            action: gluster.georep.stop
            with: {primary: gvprimary, secondary: "gfs-b1::gvsecondary", marker_dir: /mnt/gvprimary}
            """)
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let undoState = #"{"existed":true,"statuses":["Active"],"running":true,"paused":false}"#
        let result = try await type.undo(
            ActionContext(
                node: node, host: "gfs-a1", settings: Lab.settings("gfs-a1"), phase: .undo, timeout: 30,
                runner: cluster.runner),
            undoState: undoState)
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.summary.contains("started (force) again, replicates: checkpoint completed by 1 Active worker"))
        #expect(cluster.ran.contains { $0.hasSuffix("touch /mnt/gvprimary/.runbook-prove") })
    }
}
