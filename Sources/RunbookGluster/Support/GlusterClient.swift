import Foundation
import RunbookCore

/// Runs gluster commands for one step on its host and turns failures into `GlusterError`s.
struct GlusterClient: Sendable {
    let context: ActionContext
    let cli: GlusterCLI

    init(_ context: ActionContext) {
        self.context = context
        self.cli = GlusterCLI(settings: context.settings)
    }

    /// Runs a command; transport failures (unreachable host) propagate as `TransportError`.
    ///
    /// When glusterd refuses it because another transaction holds its lock (`GlusterdLock`), or
    /// because a peer holding a brick of the volume is disconnected (`GlusterdLock.downPeer`: right
    /// after a site returns, until glusterd reconnects), it is run again after a growing wait, a
    /// bounded number of times; every try is in the attempt's journaled commands. Still refused
    /// after the last: an error that says so. A geo-rep status that fails with no reason is asked
    /// in text form whether there is no session (`GlusterdLock.isBareStatusFailure`), and read
    /// again after a wait when the text does not say so.
    ///
    /// `filling`: the values of a planned command's `<name>` placeholders, known at run time.
    func run(_ command: CommandSpec, filling bindings: [String: String] = [:]) async throws -> (
        GlusterOutput, CommandResult
    ) {
        var waited = 0.0
        var tries = 0
        var lockTries = 0
        var peerTries = 0
        var statusTries = 0
        while true {
            let result =
                bindings.isEmpty
                ? try await context.run(command)
                : try await context.run(PlannedCommand(context.phase, on: context.host, command), filling: bindings)
            tries += 1
            if result.timedOut {
                throw GlusterError(
                    .commandFailed, GlusterOutput(command: command, host: context.host, result: result),
                    "timed out after \(Int(result.duration.rounded()))s")
            }
            let output = GlusterOutput(command: command, host: context.host, result: result)
            // A partial answer is never read: a cut XML document fails to parse with a message
            // about XML, and a cut text reads as something else.
            if result.stdoutTruncated {
                throw GlusterError(
                    .commandFailed, output,
                    "it printed more than the \(result.stdout.utf8.count / 1024) KiB of output a command's answer is"
                        + " kept to, and a partial answer is not read; run it on \(context.host) to see it whole, and"
                        + " report the size (this volume or session is larger than the limit was made for)")
            }
            let delay: Double
            if GlusterdLock.isBusy(output) {
                guard lockTries < GlusterdLock.delays.count else {
                    throw GlusterError(
                        .commandFailed, output,
                        "glusterd on \(context.host) refused it \(tries) times over \(Int(waited.rounded()))s because "
                            + "another transaction held its lock (another gluster command on this cluster, from this"
                            + " run or elsewhere); wait for that one to finish (`gluster volume status` shows whether"
                            + " glusterd answers), then resume")
                }
                delay = GlusterdLock.delays[lockTries]
                lockTries += 1
            } else if let down = GlusterdLock.downPeer(output) {
                guard peerTries < GlusterdLock.peerDelays.count else {
                    throw GlusterError(
                        .commandFailed, output,
                        "glusterd on \(context.host) refused it \(tries) times over \(Int(waited.rounded()))s: peer"
                            + " \(down.peer), which holds a brick of \(down.volume), is down (glusterd does not run"
                            + " this command while one is). Bring \(down.peer) up: `gluster peer status` on"
                            + " \(context.host) must show it Connected (a site that just came back reconnects within"
                            + " seconds), then resume")
                }
                delay = GlusterdLock.peerDelays[peerTries]
                peerTries += 1
            } else if GlusterdLock.isBareStatusFailure(output) {
                if try await GlusterdLock.noSessionConfirmed(command, run: { try await context.run($0) }) {
                    return (output, result)
                }
                guard statusTries < GlusterdLock.statusDelays.count else {
                    let marked = GlusterdLock.unreadable(result)
                    return (GlusterOutput(command: command, host: context.host, result: marked), marked)
                }
                delay = GlusterdLock.statusDelays[statusTries]
                statusTries += 1
            } else {
                return (output, result)
            }
            try await Task.sleep(for: .seconds(delay))
            waited += delay
        }
    }

    /// Runs a command that changes something and fails on a non-zero exit or `opRet`.
    func change(_ command: CommandSpec, filling bindings: [String: String] = [:]) async throws -> CommandResult {
        let (output, result) = try await run(command, filling: bindings)
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

// MARK: Snapshots

extension GlusterClient {
    /// `snapshot info volume VOL --xml`.
    func snapshots(of volume: String) async throws -> GlusterSnapshotInventory {
        let (output, _) = try await run(cli.snapshotInfo(volume: volume))
        return try GlusterParse.snapshotInventory(output)
    }

    /// `snapshot info SNAP --xml`; nil when gluster says the snapshot does not exist.
    func snapshot(_ name: String) async throws -> GlusterSnapshot? {
        let (output, _) = try await run(cli.snapshotInfo(name))
        if GlusterParse.isNoSuchSnapshot(output) { return nil }
        return try GlusterParse.snapshotInventory(output).snapshots.first { $0.name == name }
    }

    /// `volume list --xml`.
    func volumeNames() async throws -> [String] {
        let (output, _) = try await run(cli.volumeList)
        return try VolumeListProbe.names(output)
    }
}

/// The parameters the snapshot types share.
enum SnapshotParameters {
    static let volume = ParameterSpec("volume", .string, required: true, "the volume the snapshot is taken of")
    static let snapshot = ParameterSpec(
        "snapshot", .string, required: true, "the snapshot's name (created with `no-timestamp`: exactly this name)")
    static let clone = ParameterSpec("clone", .string, required: true, "the name of the clone volume")

    /// Snapshot and clone names have the shape of volume names.
    static func check(_ arguments: ResolvedArguments, _ names: [String]) -> [String] {
        names.flatMap { ArgumentChecks.volume(arguments, $0) }
    }
}
