import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Issue 19, defects 6 and 8: a closed output pipe, a hang-up and a killed process, with the
/// binary spawned on real pipes and sent real signals.
extension RunTests {
    /// A runbook of two quick steps around a short sleep, so some output comes after a reader left.
    static func twoStepRunbook(_ scratch: Scratch, name: String) throws -> String {
        try scratch.write(
            "\(name).yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: \(name)}
            steps:
              - id: first
                action: shell
                with: {run: [touch, \(scratch.work)/first], check: [test, -e, \(scratch.work)/first]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/first]}}
              - id: second
                needs: [first]
                action: shell
                with: {script: "sleep 0.5; touch \(scratch.work)/second", check: [test, -e, \(scratch.work)/second]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/second]}}
            """)
    }

    /// Spawns `runbook ARGS` with stdout on a pipe nobody reads (its read end closed before the
    /// start, as after `| head -1` exited): every write to stdout fails with EPIPE.
    func runbookWithClosedStdout(_ scratch: Scratch, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let output = Pipe()
        try output.fileHandleForReading.close()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try output.fileHandleForWriting.close()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (shellStatus(process), stderr)
    }

    /// The exit status, or 128 + the signal that ended it (as a shell says).
    func shellStatus(_ process: Process) -> Int32 {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }

    @Test func aClosedStdoutPipeIsOutputGoneAndTheRunFinishesJournaled() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let file = try Self.twoStepRunbook(scratch, name: "closed-pipe")
        let inventory = try scratch.write("i.yaml", Self.inventory)

        // The text plan goes to stdout first: its write fails.
        let plain = try runbookWithClosedStdout(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("succeeded"), "\(plain.stderr)")
        let first = try latestRunID(scratch)
        #expect(try scratch.journal().run(id: first)?.status == .succeeded)

        // `--events -`: every event line fails; the run still ends journaled.
        try FileManager.default.removeItem(atPath: scratch.work + "/first")
        try FileManager.default.removeItem(atPath: scratch.work + "/second")
        let events = try runbookWithClosedStdout(scratch, ["run", file, "-i", inventory, "--yes", "--events", "-"])
        #expect(events.status == 0, "\(events.stderr)")
        let second = try latestRunID(scratch)
        #expect(second != first)
        #expect(try scratch.journal().run(id: second)?.status == .succeeded)
        #expect(FileManager.default.fileExists(atPath: scratch.work + "/second"))
    }

    @Test func eventsPipedIntoHeadFinishTheRun() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let file = try Self.twoStepRunbook(scratch, name: "head")
        let inventory = try scratch.write("i.yaml", Self.inventory)
        // A real pipeline: `head -1` takes the first event and exits; the run goes on.
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        environment["NO_COLOR"] = "1"
        let result = try runProgram(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                "\"$0\" run \"$1\" -i \"$2\" --yes --events - | head -1; echo \"runbook exit ${PIPESTATUS[0]}\" >&2",
                binary.path, file, inventory,
            ], environment: environment)
        #expect(result.stderr.contains("runbook exit 0"), "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 1, "\(result.stdout)")
        let run = try #require(try scratch.journal().runs(limit: 1).first)
        #expect(run.status == .succeeded)
    }

    /// Starts `runbook run` of a runbook whose step `slow` sleeps, and waits (at most 30 s) until
    /// the journal says that step runs.
    func startSlowRun(_ scratch: Scratch, marker: String) throws -> (Process, Pipe) {
        let file = try scratch.write(
            "slow.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: slow}
            steps:
              - id: slow
                action: shell
                with: {script: "sleep 300; echo \(marker); touch \(scratch.work)/slow", check: [test, -e, \(scratch.work)/slow]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/slow]}}
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["run", file, "-i", inventory, "--yes", "--grace", "1"]
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let journal = try? scratch.journal(), let run = try? journal.runs(limit: 1).first,
                (try? journal.step(runID: run.id, nodeID: "slow"))?.state == .running
            {
                return (process, errors)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        Issue.record("the step did not start within 30 s")
        throw CancellationError()
    }

    /// The pids of the commands whose command line contains `marker`.
    func processes(containing marker: String) throws -> [Int32] {
        try runProgram(URL(fileURLWithPath: "/usr/bin/pgrep"), ["-f", marker]).stdout
            .split(separator: "\n").compactMap { Int32($0) }
    }

    @Test func sighupIsHandledAsSIGTERMJournaledAndTheStepsChildNotOrphaned() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let marker = "hup-\(UUID().uuidString)"
        let (process, errors) = try startSlowRun(scratch, marker: marker)
        kill(process.processIdentifier, SIGHUP)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(shellStatus(process) == 129, "\(stderr)")
        #expect(stderr.contains("was interrupted (SIGHUP)"), "\(stderr)")
        let run = try #require(try scratch.journal().runs(limit: 1).first)
        #expect(run.status == .interrupted)
        #expect(try scratch.journal().step(runID: run.id, nodeID: "slow")?.state == .cancelled)
        let left = try processes(containing: marker)
        for pid in left { kill(pid, SIGKILL) }
        #expect(left.isEmpty, "the step's command outlived the run")
    }

    @Test func aKilledRunIsShownInterruptedNotRunning() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let marker = "killed-\(UUID().uuidString)"
        let (process, _) = try startSlowRun(scratch, marker: marker)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        defer { for pid in (try? processes(containing: marker)) ?? [] { kill(pid, SIGKILL) } }
        let runID = try latestRunID(scratch)
        #expect(try scratch.journal().run(id: runID)?.status == .running)  // nobody journaled its end

        let history = try runbook(scratch, ["history"])
        let line = try #require(history.stdout.split(separator: "\n").first { $0.contains(runID) })
        #expect(line.contains("interrupted"), "\(history.stdout)")
        #expect(!line.contains("running"), "\(history.stdout)")

        let status = try runbook(scratch, ["status", runID])
        #expect(status.stdout.contains("status:     interrupted (process gone)"), "\(status.stdout)")
        #expect(!status.stdout.contains("status:     running"), "\(status.stdout)")
        #expect(status.stdout.contains("runbook resume \(runID)"), "\(status.stdout)")
    }
}
