import Foundation
import RunbookCore

extension LivePlanner {
    /// What the dry run is doing while it probes, for the operator to watch (nothing blank for
    /// the seconds a slow host takes).
    public enum Progress: Sendable, Equatable {
        /// The connection check of a host starts (all start together).
        case checking(host: String, address: String)
        /// It answered, after `seconds`.
        case reachable(host: String, seconds: Double)
        /// It did not: ssh's message (or the transport's).
        case unreachable(host: String, why: String)
        /// The probes of the steps start (on the hosts that answered).
        case probingSteps(hosts: Int)
    }

    /// Every host the plan would contact: the fixed host of each step instance and precondition,
    /// and each candidate of an `any(role)` target; skipped instances contact nothing.
    static func hostsToCheck(_ plan: Plan) -> [String] {
        var seen = Set<String>()
        var hosts: [String] = []
        for node in plan.preconditions + plan.nodes {
            if case .skipped = node.effect { continue }
            for host in node.candidates.isEmpty ? [node.host] : node.candidates where seen.insert(host).inserted {
                hosts.append(host)
            }
        }
        return hosts
    }

    /// Checks each host once, all at once; returns the unreachable ones with why.
    func checkHosts(_ plan: Plan) async -> [String: String] {
        let names = Self.hostsToCheck(plan)
        let progress = self.progress
        let hosts = self.hosts
        return await withTaskGroup(of: (String, String?).self) { group in
            for name in names {
                let address = plan.inventory.settings(for: name).address ?? name
                progress?(.checking(host: name, address: address))
                group.addTask {
                    let started = Date()
                    let check = await hosts.checkConnection(name)
                    if check.reachable {
                        progress?(.reachable(host: name, seconds: Date().timeIntervalSince(started)))
                        return (name, nil)
                    }
                    let why = check.error ?? "unreachable"
                    progress?(.unreachable(host: name, why: why))
                    return (name, why)
                }
            }
            var unreachable: [String: String] = [:]
            for await (name, why) in group { if let why { unreachable[name] = why } }
            return unreachable
        }
    }
}

/// The planner's view of the hosts once each was checked: a host that did not answer is not
/// asked again (once per step, one after another, each waiting for its connect timeout); its
/// steps and preconditions read as unreachable with the first check's message.
struct CheckedHosts: HostAccess {
    let base: any HostAccess
    let unreachable: [String: String]

    func run(on host: String, _ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws
        -> CommandResult
    {
        if let why = unreachable[host] { throw TransportError(kind: .unreachable, host: host, message: why) }
        return try await base.run(on: host, command, timeout: timeout, outputLimit: outputLimit)
    }

    func checkConnection(_ host: String) async -> ConnectionCheck {
        if let why = unreachable[host] { return ConnectionCheck(reachable: false, error: why) }
        return await base.checkConnection(host)
    }

    func firstReachable(_ candidates: [String], key: String) async -> (host: String?, errors: [String: String]) {
        let dead = candidates.filter { unreachable[$0] != nil }
        let alive = candidates.filter { unreachable[$0] == nil }
        var result: (host: String?, errors: [String: String]) = (nil, [:])
        if !alive.isEmpty { result = await base.firstReachable(alive, key: key) }
        for name in dead { result.errors[name] = unreachable[name] }
        return result
    }
}

extension Value {
    /// Whether the value is a text.
    var isString: Bool {
        if case .string = self { return true }
        return false
    }
}
