import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster

extension ActionRegistry {
    /// Every type this build of `runbook` knows: the built-in types and the GlusterFS pack.
    static var standard: ActionRegistry { .withGluster }
}

/// The effects of every type this build knows, over one run's connections.
func standardRuntimes(hosts: HostPool) -> [String: any ExecutableAction] {
    let builtIn: [String: any ExecutableAction] = [
        "shell": ShellRuntime(),
        "command": CommandProbeRuntime(),
        "ssh.reachable": SSHReachableRuntime(check: { await hosts.checkConnection($0) }),
        "ssh.key": SSHKeyRuntime(),
    ]
    return builtIn.merging(GlusterPack.runtimes(), uniquingKeysWith: { builtIn, _ in builtIn })
}

/// SSH connection multiplexing (ControlMaster), on unless RUNBOOK_SSH_MULTIPLEX=0 (for benchmarks
/// and for sites whose ssh configuration cannot use control sockets).
var sshMultiplexing: Bool { ProcessInfo.processInfo.environment["RUNBOOK_SSH_MULTIPLEX"] != "0" }
