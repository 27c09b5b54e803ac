import RunbookCore
import RunbookExecution
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real OpenSSH server on 127.0.0.1, on a free port, for transport tests.
///
/// `start()` makes a temporary directory with a host key, a client key, an
/// `authorized_keys` and an `sshd_config`, runs `/usr/sbin/sshd -D -e -f cfg`
/// as a child (through ``LocalTransport``, so it sits in its own process
/// group) and waits (at most 10 s) until the port accepts connections.
/// `stop()` kills it and removes the directory. Prefer
/// ``withServer(_:)``, which always stops the server.
public final class LoopbackSSHD: Sendable {
    /// Path of the OpenSSH server binary.
    public static let sshdPath = "/usr/sbin/sshd"

    /// Whether a loopback sshd can run here: the binary exists, we are root, and `/run/sshd` exists (created if missing).
    public static var isAvailable: Bool {
        unavailableReason == nil
    }

    /// Why SSH transport tests are skipped, for the test output.
    public static var skipReason: String {
        unavailableReason ?? "sshd available"
    }

    private static var unavailableReason: String? {
        if access(sshdPath, X_OK) != 0 {
            return "sshd not installed (apt-get install openssh-server) — skipping SSH transport tests"
        }
        if access("/usr/bin/ssh-keygen", X_OK) != 0 && access("/bin/ssh-keygen", X_OK) != 0 {
            return "ssh-keygen not installed (apt-get install openssh-client) — skipping SSH transport tests"
        }
        if geteuid() != 0 {
            return "not running as root (sshd needs root for privilege separation) — skipping SSH transport tests"
        }
        var st = stat()
        if stat("/run/sshd", &st) != 0 {
            if mkdir("/run/sshd", 0o755) != 0 && errno != EEXIST {
                return "cannot create /run/sshd (sshd's privilege separation directory) — skipping SSH transport tests"
            }
        }
        return nil
    }

    /// The port sshd listens on (127.0.0.1).
    public let port: Int
    /// The temporary directory holding keys, config, pid file and log.
    public let directory: String
    /// The client private key accepted by the server.
    public let clientKeyPath: String
    /// A directory (inside ``directory``) suitable for ssh control sockets.
    public let controlDirectory: String

    private let serverTask: Task<Void, Never>
    private let finished: FinishFlag

    private init(
        port: Int, directory: String, clientKeyPath: String, serverTask: Task<Void, Never>, finished: FinishFlag
    ) {
        self.port = port
        self.directory = directory
        self.clientKeyPath = clientKeyPath
        self.controlDirectory = directory + "/cm"
        self.serverTask = serverTask
        self.finished = finished
    }

    /// A ready ``HostConnection`` for this server: user root, its port and key, no host key checks.
    public var host: HostConnection {
        hostConnection(name: "loopback")
    }

    /// Like ``host`` with another inventory name.
    public func hostConnection(name: String, sudo: Bool = false) -> HostConnection {
        HostConnection(
            name: name,
            kind: .ssh,
            address: "127.0.0.1",
            user: "root",
            port: port,
            connectTimeout: 5,
            sudo: sudo,
            identityFile: clientKeyPath,
            sshOptions: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]
        )
    }

    /// Errors while starting the server.
    public struct StartError: Error, CustomStringConvertible {
        /// What went wrong.
        public var description: String
    }

    /// Starts a server and runs `body` with it, stopping it afterwards (also when `body` throws).
    ///
    /// With `ownHome` (the default) the server's sessions get its temporary directory as `HOME`,
    /// so the login shell that runs each command reads no dotfiles of this machine's root (on a
    /// development box they can cost more than the command: a `.bashrc` running `pyenv init`
    /// took 0.4 s per command here, since bash reads `~/.bashrc` for every command sshd runs).
    public static func withServer<T: Sendable>(ownHome: Bool = true, _ body: (LoopbackSSHD) async throws -> T)
        async throws -> T
    {
        let server = try await start(ownHome: ownHome)
        do {
            let value = try await body(server)
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Starts sshd on a free loopback port and waits until it accepts connections (at most 10 s).
    /// See ``withServer(ownHome:_:)`` for `ownHome`.
    public static func start(ownHome: Bool = true) async throws -> LoopbackSSHD {
        if let reason = unavailableReason {
            throw StartError(description: reason)
        }
        var template = Array("/tmp/rb-sshd-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw StartError(description: "mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let dir = String(cString: made)
        let local = LocalTransport()
        for key in ["host_ed25519", "client_ed25519"] {
            let r = try await local.run(
                CommandSpec(argv: [
                    "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "runbook-test", "-f", dir + "/" + key,
                ]),
                timeout: 20,
                outputLimit: 64 * 1024
            )
            guard r.succeeded else {
                throw StartError(description: "ssh-keygen failed: \(r.stderr)")
            }
        }
        let copy = try await local.run(
            CommandSpec(argv: ["cp", dir + "/client_ed25519.pub", dir + "/authorized_keys"]),
            timeout: 10,
            outputLimit: 4096
        )
        guard copy.succeeded else {
            throw StartError(description: "cannot write authorized_keys: \(copy.stderr)")
        }

        var lastError = "no attempt"
        for _ in 0..<3 {  // a free port can be taken between probing and binding: retry
            let port = try freeLoopbackPort()
            let config = """
                ListenAddress 127.0.0.1
                Port \(port)
                HostKey \(dir)/host_ed25519
                PidFile \(dir)/sshd.pid
                AuthorizedKeysFile \(dir)/authorized_keys
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                PermitRootLogin prohibit-password
                StrictModes no
                LogLevel ERROR
                MaxStartups 100
                MaxSessions 64
                PrintMotd no
                \(ownHome ? "SetEnv HOME=\(dir)" : "")

                """
            let configPath = dir + "/sshd_config"
            try writeFile(configPath, config)

            let finished = FinishFlag()
            let task = Task<Void, Never> {
                let result = try? await local.run(
                    CommandSpec(argv: [sshdPath, "-D", "-e", "-f", configPath]),
                    timeout: nil,
                    outputLimit: 64 * 1024
                )
                finished.finish(stderr: result?.stderr ?? "")
            }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            var up = false
            while clock.now < deadline {
                if finished.isFinished { break }
                if canConnect(port: port) {
                    up = true
                    break
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            if up {
                return LoopbackSSHD(
                    port: port,
                    directory: dir,
                    clientKeyPath: dir + "/client_ed25519",
                    serverTask: task,
                    finished: finished
                )
            }
            task.cancel()
            await task.value
            lastError =
                finished.isFinished
                ? "sshd exited: \(finished.stderr)"
                : "sshd did not accept connections on 127.0.0.1:\(port) within 10 s"
        }
        _ = try? await local.run(CommandSpec(argv: ["rm", "-rf", dir]), timeout: 10, outputLimit: 4096)
        throw StartError(description: lastError)
    }

    /// Stops sshd (its whole process group) and removes the temporary directory.
    public func stop() async {
        serverTask.cancel()
        await serverTask.value
        _ = try? await LocalTransport().run(
            CommandSpec(argv: ["rm", "-rf", directory]), timeout: 10, outputLimit: 4096)
    }

    // MARK: - Helpers

    private static func writeFile(_ path: String, _ text: String) throws {
        guard let file = fopen(path, "w") else {
            throw StartError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, fwrite(bytes, 1, bytes.count, file) != bytes.count {
            throw StartError(description: "cannot write \(path)")
        }
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return addr
    }

    /// Asks the kernel for an unused port on 127.0.0.1.
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket() failed") }
        defer { close(fd) }
        var addr = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw StartError(description: "bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &len)
            }
        }
        guard named == 0 else { throw StartError(description: "getsockname() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopbackAddress(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0
    }
}

/// Set once the sshd child has exited, with what it printed.
private final class FinishFlag: Sendable {
    private let state = Mutex<(done: Bool, stderr: String)>((false, ""))

    func finish(stderr: String) {
        state.withLock { $0 = (true, stderr) }
    }

    var isFinished: Bool { state.withLock { $0.done } }
    var stderr: String { state.withLock { $0.stderr } }
}
