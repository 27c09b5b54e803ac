import RunbookCore
import RunbookExecution

extension ActionRegistry {
    /// Every type this build of `runbook` knows.
    static var standard: ActionRegistry { .builtIn }
}

/// The effects of every type this build knows, over one run's connections.
func standardRuntimes(hosts: HostPool) -> [String: any ExecutableAction] {
    [
        "shell": ShellRuntime(),
        "command": CommandProbeRuntime(),
        "ssh.reachable": SSHReachableRuntime(check: { await hosts.checkConnection($0) }),
        "ssh.key": SSHKeyRuntime(),
    ]
}
