import Foundation
import RunbookCore

/// The connections of one run: one transport per host, at most `host_concurrency` commands at
/// once on each, and the choice of host for `any(role)` targets.
public actor HostPool {
    let inventory: Inventory
    /// The transports of the registry's packs, by kind name.
    let transportFactories: [TransportKind: any TransportFactory]
    let transportKinds: [TransportKind]
    let context: TransportContext
    let defaultHostConcurrency: Int
    private var transports: [String: any Transport] = [:]
    private var slots: [String: Int] = [:]
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var chosen: [String: String] = [:]
    /// The first connection to each ssh control socket, made once (see `firstContact`).
    private var firstContacts: [String: Task<String?, Never>] = [:]

    /// For tests: replace how a host's transport is made.
    let factory: (@Sendable (HostConnection) -> any Transport)?

    /// A pool reaching each host through the transport of its kind among `registry`'s packs.
    public init(
        inventory: Inventory, registry: ActionRegistry, context: TransportContext, hostConcurrency: Int = 4,
        factory: (@Sendable (HostConnection) -> any Transport)? = nil
    ) {
        self.inventory = inventory
        self.transportFactories = registry.transports
        self.transportKinds = registry.transportKinds
        self.context = context
        self.defaultHostConcurrency = hostConcurrency
        self.factory = factory
    }

    /// How to reach an inventory host (or this machine, for `localhost`).
    public nonisolated func connection(for host: String) -> HostConnection {
        let settings = inventory.settings(for: host)
        let kind = settings.transport ?? (host == "localhost" ? .local : .ssh)
        return HostConnection(
            name: host, kind: kind, address: settings.address, user: settings.user, port: settings.port,
            connectTimeout: settings.connectTimeout ?? 10, sudo: settings.sudo ?? false,
            identityFile: settings.identityFile, sshOptions: settings.sshOptions ?? [])
    }

    public func transport(for host: String) -> any Transport {
        if let existing = transports[host] { return existing }
        let connection = connection(for: host)
        let transport =
            factory?(connection)
            ?? transportFactories[connection.kind]?.makeTransport(for: connection, context: context)
            ?? UnknownTransport(host: connection, known: transportKinds)
        transports[host] = transport
        return transport
    }

    /// Runs a command on a host within its concurrency limit.
    public func run(on host: String, _ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws
        -> CommandResult
    {
        let transport = transport(for: host)
        try await firstContact(host, transport)
        await acquire(host)
        defer { release(host) }
        return try await transport.run(command, timeout: timeout, outputLimit: outputLimit)
    }

    public func checkConnection(_ host: String) async -> ConnectionCheck {
        await transport(for: host).checkConnection()
    }

    /// The first of `candidates` that answers a connection check (remembered for the run).
    public func firstReachable(_ candidates: [String], key: String) async -> (host: String?, errors: [String: String]) {
        if let host = chosen[key] { return (host, [:]) }
        var errors: [String: String] = [:]
        for candidate in candidates {
            let check = await checkConnection(candidate)
            if check.reachable {
                chosen[key] = candidate
                return (candidate, errors)
            }
            errors[candidate] = check.error ?? "unreachable"
        }
        return (nil, errors)
    }

    /// Makes sure a host whose commands share one connection (a multiplexed ssh host: its
    /// transport's `sharedConnectionKey`) has it before commands share it.
    ///
    /// Commands that start together on a host without a master (or on hosts with the same
    /// address, port and user, which share one control socket) each open a connection of their
    /// own, and all but one drop multiplexing: one key exchange and login each instead of one in
    /// all (20 at once took 4-6 s on 2 cores instead of 2). So the first command waits for one
    /// `true` to set the master up, and the others wait for that same one. When ssh cannot
    /// connect, they all fail with its message (once, not once per waiting command), and the
    /// next command tries again; any other outcome of `true` leaves the command to say it.
    private func firstContact(_ host: String, _ transport: any Transport) async throws {
        guard let key = transport.sharedConnectionKey else { return }
        let task: Task<String?, Never>
        if let running = firstContacts[key] {
            task = running
        } else {
            task = Task {
                do {
                    _ = try await transport.run(
                        CommandSpec(argv: ["true"]), timeout: max(1, transport.host.connectTimeout) + 10,
                        outputLimit: 4096)
                    return nil
                } catch let error as TransportError where error.kind == .unreachable {
                    return error.message
                } catch {
                    return nil
                }
            }
            firstContacts[key] = task
        }
        // A stop request cancels the check (it kills its ssh), as it would the command.
        let outcome = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        if Task.isCancelled {
            if firstContacts[key] == task { firstContacts[key] = nil }
            throw TransportError(kind: .cancelled, host: host, message: "cancelled before the first connection")
        }
        guard let unreachable = outcome else { return }
        if firstContacts[key] == task { firstContacts[key] = nil }
        throw TransportError(kind: .unreachable, host: host, message: unreachable)
    }

    public func closeAll() async {
        for transport in transports.values { await transport.close() }
        transports = [:]
        firstContacts = [:]
    }

    private func limit(for host: String) -> Int {
        inventory.settings(for: host).hostConcurrency ?? defaultHostConcurrency
    }

    private func acquire(_ host: String) async {
        if slots[host, default: 0] < limit(for: host) {
            slots[host, default: 0] += 1
            return
        }
        await withCheckedContinuation { waiters[host, default: []].append($0) }
    }

    private func release(_ host: String) {
        if var queue = waiters[host], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[host] = queue
            next.resume()  // the slot passes to the waiter
        } else {
            slots[host, default: 1] -= 1
        }
    }
}
