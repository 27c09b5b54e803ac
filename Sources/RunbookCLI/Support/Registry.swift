import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster

/// The packs this build of `runbook` knows, composed here and only here: the core's types, the
/// built-in transports (`ssh`, `local`) and the GlusterFS pack. A new pack is one line.
let standardPacks: [any Pack] = [CorePack(), StandardTransports(), GlusterPack()]

extension ActionRegistry {
    /// The registry of ``standardPacks``, built once per process.
    static let standard = ActionRegistry(packs: standardPacks)
}

extension HostPool {
    /// The pool of a run or a dry run: the standard packs' transports, with their connection
    /// state under the state directory (`ssh/`) and their switches from the environment.
    init(inventory: Inventory, state: StateDirectory) {
        self.init(
            inventory: inventory, registry: .standard,
            context: TransportContext(
                controlDirectory: state.sshControlDirectory, environment: ProcessInfo.processInfo.environment))
    }
}
