import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime
import RunbookTestSupport
import Synchronization
import Testing

/// The epoch fence (issue 23, item 4) in-process: its rules over readings, and two controllers
/// with the local backend (two journals that know nothing of each other) over one world whose
/// volumes carry marks, site A reachable or frozen.
@Suite struct EpochFenceTests {
    // MARK: the rules

    func reading(
        _ resource: String, _ epoch: Int?, _ authority: String? = nil, run: String? = nil, moves: String = "secondary",
        expects: String? = "primary"
    ) -> EpochFence.Reading {
        EpochFence.Reading(
            nodeID: "mark[\(resource)]", host: resource == "gv-a" ? "a1" : "b1", resource: "volume \(resource)",
            mark: epoch.map { EpochMark(epoch: $0, authority: authority, run: run) },
            error: epoch == nil ? "unreachable" : nil, authority: moves, expected: expects)
    }

    @Test func aFirstRunWritesEpochOneAndAnUnreadableVolumeDoesNotRefuse() throws {
        let admitted = try EpochFence.admit([reading("gv-b", 0), reading("gv-a", nil)], known: nil).get()
        #expect(admitted == .init(basis: 0, epoch: 1))
        #expect(try EpochFence.admit([], known: 3).get() == .init(basis: 0, epoch: 1))
    }

    @Test func theNewestEpochIsTheBasis() throws {
        let readings = [reading("gv-b", 4, "primary", run: "r4"), reading("gv-a", 4, "primary", run: "r4")]
        #expect(try EpochFence.admit(readings, known: 4).get() == .init(basis: 4, epoch: 5))
    }

    @Test func theSameEpochForTwoSitesIsSplitBrain() {
        let readings = [reading("gv-b", 2, "secondary", run: "rb"), reading("gv-a", 2, "primary", run: "ra")]
        guard case .failure(let refusal) = EpochFence.admit(readings, known: 2) else {
            Issue.record("admitted")
            return
        }
        #expect(
            refusal.message.hasPrefix(
                "split brain: volume gv-a on a1 (step mark[gv-a]) holds epoch 2 (authority primary, run ra)"))
    }

    @Test func anAuthorityThatMovedElsewhereRefuses() {
        let readings = [reading("gv-b", 3, "third-site")]
        guard case .failure(let refusal) = EpochFence.admit(readings, known: nil) else {
            Issue.record("admitted")
            return
        }
        #expect(refusal.message.contains("expects primary to hold the authority"), "\(refusal.message)")
    }

    /// Volumes that disagree (one site marked while the other could not be reached) refuse a
    /// controller whose journal knows an older epoch, and admit the one that made the newest.
    @Test func aStaleJournalMayNotReconcileAndTheOneThatMadeTheEpochMay() throws {
        let readings = [
            reading("gv-b", 7, "secondary", run: "r7", moves: "primary", expects: "secondary"),
            reading("gv-a", 6, "primary", run: "r6", moves: "primary", expects: "secondary"),
        ]
        guard case .failure(let refusal) = EpochFence.admit(readings, known: 6) else {
            Issue.record("admitted")
            return
        }
        #expect(refusal.message.contains("this controller's journal knows only epoch 6"), "\(refusal.message)")
        #expect(try EpochFence.admit(readings, known: 7).get() == .init(basis: 7, epoch: 8))
        // A controller that never read an epoch adopts what it finds (the README says so).
        #expect(try EpochFence.admit(readings, known: nil).get() == .init(basis: 7, epoch: 8))
    }

    @Test func aResumeIsRefusedByANewerEpochOrTheSameEpochOfAnotherRun() {
        #expect(
            EpochFence.check(
                [reading("gv-b", 6, "primary", run: "r6", moves: "primary")], runEpoch: 6, action: "resume", runID: "r6"
            )
                == nil)
        let newer = EpochFence.check(
            [reading("gv-b", 7, "secondary", run: "r7")], runEpoch: 6, action: "rollback", runID: "r6")
        #expect(
            newer?.message.hasPrefix(
                "split brain: volume gv-b on b1 (step mark[gv-b]) holds epoch 7 (authority secondary, run r7), newer than epoch 6 that run r6 was made under"
            ) == true, "\(String(describing: newer))")
        #expect(newer?.message.contains("Do not roll back run r6") == true)
        let same = EpochFence.check(
            [reading("gv-b", 6, "secondary", run: "other")], runEpoch: 6, action: "resume", runID: "r6")
        #expect(same?.message.contains("written by another run") == true, "\(String(describing: same))")
        // What it read before it marked (its basis) and an unreadable volume do not refuse.
        #expect(
            EpochFence.check(
                [reading("gv-b", 5, "primary"), reading("gv-a", nil)], runEpoch: 6, action: "resume", runID: "r6")
                == nil)
    }

    // MARK: two controllers, one world

    /// The volumes' marks, shared by both sites' controllers (as glusterd's volume options are).
    final class World: Sendable {
        let marks = Mutex<[String: EpochMark]>([:])
        subscript(volume: String) -> EpochMark {
            marks.withLock { $0[volume] ?? .unmarked }
        }
    }

    /// `test.mark`: a volume's mark in `World`, read and written through a scripted command on
    /// its host (so a frozen site cannot be read or marked).
    struct MarkAction: EpochFencing {
        let world: World
        var descriptor: ActionDescriptor {
            ActionDescriptor(
                name: "test.mark", kind: .action, summary: "mark a volume",
                parameters: [
                    ParameterSpec("volume", .string, required: true, "the volume"),
                    ParameterSpec("authority", .string, required: true, "to"),
                    ParameterSpec("from", .string, "from"),
                ],
                outputs: [OutputSpec("epoch", "int", "the epoch")], changes: true,
                undo: .derived("the previous mark"), idempotency: "marked")
        }
        func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
            let volume = arguments.string("volume") ?? ""
            return [
                PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["read-mark", volume])),
                PlannedCommand(.apply, on: host.name, CommandSpec(argv: ["write-mark", volume, "<epoch>"])),
            ]
        }
        func resource(_ arguments: ResolvedArguments) -> String { "volume \(arguments.string("volume") ?? "")" }
        func authority(_ arguments: ResolvedArguments) -> String? { arguments.string("authority") }
        func expectedAuthority(_ arguments: ResolvedArguments) -> String? { arguments.string("from") }
        func readMark(_ context: ActionContext) async throws -> EpochMark {
            let volume = context.arguments.string("volume") ?? ""
            _ = try await context.run(CommandSpec(argv: ["read-mark", volume]))
            return world[volume]
        }
        func probe(_ context: ActionContext) async throws -> Observation {
            let mark = try await readMark(context)
            let wanted = EpochMark(
                epoch: context.runEpoch ?? -1, authority: context.arguments.string("authority"), run: context.runID)
            return Observation(
                done: mark == wanted, summary: "\(mark)", outputs: ["epoch": .int(mark.epoch)],
                undoState: String(mark.epoch) + " " + (mark.authority ?? "") + " " + (mark.run ?? ""))
        }
        func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
            let volume = context.arguments.string("volume") ?? ""
            let epoch = try #require(context.runEpoch)
            _ = try await context.run(
                PlannedCommand(.apply, on: context.host, CommandSpec(argv: ["write-mark", volume, "<epoch>"])),
                filling: ["epoch": String(epoch)])
            world.marks.withLock {
                $0[volume] = EpochMark(
                    epoch: epoch, authority: context.arguments.string("authority"), run: context.runID)
            }
            return EffectResult(succeeded: true, summary: "marked \(epoch)", outputs: ["epoch": .int(epoch)])
        }
        func verify(_ context: ActionContext) async throws -> EffectResult {
            EffectResult(succeeded: true, summary: "ok")
        }
        func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
            let volume = context.arguments.string("volume") ?? ""
            let parts = (undoState ?? "0  ").split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            world.marks.withLock {
                $0[volume] = EpochMark(
                    epoch: Int(parts[0]) ?? 0, authority: parts[1].isEmpty ? nil : parts[1],
                    run: parts.count > 2 && !parts[2].isEmpty ? parts[2] : nil)
            }
            return EffectResult(succeeded: true, summary: "put back")
        }
    }

    struct MarkPack: Pack {
        let world: World
        var name: String { "marks" }
        var types: [any ActionType] { [MarkAction(world: world)] }
    }

    /// A controller at one site: its own journal (the local backend: nothing shared).
    struct Site {
        let journal = InMemoryJournal()
        let environment: RunEnvironment

        init(world: World, hosts: ScriptedHosts) {
            environment = RunEnvironment(
                packs: [CorePack(), ScriptedTransportPack(hosts: hosts), MarkPack(world: world)],
                transports: TransportContext(controlDirectory: "/nonexistent"), journal: journal,
                coordination: RunControllerTests.Claims())
        }

        var controller: RunController { RunController(environment) }
    }

    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: pair}
        defaults: {transport: scripted}
        hosts:
          a1: {roles: [primary]}
          b1: {roles: [secondary]}
        """

    /// Moves the authority `from` -> `to`: prepares the old site (where it answers), marks the
    /// new site's volume, then (where it answers) the old one's, asks at a gate, then changes
    /// the world on the new site.
    static func runbook(from: String, to: String, name: String) -> String {
        let (new, old) = to == "secondary" ? ("b", "a") : ("a", "b")
        return TestDocuments.runbookHeader(name: name) + """
            on_failure: stop
            steps:
              - id: old-answers
                on: \(old)1
                probe: ssh.reachable
                expect: "true"
              - id: prepare
                needs: [old-answers]
                when: steps.old-answers.outputs.reachable
                on: \(old)1
                action: shell
                with: {run: [prepare, \(old)]}
              - id: mark-new
                needs: [prepare]
                on: \(new)1
                action: test.mark
                with: {volume: gv-\(new), from: \(from), authority: \(to)}
              - id: mark-old
                needs: [mark-new]
                when: steps.old-answers.outputs.reachable
                on: \(old)1
                action: test.mark
                with: {volume: gv-\(old), from: \(from), authority: \(to)}
              - id: go
                needs: [mark-old]
                gate: {approval: {prompt: "Go on?"}}
                commit: true
              - id: promote
                needs: [go]
                on: \(new)1
                action: shell
                with: {run: [promote, \(new)]}
            """
    }

    func documents(_ text: String, _ site: Site) throws -> RunDocuments {
        try RunControllerTests.documents(
            runbookText: text, inventoryText: Self.inventory, registry: site.environment.registry)
    }

    func start(_ site: Site, _ runbook: String, _ runID: String, approve: Bool) async throws -> RunEnd {
        var options = ExecutionOptions()
        if approve { options.approvals = ["go"] }
        return try await site.controller.start(
            try documents(runbook, site), runID: runID, options: options, shown: { _ in }, confirm: { _ in true })
    }

    func refusal(_ body: () async throws -> Void) async -> EpochFence.Refusal? {
        do {
            try await body()
        } catch let RunRefusal.splitBrain(refusal) {
            return refusal
        } catch {
            Issue.record("not the fence: \(error)")
        }
        return nil
    }

    /// "Split brain without etcd" (issue 23), in-process: A's failover parks at its gate after
    /// marking; site A freezes; B's controller (its own journal) fails over; A thaws. A's resume
    /// and rollback of its old run, and a new failover or failback from A's stale journal, are
    /// all refused before any change, and the refusal of the resume is in A's run's journal.
    /// B's own failback is admitted and moves the authority back with a newer epoch.
    @Test func aControllerThatCameBackIsRefusedByTheVolumesAndTheOtherSiteFailsBack() async throws {
        let world = World()
        let hosts = ScriptedHosts()
        let siteA = Site(world: world, hosts: hosts)
        let siteB = Site(world: world, hosts: hosts)
        let failover = Self.runbook(from: "primary", to: "secondary", name: "failover")
        let failback = Self.runbook(from: "secondary", to: "primary", name: "failback")

        let old = try await start(siteA, failover, "run-a1", approve: false)
        #expect(old.outcome == .parked(["go"]))
        #expect(world["gv-b"] == EpochMark(epoch: 1, authority: "secondary", run: "run-a1"))
        #expect(world["gv-a"] == EpochMark(epoch: 1, authority: "secondary", run: "run-a1"))
        #expect(EpochFence.epochRead(of: "run-a1", in: siteA.journal)?.epoch == 1)

        // Site A freezes; B's controller, knowing nothing of run-a1, fails over.
        hosts.setUnreachable("a1")
        let taken = try await start(siteB, failover, "run-b1", approve: true)
        #expect(taken.outcome == .succeeded)
        #expect(world["gv-b"] == EpochMark(epoch: 2, authority: "secondary", run: "run-b1"))
        #expect(world["gv-a"] == EpochMark(epoch: 1, authority: "secondary", run: "run-a1"), "A was not reachable")
        #expect(hosts.commands(on: "b1").contains("promote b"))

        // Site A thaws: everything its controller tries is refused by the volumes.
        hosts.setUnreachable("a1", false)
        let ran = hosts.commands().count
        let record = try #require(try siteA.journal.run(id: "run-a1"))
        let documentsA = try documents(failover, siteA)
        let resumed = await refusal {
            _ = try await siteA.controller.resume(
                record, documents: documentsA, options: ExecutionOptions(), confirmRollingBack: { _ in true })
        }
        #expect(
            resumed?.message.contains("holds epoch 2 (authority secondary, run run-b1), newer than epoch 1") == true)
        let rolledBack = await refusal {
            _ = try await siteA.controller.rollback(
                record, documents: documentsA, pastCommit: false, dryRun: false, confirm: { _ in true })
        }
        #expect(rolledBack?.message.contains("Do not roll back run run-a1") == true)
        let refusedTypes = try siteA.journal.events(runID: "run-a1").map(\.type).filter { $0 == "epoch.refused" }
        #expect(refusedTypes.count == 2, "the resume's and the rollback's refusals are in the run's journal")
        #expect(try siteA.journal.run(id: "run-a1")?.status == .parked, "nothing of the run changed")
        let newFailover = await refusal { _ = try await start(siteA, failover, "run-a2", approve: true) }
        #expect(newFailover?.message.contains("this controller's journal knows only epoch 1") == true)
        let newFailback = await refusal { _ = try await start(siteA, failback, "run-a3", approve: true) }
        #expect(newFailback?.message.contains("this controller's journal knows only epoch 1") == true)
        let changes = hosts.commands().dropFirst(ran).filter { !$0.hasPrefix("read-mark") }
        #expect(changes.isEmpty, "only reads ran: \(Array(changes))")
        #expect(world["gv-b"] == EpochMark(epoch: 2, authority: "secondary", run: "run-b1"))

        // B's controller made epoch 2: its failback is admitted and marks both sites epoch 3.
        let back = try await start(siteB, failback, "run-b2", approve: true)
        #expect(back.outcome == .succeeded)
        #expect(world["gv-a"] == EpochMark(epoch: 3, authority: "primary", run: "run-b2"))
        #expect(world["gv-b"] == EpochMark(epoch: 3, authority: "primary", run: "run-b2"))
    }

    /// A rollback of the run that made the newest epoch is admitted and puts the marks back.
    @Test func theRunThatMadeTheEpochRollsBackAndPutsTheMarksBack() async throws {
        let world = World()
        let hosts = ScriptedHosts()
        let site = Site(world: world, hosts: hosts)
        let failover = Self.runbook(from: "primary", to: "secondary", name: "failover")
        let parked = try await start(site, failover, "run-1", approve: false)
        #expect(parked.outcome == .parked(["go"]))
        let record = try #require(try site.journal.run(id: "run-1"))
        let result = try await site.controller.rollback(
            record, documents: try documents(failover, site), pastCommit: false, dryRun: false, confirm: { _ in true })
        #expect(result?.failed.isEmpty == true)
        #expect(world["gv-b"] == .unmarked)
        #expect(world["gv-a"] == .unmarked)
    }
}
