import RunbookCore
import RunbookExecution
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@Suite("LocalTransport")
struct LocalTransportTests {
    let transport = LocalTransport()

    @Test("exit codes are results, not errors")
    func exitCodes() async throws {
        let ok = try await transport.run(CommandSpec(argv: ["true"]), timeout: 10, outputLimit: 1000)
        #expect(ok.exitCode == 0)
        #expect(ok.succeeded)
        let failed = try await transport.run(
            CommandSpec(argv: ["sh", "-c", "exit 42"]), timeout: 10, outputLimit: 1000)
        #expect(failed.exitCode == 42)
        #expect(failed.signal == nil)
        #expect(!failed.succeeded)
        #expect(!failed.timedOut)
    }

    @Test("a process killed by a signal reports the signal")
    func killedBySignal() async throws {
        let r = try await transport.run(CommandSpec(argv: ["sh", "-c", "kill -9 $$"]), timeout: 10, outputLimit: 1000)
        #expect(r.exitCode == nil)
        #expect(r.signal == 9)
        #expect(!r.succeeded)
    }

    @Test("stdout and stderr are captured separately")
    func capture() async throws {
        let r = try await transport.run(
            CommandSpec(argv: ["sh", "-c", "echo out; echo err >&2; echo more"]),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(r.stdout == "out\nmore\n")
        #expect(r.stderr == "err\n")
        #expect(!r.stdoutTruncated)
        #expect(!r.stderrTruncated)
        #expect(r.duration > 0)  // measured; how long it takes is for benchmarks, not tests
    }

    @Test("environment is added to the inherited one; working directory is used")
    func environmentAndDirectory() async throws {
        let dir = makeTempDirectory()
        let r = try await transport.run(
            CommandSpec(
                argv: ["sh", "-c", "printf '%s|%s|%s' \"$RB_ONE\" \"$(pwd)\" \"${PATH:+has-path}\""],
                environment: ["RB_ONE": "value with spaces $x"],
                workingDirectory: dir
            ),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(r.stdout == "value with spaces $x|\(dir)|has-path")
        let missing = try await transport.run(
            CommandSpec(argv: ["true"], workingDirectory: dir + "/does-not-exist"),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(missing.exitCode == 1)
        #expect(missing.stderr.contains("No such file or directory"))
        rmdir(dir)
    }

    @Test("stdin text is fed to the command; nil stdin reads as empty")
    func standardInput() async throws {
        let r = try await transport.run(
            CommandSpec(argv: ["cat"], stdin: "line one\nline 'two'\n"),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(r.stdout == "line one\nline 'two'\n")
        let none = try await transport.run(CommandSpec(argv: ["cat"]), timeout: 10, outputLimit: 1000)
        #expect(none.exitCode == 0)
        #expect(none.stdout == "")
        // A command that ignores a large stdin still gives a normal result.
        let ignored = try await transport.run(
            CommandSpec(argv: ["true"], stdin: String(repeating: "x", count: 1_000_000)),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(ignored.exitCode == 0)
    }

    @Test("argv elements arrive intact (no shell re-splitting)")
    func quoting() async throws {
        let r = try await transport.run(
            CommandSpec(argv: ["sh", "-c", printArgsScript, "sh"] + trickyArguments),
            timeout: 10,
            outputLimit: 100_000
        )
        #expect(r.exitCode == 0)
        #expect(r.stdout == bracketed(trickyArguments))
    }

    @Test("output beyond the limit is dropped and flagged, and the command still completes")
    func truncation() async throws {
        let r = try await transport.run(
            CommandSpec(argv: [
                "sh", "-c",
                "head -c 1048576 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' e >&2; echo done >&2; exit 0",
            ]),
            timeout: 20,
            outputLimit: 1000
        )
        #expect(r.exitCode == 0)
        #expect(r.succeeded)
        #expect(r.stdoutTruncated)
        #expect(r.stdout.utf8.count == 1000)
        #expect(r.stdout == String(repeating: "a", count: 1000))
        #expect(r.stderrTruncated)
        #expect(r.stderr.utf8.count == 1000)
        let small = try await transport.run(CommandSpec(argv: ["printf", "12345"]), timeout: 10, outputLimit: 5)
        #expect(small.stdout == "12345")
        #expect(!small.stdoutTruncated)
    }

    @Test("a timeout kills the command and its grandchildren and is reported as timedOut")
    func timeoutKillsGroup() async throws {
        let r = try await transport.run(
            CommandSpec(argv: ["sh", "-c", "sleep 300 & echo $!; sleep 300"]),
            timeout: 1,
            outputLimit: 1000
        )
        #expect(r.timedOut)
        #expect(!r.succeeded)
        // Well short of the 300 s sleep, even on a loaded machine.
        #expect(r.duration >= 0.9 && r.duration < 120, "duration \(r.duration)")
        let grandchild = try #require(pids(in: r.stdout).first, "stdout: \(r.stdout)")
        #expect(await waitUntilGone(grandchild), "grandchild \(grandchild) still alive")
    }

    @Test("a background child left by a command that exited is killed too")
    func straggler() async throws {
        let r = try await transport.run(
            CommandSpec(argv: ["sh", "-c", "trap '' TERM; (trap '' TERM; exec sleep 300) >/dev/null 2>&1 & echo $!"]),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(r.exitCode == 0)
        #expect(r.duration < 120)  // did not wait for the 300 s background sleep
        let child = try #require(pids(in: r.stdout).first)
        #expect(await waitUntilGone(child), "background child \(child) survived")
    }

    @Test("a missing executable exits 127 with a shell-like message")
    func missingExecutable() async throws {
        let r = try await transport.run(CommandSpec(argv: ["no-such-cmd-rb", "x"]), timeout: 10, outputLimit: 1000)
        #expect(r.exitCode == 127)
        #expect(r.stderr.contains("runbook: no-such-cmd-rb: command not found"))
        let path = try await transport.run(CommandSpec(argv: ["/nonexistent/tool"]), timeout: 10, outputLimit: 1000)
        #expect(path.exitCode == 127)
        #expect(path.stderr.contains("No such file or directory"))
        let dir = makeTempDirectory()
        let plain = dir + "/plain"
        let garbage = dir + "/garbage"
        let setup = try await transport.run(
            CommandSpec(
                argv: [
                    "sh", "-c",
                    "printf 'x' > plain; chmod 644 plain; printf '\\001\\002\\003' > garbage; chmod 755 garbage",
                ], workingDirectory: dir),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(setup.exitCode == 0, "\(setup.stderr)")
        let notExec = try await transport.run(CommandSpec(argv: [plain]), timeout: 10, outputLimit: 1000)
        #expect(notExec.exitCode == 126)
        #expect(notExec.stderr.contains("Permission denied"))
        let badFormat = try await transport.run(CommandSpec(argv: [garbage]), timeout: 10, outputLimit: 1000)
        #expect(badFormat.exitCode == 126, "\(badFormat)")
        _ = try await transport.run(CommandSpec(argv: ["rm", "-rf", dir]), timeout: 10, outputLimit: 1000)
    }

    @Test("PATH from the command's environment is used for lookup")
    func pathFromEnvironment() async throws {
        let r = try await transport.run(
            CommandSpec(argv: ["sh", "-c", "echo ok"], environment: ["PATH": "/nonexistent"]),
            timeout: 10,
            outputLimit: 1000
        )
        #expect(r.exitCode == 127)
    }

    @Test("cancelling the calling task kills the process group promptly")
    func cancellation() async throws {
        let dir = makeTempDirectory()
        let pidFile = dir + "/pids"
        let transport = self.transport
        let clock = ContinuousClock()
        let task = Task {
            try await transport.run(
                CommandSpec(argv: [
                    "sh", "-c", "sleep 300 & echo $$ $! > \(pidFile).tmp; mv \(pidFile).tmp \(pidFile); sleep 300",
                ]),
                timeout: nil,
                outputLimit: 1000
            )
        }
        var recorded: [Int32] = []
        for _ in 0..<250 {
            if let text = readSmallFile(pidFile), pids(in: text).count == 2 {
                recorded = pids(in: text)
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(recorded.count == 2)
        let start = clock.now
        task.cancel()
        let outcome = await task.result
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(120), "cancellation took \(elapsed)")  // not the 300 s the commands sleep
        switch outcome {
        case .success(let r):
            Issue.record("expected a cancellation error, got \(r)")
        case .failure(let error):
            #expect((error as? TransportError)?.kind == .cancelled, "\(error)")
        }
        for pid in recorded {
            #expect(await waitUntilGone(pid), "pid \(pid) survived cancellation")
        }
        unlink(pidFile)
        rmdir(dir)
    }

    @Test("an already-cancelled task does not spawn the command")
    func preCancelled() async throws {
        let dir = makeTempDirectory()
        let marker = dir + "/marker"
        let transport = self.transport
        let task = Task {
            while !Task.isCancelled {
                await Task.yield()
            }
            return try await transport.run(CommandSpec(argv: ["touch", marker]), timeout: 10, outputLimit: 100)
        }
        task.cancel()
        let outcome = await task.result
        #expect(throws: TransportError.self) { try outcome.get() }
        #expect(readSmallFile(marker) == nil, "command ran although the task was cancelled")
        rmdir(dir)
    }

    @Test("checkConnection for local is reachable with zero latency")
    func localCheck() async {
        let check = await transport.checkConnection()
        #expect(check.reachable)
        #expect(check.latencyMs == 0)
        #expect(check.error == nil)
    }

    @Test("the standard transports pick the implementation from the host kind")
    func factory() throws {
        let registry = ActionRegistry(packs: [StandardTransports()])
        let context = TransportContext(controlDirectory: "/tmp/x")
        let local = try #require(registry.transports[.local]).makeTransport(for: .local(name: "here"), context: context)
        #expect(local is LocalTransport)
        #expect(local.host.name == "here")
        let db1 = HostConnection(name: "db1")
        let ssh = try #require(registry.transports[db1.kind]).makeTransport(for: db1, context: context)
        #expect(ssh is SSHTransport)
    }
}
