import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs `body` with a transport to a fresh loopback sshd and closes it afterwards.
private func withLoopback(
    multiplex: Bool = true,
    _ body: (SSHTransport, LoopbackSSHD) async throws -> Void
) async throws {
    try await LoopbackSSHD.withServer { server in
        let transport = SSHTransport(host: server.host, controlDirectory: server.controlDirectory, multiplex: multiplex)
        do {
            try await body(transport, server)
            await transport.close()
        } catch {
            await transport.close()
            throw error
        }
    }
}

// Skipped (and shown as skipped, with LoopbackSSHD.skipReason as the comment)
// when sshd is not installed or we are not root.
@Suite(
    "SSHTransport against a loopback sshd",
    .serialized,
    .enabled(if: LoopbackSSHD.isAvailable, Comment(rawValue: LoopbackSSHD.skipReason))
)
struct SSHTransportTests {
    @Test("echo runs remotely")
    func echo() async throws {
        try await withLoopback { t, _ in
            let r = try await t.run(CommandSpec(argv: ["echo", "hello", "world"]), timeout: 20, outputLimit: 1000)
            #expect(r.exitCode == 0, "stderr: \(r.stderr)")
            #expect(r.stdout == "hello world\n")
        }
    }

    @Test("argv elements survive the remote shell intact")
    func quoting() async throws {
        try await withLoopback { t, _ in
            let r = try await t.run(
                CommandSpec(argv: ["sh", "-c", printArgsScript, "sh"] + trickyArguments),
                timeout: 20,
                outputLimit: 100_000
            )
            #expect(r.exitCode == 0, "stderr: \(r.stderr)")
            #expect(r.stdout == bracketed(trickyArguments))
        }
    }

    @Test("environment and working directory apply remotely")
    func environmentAndDirectory() async throws {
        try await withLoopback { t, server in
            let r = try await t.run(
                CommandSpec(
                    argv: ["sh", "-c", "printf '%s|%s|%s' \"$RB_ONE\" \"$RB_TWO\" \"$(pwd)\""],
                    environment: ["RB_ONE": "spaces and 'quotes' $(x)", "RB_TWO": ""],
                    workingDirectory: server.directory
                ),
                timeout: 20,
                outputLimit: 1000
            )
            #expect(r.exitCode == 0, "stderr: \(r.stderr)")
            #expect(r.stdout == "spaces and 'quotes' $(x)||\(server.directory)")
        }
    }

    @Test("remote exit codes propagate; a remote 255 without ssh's errors is a result")
    func exitCodes() async throws {
        try await withLoopback { t, _ in
            let r = try await t.run(
                CommandSpec(argv: ["sh", "-c", "echo oops >&2; exit 42"]), timeout: 20, outputLimit: 1000)
            #expect(r.exitCode == 42)
            #expect(r.stderr == "oops\n")
            let r255 = try await t.run(
                CommandSpec(argv: ["sh", "-c", "echo tool broke >&2; exit 255"]), timeout: 20, outputLimit: 1000)
            #expect(r255.exitCode == 255)
            let missing = try await t.run(CommandSpec(argv: ["no-such-cmd-rb"]), timeout: 20, outputLimit: 1000)
            #expect(missing.exitCode == 127)
        }
    }

    @Test("stdin is passed through ssh")
    func standardInput() async throws {
        try await withLoopback { t, _ in
            let text = "first line\nsecond 'line' $(x)\n"
            let r = try await t.run(CommandSpec(argv: ["cat"], stdin: text), timeout: 20, outputLimit: 1000)
            #expect(r.stdout == text)
            let none = try await t.run(CommandSpec(argv: ["cat"]), timeout: 20, outputLimit: 1000)
            #expect(none.exitCode == 0)
            #expect(none.stdout == "")
        }
    }

    @Test("output limit and timeout work over ssh")
    func limitsAndTimeout() async throws {
        try await withLoopback { t, _ in
            let big = try await t.run(
                CommandSpec(argv: ["sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' a"]),
                timeout: 30,
                outputLimit: 1000
            )
            #expect(big.exitCode == 0)
            #expect(big.stdoutTruncated)
            #expect(big.stdout.utf8.count == 1000)
        }
    }

    @Test("a timeout kills the local ssh and the remote command (and its children)")
    func timeoutKillsRemote() async throws {
        try await withLoopback { t, server in
            let pidFile = server.directory + "/remote-pids"
            let slow = try await t.run(
                CommandSpec(argv: ["sh", "-c", "sleep 300 & echo $$ $! > \(pidFile); wait"]),
                timeout: 1,
                outputLimit: 1000
            )
            #expect(slow.timedOut)
            #expect(slow.duration < 120, "duration \(slow.duration)")  // not the 300 s sleep
            // The "remote" host is this machine, so the remote pids can be checked directly.
            let remote = pids(in: readSmallFile(pidFile) ?? "")
            #expect(remote.count == 2, "no pids recorded")
            for pid in remote {
                #expect(await waitUntilGone(pid, seconds: 30), "remote pid \(pid) survived the timeout")
                if isAlive(pid) { kill(pid, SIGKILL) }
            }
        }
    }

    @Test("cancelling the caller kills the local ssh and the remote command promptly")
    func cancellation() async throws {
        try await withLoopback { t, server in
            let pidFile = server.directory + "/cancel-pid"
            let clock = ContinuousClock()
            let task = Task {
                try await t.run(
                    CommandSpec(argv: [
                        "sh", "-c", "echo $$ > \(pidFile).tmp && mv \(pidFile).tmp \(pidFile); sleep 300",
                    ]),
                    timeout: nil,
                    outputLimit: 1000
                )
            }
            var remote: Int32? = nil
            for _ in 0..<500 {
                if let pid = pids(in: readSmallFile(pidFile) ?? "").first {
                    remote = pid
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let pid = try #require(remote, "remote command never started")
            let start = clock.now
            task.cancel()
            let outcome = await task.result
            #expect(clock.now - start < .seconds(120))  // not the 300 s sleep
            switch outcome {
            case .success(let r):
                Issue.record("expected cancellation, got \(r)")
            case .failure(let error):
                #expect((error as? TransportError)?.kind == .cancelled, "\(error)")
            }
            #expect(await waitUntilGone(pid, seconds: 30), "remote pid \(pid) survived cancellation")
            if isAlive(pid) { kill(pid, SIGKILL) }
        }
    }

    @Test("remote background stragglers do not outlive the command; stdin + watcher coexist")
    func remoteStragglers() async throws {
        try await withLoopback { t, _ in
            let r = try await t.run(
                CommandSpec(argv: ["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"]),
                timeout: 20,
                outputLimit: 1000
            )
            #expect(r.exitCode == 0)
            #expect(r.duration < 120)  // not the 300 s background sleep
            let straggler = try #require(pids(in: r.stdout).first)
            #expect(await waitUntilGone(straggler, seconds: 30), "remote straggler \(straggler) survived")
            if isAlive(straggler) { kill(straggler, SIGKILL) }

            // A command that reads only part of its stdin still finishes normally.
            let partial = try await t.run(
                CommandSpec(argv: ["head", "-n", "1"], stdin: "one\ntwo\nthree\n"),
                timeout: 20,
                outputLimit: 1000
            )
            #expect(partial.exitCode == 0)
            #expect(partial.stdout == "one\n")
        }
    }

    @Test("multiplexing: control socket after first command; 20 commands with vs without")
    func multiplexing() async throws {
        try await LoopbackSSHD.withServer { server in
            let muxed = SSHTransport(host: server.host, controlDirectory: server.controlDirectory, multiplex: true)
            let plain = SSHTransport(
                host: server.host, controlDirectory: server.controlDirectory + "-plain", multiplex: false)
            let clock = ContinuousClock()

            let first = try await muxed.run(CommandSpec(argv: ["true"]), timeout: 20, outputLimit: 1000)
            #expect(first.exitCode == 0, "stderr: \(first.stderr)")
            #expect(sockets(in: server.controlDirectory).count == 1, "no control socket in \(server.controlDirectory)")

            var muxedOK = 0
            let muxStart = clock.now
            for i in 0..<20 {
                let r = try await muxed.run(CommandSpec(argv: ["echo", "\(i)"]), timeout: 20, outputLimit: 1000)
                if r.exitCode == 0 && r.stdout == "\(i)\n" { muxedOK += 1 }
            }
            let muxElapsed = clock.now - muxStart

            var plainOK = 0
            let plainStart = clock.now
            for i in 0..<20 {
                let r = try await plain.run(CommandSpec(argv: ["echo", "\(i)"]), timeout: 20, outputLimit: 1000)
                if r.exitCode == 0 && r.stdout == "\(i)\n" { plainOK += 1 }
            }
            let plainElapsed = clock.now - plainStart

            print(
                "[ssh multiplexing] 20 commands with ControlMaster: \(muxElapsed) (\(muxElapsed / 20) each); without: \(plainElapsed) (\(plainElapsed / 20) each)"
            )
            #expect(muxedOK == 20)
            #expect(plainOK == 20)
            #expect(sockets(in: server.controlDirectory + "-plain").isEmpty)
            await muxed.close()
        }
    }

    @Test("close() removes the control socket")
    func closeRemovesSocket() async throws {
        try await withLoopback { t, server in
            _ = try await t.run(CommandSpec(argv: ["true"]), timeout: 20, outputLimit: 1000)
            #expect(sockets(in: server.controlDirectory).count == 1)
            var st = stat()
            #expect(stat(server.controlDirectory, &st) == 0 && (st.st_mode & 0o777) == 0o700)
            await t.close()
            #expect(sockets(in: server.controlDirectory).isEmpty)
            // The transport still works after close (a new master is made).
            let again = try await t.run(CommandSpec(argv: ["echo", "again"]), timeout: 20, outputLimit: 1000)
            #expect(again.stdout == "again\n")
        }
    }

    @Test("checkConnection: reachable with latency")
    func checkReachable() async throws {
        try await withLoopback { t, _ in
            let check = await t.checkConnection()
            #expect(check.reachable, "\(check)")
            #expect((check.latencyMs ?? -1) > 0)
            #expect(check.error == nil)
        }
    }

    @Test("a port with nothing listening is unreachable with ssh's own message")
    func unreachable() async throws {
        try await LoopbackSSHD.withServer { server in
            // Take a free port and make sure nothing listens there.
            var host = server.host
            host.name = "deadhost"
            host.port = 1
            #expect(!LoopbackSSHD.canConnect(port: 1))
            let t = SSHTransport(host: host, controlDirectory: server.controlDirectory)
            do {
                let r = try await t.run(CommandSpec(argv: ["true"]), timeout: 20, outputLimit: 1000)
                Issue.record("expected unreachable, got \(r)")
            } catch let error as TransportError {
                #expect(error.kind == .unreachable)
                #expect(error.host == "deadhost")
                #expect(error.message.contains("Connection refused"), "message: \(error.message)")
                #expect(error.message.hasPrefix("ssh: connect to host 127.0.0.1 port 1"), "message: \(error.message)")
            }
            let check = await t.checkConnection()
            #expect(!check.reachable)
            #expect(check.error?.contains("Connection refused") == true, "\(check)")
            await t.close()
        }
    }

    @Test("a wrong key is unreachable (Permission denied), never a prompt")
    func wrongKey() async throws {
        try await LoopbackSSHD.withServer { server in
            var host = server.host
            host.identityFile = server.directory + "/host_ed25519"  // not authorized
            let t = SSHTransport(host: host, controlDirectory: server.controlDirectory, multiplex: false)
            await #expect {
                _ = try await t.run(CommandSpec(argv: ["true"]), timeout: 20, outputLimit: 1000)
            } throws: { error in
                guard let e = error as? TransportError else { return false }
                return e.kind == .unreachable && e.message.contains("Permission denied")
            }
        }
    }
}
