import RunbookCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs commands on a remote host through the system OpenSSH client (`ssh`).
///
/// Command line (`multiplex == true`):
/// ```
/// ssh -T -o BatchMode=yes -o ConnectTimeout=N -o ServerAliveInterval=10 -o ServerAliveCountMax=3
///     -o ControlMaster=auto -o ControlPath=<controlDir>/%C -o ControlPersist=60
///     [-p port] [-i identity] [-o extra]... [-l user] address -- <remote command text>
/// ```
/// With `multiplex == false`, `-o ControlMaster=no -o ControlPath=none` replace
/// the three Control options. `BatchMode=yes` and `-T` mean ssh never prompts
/// (password, passphrase, host key) and never allocates a tty. The server-alive
/// options make a connection to a host that dies mid-command fail after ~30 s
/// instead of hanging.
///
/// Remote command text: ``CommandSpec/shellText`` — every argv element quoted
/// for the remote POSIX shell, the environment as a `K=V` prefix (or `env
/// 'K=V'` for names that are not shell identifiers) and the working directory
/// as `cd DIR &&`. With ``HostConnection/sudo`` the whole text runs as
/// `sudo -n -- sh -c '<shellText>'`, so the `cd`, the variables and the
/// command all happen inside the root shell (sudo's env reset cannot drop them)
/// and `-n` makes sudo fail instead of prompting. `CommandSpec.stdin` is fed to
/// ssh's standard input (nil: /dev/null).
///
/// Unreachable rule: ssh exits 255 both when it cannot connect/authenticate
/// and when the remote command itself exits 255. Exit 255 is reported as
/// ``TransportError`` `.unreachable` only when ssh's stderr contains one of
/// ssh's own client errors ("ssh: connect to host", "Connection refused",
/// "Connection timed out", "Could not resolve hostname", "Permission denied (",
/// "Host key verification failed", "No route to host", "Connection closed by",
/// "Connection reset by", "kex_exchange_identification", "Network is
/// unreachable", "Timeout, server", …); the message is that stderr line. Any
/// other exit 255 is an ordinary result.
///
/// Timeouts and cancellation kill the local `ssh` process group (SIGTERM,
/// 2 s, SIGKILL). Remotely, OpenSSH without a tty sends no signal when the
/// client goes away: it only closes the command's pipes, so a command that
/// neither reads nor writes (`sleep 600`) would keep running. Hence, with
/// `killRemoteOnDisconnect` (the default), the remote text is a small POSIX
/// `sh -c` wrapper (works whatever the login shell, as long as it can run
/// `sh -c '…'`):
/// ```
/// exec 3<&0 </dev/null
/// ( exec >/dev/null 2>&1; cat <&3; trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0 ) &
/// { <command text>; } </dev/null 3<&- & wait $!
/// ```
/// The local side keeps ssh's stdin open (and writes nothing) until ssh exits;
/// the remote `cat` therefore sees EOF exactly when the channel closes —
/// because the command finished normally, or because the local ssh was
/// killed, or the connection died. It then signals its process group, which
/// is the session sshd created for this command (sshd calls `setsid`), so the
/// command and anything it started in that group die: a timeout really stops
/// the remote command, and remote stragglers do not outlive the step (the same
/// rule as ``LocalTransport``). After a normal exit the watcher lingers
/// remotely for its 2 s grace period, detached from the session's pipes. With
/// `CommandSpec.stdin`, a first pipeline stage copies exactly the stdin byte
/// count (`head -c N <&3`) into the command and only then starts the same
/// watcher, so input and EOF detection share the one channel. The exit status is the command's (`wait $!`). Limits:
/// with `sudo` the watcher runs as the login user and can only reach the
/// root command through sudo's signal relaying; a command that calls
/// `setsid` itself escapes the group (as any daemon would).
///
/// Control sockets live in `controlDirectory` (created with mode 0700). The
/// socket name is `%C`, a 40-character hash, and ssh appends a ~17-character
/// suffix while creating it; if the directory path is too long for a Unix
/// socket path (over ~48 bytes), multiplexing is switched off rather than
/// failing every command.
public struct SSHTransport: Transport {
    /// The host this transport reaches.
    public let host: HostConnection
    /// Directory holding the ControlMaster sockets.
    public let controlDirectory: String
    /// Whether one connection is shared between commands (ControlMaster/ControlPersist).
    public let multiplex: Bool
    /// The ssh client program (looked up in `PATH` unless it contains `/`).
    public let sshExecutable: String
    /// Whether the remote command is wrapped so it is killed when the connection goes away.
    public let killRemoteOnDisconnect: Bool

    /// Creates an ssh transport for `host`, keeping control sockets in `controlDirectory`.
    ///
    /// - Parameters:
    ///   - multiplex: share one connection per host (ControlMaster); `false` opens one per command.
    ///   - killRemoteOnDisconnect: wrap the remote command in the disconnect
    ///     watcher described in the type's documentation (default `true`).
    public init(
        host: HostConnection,
        controlDirectory: String,
        multiplex: Bool = true,
        killRemoteOnDisconnect: Bool = true,
        sshExecutable: String = "ssh"
    ) {
        self.host = host
        self.controlDirectory = controlDirectory
        self.multiplex = multiplex && Self.controlPathFits(controlDirectory)
        self.killRemoteOnDisconnect = killRemoteOnDisconnect
        self.sshExecutable = sshExecutable
    }

    /// What ssh's `%C` control socket name stands for: hosts with the same address, port and
    /// user share one master connection.
    var controlKey: String { "\(host.user ?? "")@\(host.effectiveAddress):\(host.port.map(String.init) ?? "")" }

    /// The control socket's key when multiplexing (commands share its master connection).
    public var sharedConnectionKey: String? { multiplex ? controlKey : nil }

    /// The command text proper: ``CommandSpec/shellText``, under `sudo -n -- sh -c` when the host uses sudo.
    public func commandText(for command: CommandSpec) -> String {
        let text = command.shellText
        if host.sudo {
            return "sudo -n -- sh -c " + ShellQuoting.quote(text)
        }
        return text
    }

    /// The text ssh passes to the remote login shell (see the type's documentation).
    public func remoteCommandText(for command: CommandSpec) -> String {
        let text = commandText(for: command)
        guard killRemoteOnDisconnect else {
            return text
        }
        // Every redirection is done with `exec` inside a subshell: dash keeps
        // copies of redirected descriptors (fd 10+) that would leak into the
        // background watcher and hold the session's pipes open.
        let watcher = "cat <&3; trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0"
        let script: String
        if let stdin = command.stdin {
            script =
                "exec 3<&0 </dev/null; "
                + "( exec 2>/dev/null; head -c \(stdin.utf8.count) <&3; ( exec >/dev/null; \(watcher) ) & )"
                + " | { \(text); } 3<&- & wait $!"
        } else {
            script =
                "exec 3<&0 </dev/null; "
                + "( exec >/dev/null 2>&1; \(watcher) ) & "
                + "{ \(text); } </dev/null 3<&- & wait $!"
        }
        return "sh -c " + ShellQuoting.quote(script)
    }

    /// The full ssh argument list (without the program name) for `command`.
    public func sshArguments(for command: CommandSpec) -> [String] {
        connectionArguments(mux: multiplex) + ["--", remoteCommandText(for: command)]
    }

    /// Runs `command` on the host; see the type's documentation for the rules.
    public func run(_ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws -> CommandResult {
        do {
            try Task.checkCancellation()
        } catch {
            throw TransportError(kind: .cancelled, host: host.name, message: "cancelled before start")
        }
        guard let program = command.argv.first, !program.isEmpty else {
            throw TransportError(kind: .launchFailed, host: host.name, message: "empty command")
        }
        let result = try await runSSH(
            arguments: sshArguments(for: command),
            stdin: command.stdin,
            keepStdinOpen: killRemoteOnDisconnect,
            timeout: timeout,
            outputLimit: outputLimit
        )
        if !result.timedOut, result.exitCode == 255, let message = Self.connectionFailureMessage(in: result.stderr) {
            throw TransportError(kind: .unreachable, host: host.name, message: message)
        }
        return result
    }

    /// Runs `true` on the host (connecting or reusing the master) and measures the round trip.
    public func checkConnection() async -> ConnectionCheck {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let result = try await run(
                CommandSpec(argv: ["true"]),
                timeout: max(1, host.connectTimeout) + 10,
                outputLimit: 64 * 1024
            )
            let latency = (clock.now - start).seconds * 1000
            if result.timedOut {
                return ConnectionCheck(reachable: false, latencyMs: nil, error: "timed out")
            }
            if result.exitCode != 0 {
                let reason =
                    Self.lastLine(of: result.stderr) ?? "exit code \(result.exitCode.map(String.init) ?? "signal")"
                return ConnectionCheck(reachable: false, latencyMs: nil, error: reason)
            }
            return ConnectionCheck(reachable: true, latencyMs: latency, error: nil)
        } catch let error as TransportError {
            return ConnectionCheck(reachable: false, latencyMs: nil, error: error.message)
        } catch {
            return ConnectionCheck(reachable: false, latencyMs: nil, error: "\(error)")
        }
    }

    /// Asks the ControlMaster for this host to exit (`ssh -O exit`); a no-op without one.
    public func close() async {
        guard multiplex else { return }
        let arguments = connectionArguments(mux: true) + ["-O", "exit"]
        _ = try? await runSSH(arguments: arguments, stdin: nil, timeout: 10, outputLimit: 64 * 1024)
        // The master unlinks its socket right after acknowledging; wait for that
        // (bounded) so callers may rely on the socket being gone.
        for _ in 0..<40 {
            let check = try? await runSSH(
                arguments: connectionArguments(mux: true) + ["-O", "check"],
                stdin: nil,
                timeout: 5,
                outputLimit: 64 * 1024
            )
            if check?.exitCode != 0 {
                return
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    // MARK: - Internals

    /// Options, host and user; `--` and the command text are appended by callers.
    func connectionArguments(mux: Bool) -> [String] {
        var args = ["-T", "-o", "BatchMode=yes"]
        // Held to what Int and ssh can take: the inventory's value is bounded, a caller's need not be.
        let seconds = host.connectTimeout.isNaN ? 10 : min(max(1, host.connectTimeout), Value.maxDuration)
        let connectTimeout = Int(seconds.rounded(.up))
        args += ["-o", "ConnectTimeout=\(connectTimeout)"]
        args += ["-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"]
        if mux {
            args += [
                "-o", "ControlMaster=auto",
                "-o", "ControlPath=\(controlDirectory)/%C",
                "-o", "ControlPersist=60",
            ]
        } else {
            args += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        }
        if let port = host.port {
            args += ["-p", String(port)]
        }
        if let identity = host.identityFile {
            args += ["-i", identity]
        }
        for option in host.sshOptions {
            args += ["-o", option]
        }
        if let user = host.user {
            args += ["-l", user]
        }
        args.append(host.effectiveAddress)
        return args
    }

    private func runSSH(
        arguments: [String],
        stdin: String?,
        keepStdinOpen: Bool = false,
        timeout: Double?,
        outputLimit: Int
    ) async throws -> CommandResult {
        let address = host.effectiveAddress
        if address.isEmpty || address.hasPrefix("-") {
            throw TransportError(kind: .launchFailed, host: host.name, message: "invalid ssh address '\(address)'")
        }
        if multiplex {
            if let problem = Self.ensureControlDirectory(controlDirectory) {
                throw TransportError(kind: .launchFailed, host: host.name, message: problem)
            }
        }
        let executable: String
        switch LocalTransport.resolve(sshExecutable, environment: [:], workingDirectory: nil) {
        case .found(let path):
            executable = path
        case .notFound(let message), .notExecutable(let message):
            throw TransportError(kind: .launchFailed, host: host.name, message: "ssh client not available: \(message)")
        }
        do {
            return try await ProcessRunner.run(
                executable: executable,
                arguments: arguments,
                environment: [:],
                workingDirectory: nil,
                stdin: stdin,
                keepStdinOpen: keepStdinOpen,
                timeout: timeout,
                outputLimit: outputLimit
            )
        } catch {
            switch error {
            case .cancelled:
                throw TransportError(
                    kind: .cancelled, host: host.name, message: "cancelled: ssh to \(address) was killed")
            case .launchFailed(let message, _):
                throw TransportError(kind: .launchFailed, host: host.name, message: message)
            }
        }
    }

    /// Substrings of ssh's own client errors (see the type's unreachable rule).
    static let connectionFailurePatterns: [String] = [
        "ssh: connect to host",
        "Connection refused",
        "Connection timed out",
        "Could not resolve hostname",
        "Permission denied (",
        "Host key verification failed",
        "No route to host",
        "Connection closed by",
        "Connection reset by",
        "kex_exchange_identification",
        "ssh_exchange_identification",
        "Network is unreachable",
        "Timeout, server",
        "banner exchange",
        "Too many authentication failures",
        "Bad owner or permissions",
        "Control socket connect",
        "mux_client_request_session",
    ]

    /// ssh's own message when `stderr` shows a connection/authentication failure, else nil.
    public static func connectionFailureMessage(in stderr: String) -> String? {
        let lines = stderr.split(whereSeparator: { $0.isNewline })
            .map { $0.trimmingCharacters() }
            .filter { !$0.isEmpty }
        return lines.last { line in connectionFailurePatterns.contains { line.contains($0) } }
    }

    static func lastLine(of text: String) -> String? {
        text.split(whereSeparator: { $0.isNewline })
            .map { $0.trimmingCharacters() }
            .last { !$0.isEmpty }
    }

    static func controlPathFits(_ directory: String) -> Bool {
        // sun_path is 108 bytes; "/" + 40-char %C + ssh's ".XXXXXXXXXXXXXXXX" temp suffix + NUL.
        directory.utf8.count + 1 + 40 + 17 + 1 <= 108
    }

    /// Creates the control directory (and parents) and makes it 0700; returns a problem, or nil.
    static func ensureControlDirectory(_ directory: String) -> String? {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                return "cannot create ssh control directory \(prefix): \(String(cString: strerror(errno)))"
            }
        }
        if chmod(directory, 0o700) != 0 {
            return "cannot chmod ssh control directory \(directory): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
