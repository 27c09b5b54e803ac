import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The host pool over a real loopback sshd: commands that start together share one connection.
@Suite(.enabled(if: LoopbackSSHD.isAvailable, Comment(rawValue: LoopbackSSHD.skipReason)))
struct HostPoolTests {
    static let transports = ActionRegistry(packs: [StandardTransports()])

    /// `count` inventory hosts that all reach `port` on 127.0.0.1 as root (one control socket).
    static func inventory(_ server: LoopbackSSHD, port: Int? = nil, count: Int) throws -> Inventory {
        let host = server.host
        let options = host.sshOptions.map { "\"\($0)\"" }.joined(separator: ", ")
        let text = """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: pool}
            defaults: {address: 127.0.0.1, port: \(port ?? host.port ?? 22), user: root, \
            identity_file: \(host.identityFile ?? ""), ssh_options: [\(options)], connect_timeout: 3s}
            hosts:
            \((1...count).map { "  h\($0): {roles: [site]}" }.joined(separator: "\n"))
            """
        var diagnostics = Diagnostics()
        return try #require(InventoryLoader.load(text: text, file: "i.yaml", diagnostics: &diagnostics))
    }

    @Test func commandsStartingTogetherOnAFreshHostShareOneConnection() async throws {
        try await LoopbackSSHD.withServer { server in
            let pool = HostPool(
                inventory: try Self.inventory(server, count: 8), registry: Self.transports,
                context: TransportContext(controlDirectory: server.controlDirectory + "-pool"))
            let ports = try await withThrowingTaskGroup(of: String.self) { group in
                for n in 1...8 {
                    group.addTask {
                        let result = try await pool.run(
                            on: "h\(n)", CommandSpec(argv: ["sh", "-c", "echo $SSH_CONNECTION"]), timeout: 30,
                            outputLimit: 4096)
                        // "client-address client-port server-address server-port"
                        return String(result.stdout.split(separator: " ").dropFirst().first ?? "")
                    }
                }
                var ports: Set<String> = []
                for try await port in group { ports.insert(port) }
                return ports
            }
            await pool.closeAll()
            #expect(ports.count == 1, "one TCP connection for 8 commands, not \(ports.count): \(ports)")
        }
    }

    @Test func anUnreachableHostFailsEveryWaitingCommandWithSSHsMessage() async throws {
        try await LoopbackSSHD.withServer { server in
            #expect(!LoopbackSSHD.canConnect(port: 1))
            let pool = HostPool(
                inventory: try Self.inventory(server, port: 1, count: 4), registry: Self.transports,
                context: TransportContext(controlDirectory: server.controlDirectory))
            let errors = await withTaskGroup(of: String.self) { group in
                for n in 1...4 {
                    group.addTask {
                        do {
                            _ = try await pool.run(
                                on: "h\(n)", CommandSpec(argv: ["true"]), timeout: 30, outputLimit: 64)
                            return "ran"
                        } catch let error as TransportError {
                            return "\(error.kind) \(error.message)"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var errors: [String] = []
                for await error in group { errors.append(error) }
                return errors
            }
            await pool.closeAll()
            #expect(errors.count == 4)
            #expect(
                errors.allSatisfy { $0.hasPrefix("unreachable ") && $0.contains("Connection refused") }, "\(errors)")
        }
    }
}
