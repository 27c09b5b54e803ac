import Foundation
import RunbookCore

/// One snapshot as `snapshot info --xml` describes it.
public struct GlusterSnapshot: Sendable, Hashable {
    /// Its name (as created: with `no-timestamp`, exactly the name asked for).
    public var name: String
    /// Its UUID.
    public var uuid: String
    /// The description given at create time ("" when none).
    public var snapshotDescription: String
    /// When it was created (the XML prints UTC), nil when absent.
    public var createdAt: Date?
    /// Its snapshot volume's status: `Started` once activated, `Stopped` otherwise.
    public var status: String
    /// The volume it is a snapshot of.
    public var originVolume: String?

    /// Whether it is activated (a clone needs that).
    public var isActivated: Bool { status == "Started" }
}

/// What `snapshot info volume VOL --xml` says about a volume's snapshots.
public struct GlusterSnapshotInventory: Sendable, Hashable {
    /// The origin volume.
    public var volume: String
    /// How many snapshots it has.
    public var count: Int
    /// How many more it may take before the effective hard limit (nil when not printed).
    public var remaining: Int?
    /// Each snapshot.
    public var snapshots: [GlusterSnapshot]
}

/// One brick of a snapshot, from `snapshot status SNAP --xml`.
public struct GlusterSnapshotBrick: Sendable, Hashable {
    /// `HOST:PATH` of the snapshot brick.
    public var path: String
    /// The LVM volume group of its thin LV.
    public var volumeGroup: String
    /// Whether its brick process runs (only once the snapshot is activated).
    public var running: Bool
    /// Its brick process, when running.
    public var pid: Int?
    /// The thin LV's data use in percent, nil when gluster printed `N/A`.
    public var dataPercent: Double?
    /// The LV's size as lvs printed it.
    public var lvSize: String
}

/// The `--xml` parsers of the snapshot commands. Every one checks the envelope first: a failed
/// snapshot command exits 0 with `<opRet>-1</opRet>` and its reason in `opErrstr`.
extension GlusterParse {
    /// The message gluster gives for a snapshot that does not exist (`EG_NOSNAP`, 30807).
    static let noSuchSnapshotErrno = 30807

    /// `snapshot info volume VOL --xml` (or `snapshot info SNAP --xml`, whose origin is per snapshot).
    public static func snapshotInventory(_ output: GlusterOutput) throws -> GlusterSnapshotInventory {
        let envelope = try GlusterEnvelope.checked(output)
        guard let info = envelope.root.child("snapInfo") else {
            throw GlusterError(.unparseable, output, "no <snapInfo> in the answer")
        }
        let origin = info.child("originVolume")
        var snapshots: [GlusterSnapshot] = []
        for node in info.child("snapshots")?.children("snapshot") ?? [] {
            let volume = node.child("snapVolume")
            let created: Date?
            do {
                created = try GlusterTime.parse(node.text("createTime") ?? "")
            } catch {
                throw GlusterError(.unparseable, output, "createTime '\(error.text)' is not a time")
            }
            snapshots.append(
                GlusterSnapshot(
                    name: node.text("name") ?? "", uuid: node.text("uuid") ?? "",
                    snapshotDescription: node.text("description") ?? "", createdAt: created,
                    status: volume?.text("status") ?? "",
                    originVolume: volume?.path("originVolume")?.text("name") ?? origin?.text("name")))
        }
        return GlusterSnapshotInventory(
            volume: origin?.text("name") ?? snapshots.first?.originVolume ?? "",
            count: info.text("count").flatMap { Int($0) } ?? snapshots.count,
            remaining: origin?.text("snapRemaining").flatMap { Int($0) }, snapshots: snapshots)
    }

    /// Whether a failed answer says "this snapshot does not exist" (so a probe can say "not yet").
    public static func isNoSuchSnapshot(_ output: GlusterOutput) -> Bool {
        guard let envelope = try? GlusterEnvelope.parse(output), !envelope.succeeded else { return false }
        return envelope.opErrno == noSuchSnapshotErrno || envelope.opErrstr.contains("does not exist")
    }

    /// `snapshot status SNAP --xml`: every brick of every snapshot volume.
    public static func snapshotBricks(_ output: GlusterOutput) throws -> [GlusterSnapshotBrick] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let status = envelope.root.child("snapStatus") else {
            throw GlusterError(.unparseable, output, "no <snapStatus> in the answer")
        }
        var bricks: [GlusterSnapshotBrick] = []
        for snapshot in status.child("snapshots")?.children("snapshot") ?? [] {
            for volume in snapshot.children("volume") {
                for brick in volume.children("brick") {
                    let percent = brick.text("data_percentage") ?? "N/A"
                    bricks.append(
                        GlusterSnapshotBrick(
                            path: brick.text("path") ?? "", volumeGroup: brick.text("volumeGroup") ?? "",
                            running: brick.text("brick_running") == "Yes",
                            pid: brick.text("pid").flatMap { Int($0) }, dataPercent: Double(percent),
                            lvSize: brick.text("lvSize") ?? ""))
                }
            }
        }
        return bricks
    }

    /// The name in a `snapshot create|activate|deactivate --xml` answer (`<snapCreate><snapshot><name>`).
    public static func snapshotName(_ output: GlusterOutput, element: String) throws -> (name: String, uuid: String) {
        let envelope = try GlusterEnvelope.checked(output)
        guard let snapshot = envelope.root.path("\(element)/snapshot") else {
            throw GlusterError(.unparseable, output, "no <\(element)><snapshot> in the answer")
        }
        return (snapshot.text("name") ?? "", snapshot.text("uuid") ?? "")
    }

    /// The clone's name in a `snapshot clone --xml` answer (`<CloneCreate><volume><name>`).
    public static func cloneName(_ output: GlusterOutput) throws -> (name: String, uuid: String) {
        let envelope = try GlusterEnvelope.checked(output)
        guard let volume = envelope.root.path("CloneCreate/volume") else {
            throw GlusterError(.unparseable, output, "no <CloneCreate><volume> in the answer")
        }
        return (volume.text("name") ?? "", volume.text("uuid") ?? "")
    }

    /// Checks a `snapshot delete --xml` answer: the envelope, then each snapshot's own
    /// `<status>Failure</status>` (gluster nests a failed delete's opErrstr inside it).
    public static func snapshotDeleted(_ output: GlusterOutput) throws {
        let envelope = try GlusterEnvelope.checked(output)
        for snapshot in envelope.root.path("snapDelete/snapshots")?.children("snapshot") ?? []
        where snapshot.text("status") == "Failure" {
            let reason = snapshot.text("opErrstr") ?? "no reason given"
            throw GlusterError(.commandFailed, output, "deleting \(snapshot.text("name") ?? "?") failed: \(reason)")
        }
    }
}
