import Foundation
import RunbookCore
import RunbookGluster

extension ActionRegistry {
    /// Every type this build of `runbook` knows: the built-in types and the GlusterFS pack.
    static var standard: ActionRegistry { .withGluster }
}

/// SSH connection multiplexing (ControlMaster), on unless RUNBOOK_SSH_MULTIPLEX=0 (for benchmarks
/// and for sites whose ssh configuration cannot use control sockets).
var sshMultiplexing: Bool { ProcessInfo.processInfo.environment["RUNBOOK_SSH_MULTIPLEX"] != "0" }
