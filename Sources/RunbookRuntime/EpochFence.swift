import Foundation
import RunbookCore
import RunbookExecution

/// The epoch fence on the storage (issue 23, item 4): before a run, a resume or a rollback changes
/// anything, it reads the epoch and authority of every resource the plan marks (the steps whose
/// type is ``EpochFencing``, e.g. `gluster.epoch` on a volume) and refuses when the storage has
/// moved on without it. It needs no quorum: the volumes carry it, so a controller whose site was
/// lost and comes back finds out from the volumes themselves.
///
/// - A new run takes the newest epoch it reads as its basis and writes basis + 1. It is refused
///   when the newest epoch names an authority that is neither the one its steps expect nor the
///   one they move to (the authority has moved elsewhere), when two resources
///   carry the newest epoch under different authorities, or when the resources disagree (one
///   site was marked while the other could not be reached) and this controller's journal knows
///   only an older epoch than the newest (it did not take part in the change: a stale
///   controller must not be the one that reconciles).
/// - A resume or rollback is refused when a resource carries a newer epoch than the run's own
///   (the one it wrote), or the run's epoch under another authority than the run gives it.
/// A resource that cannot be read (its site is down) is reported and does not refuse: the
/// unplanned failover runs exactly when the old primary cannot be reached.
public struct EpochFence: Sendable {
    /// What one marking step's resource carries.
    public struct Reading: Sendable, Equatable {
        public var nodeID: String
        public var host: String
        public var resource: String
        /// nil when it could not be read (`error` says why).
        public var mark: EpochMark?
        public var error: String?
        /// The authority the step moves the resource to.
        public var authority: String?
        /// The authority the step expects to hold the newest epoch.
        public var expected: String?

        public init(
            nodeID: String, host: String, resource: String, mark: EpochMark?, error: String? = nil,
            authority: String? = nil, expected: String? = nil
        ) {
            self.nodeID = nodeID
            self.host = host
            self.resource = resource
            self.mark = mark
            self.error = error
            self.authority = authority
            self.expected = expected
        }

        /// Where it is, for a message: `volume gv0 on gfs-b1 (step mark[gv0])`.
        public var place: String { "\(resource) on \(host) (step \(nodeID))" }

        /// `STEP@HOST RESOURCE: epoch N (authority SITE)`, or why it could not be read.
        public var line: String {
            "\(nodeID) \(resource) on \(host): " + (mark.map { "\($0)" } ?? "not read (\(error ?? "unknown error"))")
        }
    }

    /// The storage says this run may not change anything: split brain (exit 5).
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var reading: Reading
        /// The epoch the refused run has (or would have had).
        public var runEpoch: Int
        public var message: String
        public var description: String { message }
    }

    /// What a new run may do: the basis it read and the epoch it writes.
    public struct Admission: Sendable, Equatable {
        public var basis: Int
        public var epoch: Int

        public init(basis: Int, epoch: Int) {
            self.basis = basis
            self.epoch = epoch
        }
    }

    public let plan: Plan
    public let compiler: Compiler
    public let hosts: any HostAccess

    public init(plan: Plan, compiler: Compiler, hosts: any HostAccess) {
        self.plan = plan
        self.compiler = compiler
        self.hosts = hosts
    }

    /// Whether the plan marks anything (else there is no fence to read).
    public var marks: Bool { !markingNodes.isEmpty }

    var markingNodes: [(PlanNode, any EpochFencing)] {
        plan.nodes.compactMap { node in
            if case .skipped = node.effect { return nil }
            guard let type = compiler.registry[node.typeName] as? any EpochFencing else { return nil }
            return (node, type)
        }
    }

    /// Reads every marked resource once (per host and resource), without changing anything.
    public func read() async -> [Reading] {
        let runner = NodeRunner(plan: plan, compiler: compiler, hosts: hosts)
        // The hosts are chosen and the nodes resolved in plan order, then every volume is read
        // at once (each read is one `volume info`; a frozen site's times out beside the others).
        var prepared: [(index: Int, node: PlanNode, type: any EpochFencing)] = []
        var readings: [Reading] = []
        var seen: Set<String> = []
        for (planned, type) in markingNodes {
            switch await runner.prepare(planned, stepValues: [:], runID: nil) {
            case .failure(let failure):
                readings.append(
                    Reading(
                        nodeID: planned.id, host: planned.host, resource: type.resource(planned.arguments), mark: nil,
                        error: failure.message, authority: type.authority(planned.arguments),
                        expected: type.expectedAuthority(planned.arguments)))
            case .success(let (node, host)):
                let resource = type.resource(node.arguments)
                guard seen.insert(host + "\u{0}" + resource).inserted else { continue }
                var resolved = node
                resolved.host = host
                prepared.append((readings.count, resolved, type))
                readings.append(
                    Reading(
                        nodeID: node.id, host: host, resource: resource, mark: nil,
                        authority: type.authority(node.arguments), expected: type.expectedAuthority(node.arguments)))
            }
        }
        let marks = await withTaskGroup(of: (Int, Result<EpochMark, any Error>).self) { group in
            for (index, node, type) in prepared {
                let context = runner.context(node, host: node.host, phase: .probe, timeout: node.timeout ?? 60)
                group.addTask {
                    do { return (index, .success(try await type.readMark(context))) } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var marks: [(Int, Result<EpochMark, any Error>)] = []
            for await mark in group { marks.append(mark) }
            return marks
        }
        for (index, mark) in marks {
            switch mark {
            case .success(let mark): readings[index].mark = mark
            case .failure(let error): readings[index].error = "\(error)"
            }
        }
        return readings
    }

    /// The newest mark among the readings (nil when none could be read).
    public static func newest(_ readings: [Reading]) -> (reading: Reading, mark: EpochMark)? {
        var best: (Reading, EpochMark)?
        for reading in readings {
            guard let mark = reading.mark else { continue }
            if best == nil || mark.epoch > best!.1.epoch { best = (reading, mark) }
        }
        return best
    }

    /// Whether a new run may go on, and with which epoch; `known` is the newest epoch this
    /// controller's journal has seen (nil: it never read one).
    public static func admit(_ readings: [Reading], known: Int?) -> Result<Admission, Refusal> {
        guard let (newestReading, newest) = newest(readings) else {
            return .success(Admission(basis: 0, epoch: 1))
        }
        let epoch = newest.epoch + 1
        if let other = readings.first(where: {
            $0.mark?.epoch == newest.epoch && $0.mark?.authority != newest.authority
        }) {
            return .failure(
                Refusal(
                    reading: other, runEpoch: epoch,
                    message:
                        "split brain: \(other.place) holds \(other.mark!) while \(newestReading.place) holds \(newest): two runs marked the same epoch for different sites (two controllers acted at once). Nothing was changed. Find both runs (`runbook history` on each controller), stop one, decide which site holds the authority, and mark it on every volume of both sites by hand (`gluster volume set VOL user.runbook.epoch \(epoch)` and `gluster volume set VOL user.runbook.authority SITE`) before running again."
                ))
        }
        if newest.epoch > 0, let authority = newest.authority {
            for reading in readings {
                // Already where this run moves it: the run asserts it again (its steps probe).
                guard let expected = reading.expected, expected != authority, reading.authority != authority else {
                    continue
                }
                return .failure(
                    Refusal(
                        reading: newestReading, runEpoch: epoch,
                        message:
                            "split brain: \(newestReading.place) holds \(newest), but this run (step \(reading.nodeID): \(expected) -> \(reading.authority ?? "?")) expects \(expected) to hold the authority. The authority has already moved to \(authority), by another run or another controller; nothing was changed. Look at the newest run on the controller of \(authority) (`runbook history`); to move the authority back, run the runbook that moves it from \(authority)."
                    ))
            }
        }
        let disagree = readings.contains { ($0.mark?.epoch ?? newest.epoch) < newest.epoch }
        if disagree, let known, known < newest.epoch {
            let older = readings.filter { ($0.mark?.epoch ?? newest.epoch) < newest.epoch }
                .map { "\($0.place) holds \($0.mark!)" }.joined(separator: ", ")
            return .failure(
                Refusal(
                    reading: newestReading, runEpoch: epoch,
                    message:
                        "split brain: \(newestReading.place) holds \(newest) while \(older); this controller's journal knows only epoch \(known): the authority moved while this controller could not see it, and its journal is stale. Nothing was changed. Run this from the controller that made epoch \(newest.epoch) (the one at \(newest.authority ?? "the newest site")), which knows what it did."
                ))
        }
        return .success(Admission(basis: newest.epoch, epoch: epoch))
    }

    /// Whether a resume or rollback of a run with epoch `runEpoch` may go on (nil) or not.
    public static func check(_ readings: [Reading], runEpoch: Int, action: String, runID: String) -> Refusal? {
        for reading in readings {
            guard let mark = reading.mark else { continue }
            if mark.epoch > runEpoch {
                return Refusal(
                    reading: reading, runEpoch: runEpoch,
                    message:
                        "split brain: \(reading.place) holds \(mark), newer than epoch \(runEpoch) that run \(runID) was made under: the storage moved on without this run (another run, or the controller of another site, changed the authority). Nothing was changed: a \(action) now would act on a world that is no longer the one this run knew. Do not \(action == "rollback" ? "roll back" : action) run \(runID); look at the newest run on the controller of \(mark.authority ?? "that site") (`runbook history`), and fail back from there when the site is ready."
                )
            }
            if mark.epoch == runEpoch,
                mark.run != nil && mark.run != runID
                    || (reading.authority != nil && mark.authority != reading.authority)
            {
                return Refusal(
                    reading: reading, runEpoch: runEpoch,
                    message:
                        "split brain: \(reading.place) holds \(mark), the epoch run \(runID) writes, but written by another run: two runs made the same epoch (two controllers read the volumes while the other could not be seen). Nothing was changed. Find that run (`runbook history` on each controller) before going on."
                )
            }
        }
        return nil
    }

    /// The newest epoch this journal has seen for runs over `inventory`: each run's basis (what
    /// its fence read), and its own epoch where one of its steps wrote it (a step whose outputs
    /// hold `epoch` equal to the run's, done).
    public static func known(in journal: any RunJournal, inventory: String) -> Int? {
        var known: Int?
        for run in (try? journal.runs(limit: 1000)) ?? [] where run.inventoryName == inventory {
            guard let read = epochRead(of: run.id, in: journal) else { continue }
            known = max(known ?? 0, read.basis)
            let wrote = ((try? journal.steps(runID: run.id)) ?? []).contains { step in
                (step.state == .succeeded || step.state == .alreadyDone)
                    && ValueJSON.decode(step.outputsJSON)["epoch"] == .int(read.epoch)
            }
            if wrote { known = max(known ?? 0, read.epoch) }
        }
        return known
    }

    /// The run's `epoch.read` event (nil for a run that marks nothing, or from before the fence).
    public static func epochRead(of runID: String, in journal: any RunJournal) -> RunEvent.EpochRead? {
        for record in (try? journal.events(runID: runID)) ?? [] where record.type == "epoch.read" {
            if case .epochRead(let read)? = record.event { return read }
        }
        return nil
    }
}
