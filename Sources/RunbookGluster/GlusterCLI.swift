import Foundation
import RunbookCore

/// Builds gluster command lines: global options always first (`--mode=script`, then `--xml`),
/// never a trailing `--xml` (after `config` it would be a value, see GLUSTER.md).
public struct GlusterCLI: Sendable, Hashable {
    /// The binary, from the inventory's `gluster` setting.
    public var binary: String

    /// The default binary when the inventory does not say.
    public static let defaultBinary = "/usr/sbin/gluster"

    /// Creates a builder for `binary`.
    public init(binary: String = GlusterCLI.defaultBinary) {
        self.binary = binary
    }

    /// The inventory key that names the binary.
    public static let binaryKey = "gluster"

    /// The builder for a host's inventory settings (its `gluster` key, or the default).
    public init(settings: HostSettings) {
        self.init(binary: settings[Self.binaryKey] ?? Self.defaultBinary)
    }

    /// The builder for a host of the plan.
    public init(host: RenderHost) {
        self.init(settings: host.settings)
    }

    /// `gluster --mode=script --xml WORDS...`.
    public func xml(_ words: [String]) -> CommandSpec { CommandSpec(argv: [binary, "--mode=script", "--xml"] + words) }

    /// `gluster --mode=script WORDS...` (text output).
    public func text(_ words: [String]) -> CommandSpec { CommandSpec(argv: [binary, "--mode=script"] + words) }

    // MARK: Volumes

    /// `volume info VOL --xml`.
    public func volumeInfo(_ volume: String) -> CommandSpec { xml(["volume", "info", volume]) }
    /// `volume status VOL --xml`.
    public func volumeStatus(_ volume: String) -> CommandSpec { xml(["volume", "status", volume]) }
    /// `volume get VOL OPTION|all --xml`.
    public func volumeGet(_ volume: String, _ option: String) -> CommandSpec { xml(["volume", "get", volume, option]) }
    /// `volume set VOL OPTION VALUE`.
    public func volumeSet(_ volume: String, _ option: String, _ value: String) -> CommandSpec {
        xml(["volume", "set", volume, option, value])
    }
    /// `volume reset VOL OPTION [force]`.
    public func volumeReset(_ volume: String, _ option: String, force: Bool) -> CommandSpec {
        xml(["volume", "reset", volume, option] + (force ? ["force"] : []))
    }
    /// `volume start VOL [force]`.
    public func volumeStart(_ volume: String, force: Bool) -> CommandSpec {
        xml(["volume", "start", volume] + (force ? ["force"] : []))
    }
    /// `volume stop VOL [force]` (`--mode=script` answers its confirmation).
    public func volumeStop(_ volume: String, force: Bool) -> CommandSpec {
        xml(["volume", "stop", volume] + (force ? ["force"] : []))
    }
    /// `peer status --xml`.
    public var peerStatus: CommandSpec { xml(["peer", "status"]) }
    /// `pool list --xml` (includes this node as `localhost`).
    public var poolList: CommandSpec { xml(["pool", "list"]) }

    // MARK: Geo-replication

    /// `--xml volume geo-replication P S WORDS...`.
    public func geoRep(_ primary: String, _ secondary: String, _ words: [String]) -> CommandSpec {
        xml(["volume", "geo-replication", primary, secondary] + words)
    }
    /// `status detail --xml` (the same XML as `status` in 10.3; older versions add checkpoint fields only with detail).
    public func geoRepStatus(_ primary: String, _ secondary: String) -> CommandSpec {
        geoRep(primary, secondary, ["status", "detail"])
    }
    /// The same `status detail` in text form, run only when the `--xml` form fails with no reason:
    /// there 10.3 says "No active geo-replication sessions" when there is none
    /// (`GlusterdLock.isBareStatusFailure`).
    public func geoRepStatusText(_ primary: String, _ secondary: String) -> CommandSpec {
        GlusterdLock.textForm(geoRepStatus(primary, secondary))
    }
    /// `config` get-all, `--xml` before the verb.
    public func geoRepConfigGet(_ primary: String, _ secondary: String) -> CommandSpec {
        geoRep(primary, secondary, ["config"])
    }
    /// `config KEY VALUE`, in text mode: options after `config` are values, so no `--xml` at all.
    public func geoRepConfigSet(_ primary: String, _ secondary: String, _ key: String, _ value: String) -> CommandSpec {
        text(["volume", "geo-replication", primary, secondary, "config", key, value])
    }
    /// `config !KEY` (reset to the default), in text mode.
    public func geoRepConfigReset(_ primary: String, _ secondary: String, _ key: String) -> CommandSpec {
        text(["volume", "geo-replication", primary, secondary, "config", "!" + key])
    }
    /// `create [ssh-port N] [push-pem] [force]`.
    public func geoRepCreate(_ primary: String, _ secondary: String, pushPem: Bool, sshPort: Int?, force: Bool)
        -> CommandSpec
    {
        var words = ["create"]
        if let sshPort { words += ["ssh-port", String(sshPort)] }
        if pushPem { words.append("push-pem") }
        if force { words.append("force") }
        return geoRep(primary, secondary, words)
    }
    /// `start|stop|pause|resume [force]`.
    public func geoRepVerb(_ primary: String, _ secondary: String, _ verb: String, force: Bool) -> CommandSpec {
        geoRep(primary, secondary, [verb] + (force ? ["force"] : []))
    }
    /// `delete [reset-sync-time]` (10.3 has no `delete force`).
    public func geoRepDelete(_ primary: String, _ secondary: String, resetSyncTime: Bool) -> CommandSpec {
        geoRep(primary, secondary, ["delete"] + (resetSyncTime ? ["reset-sync-time"] : []))
    }
    /// `system:: execute gsec_create` (no XML output exists for `system:: execute`).
    public var gsecCreate: CommandSpec { text(["system::", "execute", "gsec_create"]) }
}

// MARK: Snapshots

extension GlusterCLI {
    /// `volume list --xml`.
    public var volumeList: CommandSpec { xml(["volume", "list"]) }
    /// `volume delete VOL` (`--mode=script` answers its confirmation).
    public func volumeDelete(_ volume: String) -> CommandSpec { xml(["volume", "delete", volume]) }
    /// `snapshot info volume VOL --xml`: the volume's snapshot count, how many it may still take, each snapshot.
    public func snapshotInfo(volume: String) -> CommandSpec { xml(["snapshot", "info", "volume", volume]) }
    /// `snapshot info SNAP --xml`.
    public func snapshotInfo(_ snapshot: String) -> CommandSpec { xml(["snapshot", "info", snapshot]) }
    /// `snapshot status SNAP --xml`: each snapshot brick, running or not, and its thin LV's data use.
    public func snapshotStatus(_ snapshot: String) -> CommandSpec { xml(["snapshot", "status", snapshot]) }
    /// `snapshot create SNAP VOL no-timestamp [description TEXT]` (without no-timestamp gluster appends one).
    public func snapshotCreate(_ snapshot: String, _ volume: String, description: String?) -> CommandSpec {
        xml(
            ["snapshot", "create", snapshot, volume, "no-timestamp"] + (description.map { ["description", $0] } ?? []))
    }
    /// `snapshot activate SNAP`.
    public func snapshotActivate(_ snapshot: String) -> CommandSpec { xml(["snapshot", "activate", snapshot]) }
    /// `snapshot deactivate SNAP` (`--mode=script` answers its confirmation).
    public func snapshotDeactivate(_ snapshot: String) -> CommandSpec { xml(["snapshot", "deactivate", snapshot]) }
    /// `snapshot clone CLONE SNAP`: a new volume (status Created) sharing the snapshot's thin LVs.
    public func snapshotClone(_ clone: String, _ snapshot: String) -> CommandSpec {
        xml(["snapshot", "clone", clone, snapshot])
    }
    /// `snapshot delete SNAP` (`--mode=script` answers its confirmation).
    public func snapshotDelete(_ snapshot: String) -> CommandSpec { xml(["snapshot", "delete", snapshot]) }
}
