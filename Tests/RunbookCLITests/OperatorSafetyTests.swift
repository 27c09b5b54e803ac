import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Issue 19, as an on-call operator meets it: a rollback asks before it undoes, a failure stays a
/// failure once rolled back, gate deadlines are shown, a parked run keeps the inventory's lock,
/// the suggested commands keep the run's params and mode, and a rollback that failed says so.
/// Every check spawns the built binary (no terminal: stdin is /dev/null; a terminal: tmux).
extension RunTests {
    /// A runbook whose first step changes something (a file; its undo removes it) and whose
    /// second fails with a message; `undo` replaces the first step's undo.
    func failingRunbook(
        _ scratch: Scratch, name: String = "failing", policy: String = "rollback",
        undo: String? = nil, extra: String = ""
    ) throws -> String {
        try scratch.write(
            "\(name).yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: \(name)}
            modes: [planned, drill]
            on_failure: \(policy)
            params:
              workdir: {type: string, default: \(scratch.work)}
            \(extra)
            steps:
              - id: make
                action: shell
                with: {run: [touch, "${{ params.workdir }}/made"], check: [test, -e, "${{ params.workdir }}/made"]}
                undo: {action: shell, with: {run: \(undo ?? "[rm, \"${{ params.workdir }}/made\"]")}}
              - id: boom
                needs: [make]
                action: shell
                with: {run: [sh, -c, "echo the replica is behind >&2; exit 1"]}
                undo: {action: shell, with: {run: ["true"]}}
            """)
    }

    // MARK: 1. A rollback asks

    @Test func rollbackWithoutATerminalNeedsYesAndDryRunNeverAsks() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try failingRunbook(scratch, policy: "stop")
        let failed = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(failed.status == 1, "\(failed.stderr)")
        let runID = try latestRunID(scratch)
        let made = scratch.work + "/made"
        #expect(FileManager.default.fileExists(atPath: made))

        let refused = try runbook(scratch, ["rollback", runID])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stdout.contains("Rollback of run \(runID), newest first:"), "\(refused.stdout)")
        #expect(refused.stdout.contains("make on localhost"), "\(refused.stdout)")
        #expect(refused.stderr.contains("no terminal to confirm on: pass --yes to roll back run \(runID)"))
        #expect(FileManager.default.fileExists(atPath: made), "rolled back without --yes")
        #expect(try scratch.journal().run(id: runID)?.status == .failed)

        let dry = try runbook(scratch, ["rollback", runID, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(!dry.stderr.contains("--yes"), "\(dry.stderr)")

        let done = try runbook(scratch, ["rollback", runID, "--yes"])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(!FileManager.default.fileExists(atPath: made))
    }

    // MARK: 2. A failure stays a failure

    @Test func aFailedStepRolledBackStaysAFailureInEveryView() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try failingRunbook(scratch)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("was rolled back"), "\(run.stderr)")
        // The summary table: the failed step is `failed, undone` with its message.
        let row = run.stderr.split(separator: "\n").first { $0.hasPrefix("boom ") }.map(String.init) ?? ""
        #expect(row.contains("failed, undone"), "\(run.stderr)")
        #expect(row.contains("the replica is behind"), "\(row)")
        let runID = try latestRunID(scratch)

        let status = try runbook(scratch, ["status", runID])
        #expect(status.stdout.contains("failed, undone"), "\(status.stdout)")
        let show = try runbook(scratch, ["show", runID])
        #expect(show.stdout.contains("boom  failed, undone"), "\(show.stdout)")

        let json = try runbook(scratch, ["show", runID, "--format", "json"])
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let steps = try #require(document["steps"] as? [[String: Any]])
        let boom = try #require(steps.first { $0["node"] as? String == "boom" })
        #expect(boom["state"] as? String == "undone")
        #expect((boom["error"] as? String)?.contains("the replica is behind") == true, "\(boom)")
        #expect(boom["failed"] as? Bool == true)

        for command in [["show", runID, "--format", "junit"], ["report", runID, "--format", "junit"]] {
            let junit = try runbook(scratch, command)
            #expect(!junit.stdout.contains("failures=\"0\""), "\(command): a failed drill is green")
            #expect(
                junit.stdout.contains("exited 1: the replica is behind (failed, undone)\" type=\"failed\""),
                "\(command): \(junit.stdout)")
        }
        for format in ["json", "markdown", "html"] {
            let report = try runbook(scratch, ["report", runID, "--format", format])
            #expect(report.status == 0, "\(report.stderr)")
            #expect(
                report.stdout.contains("The run failed and was rolled back: boom on localhost: run `sh -c "),
                "\(format)")
            #expect(report.stdout.contains("exited 1: the replica is behind (failed, undone)."), "\(format)")
        }
    }

    // MARK: 4. Gate deadlines

    @Test func aParkedGateSaysWhenItTimesOutAndWhatResumeWillDoOnceItHas() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        func gated(_ timeout: String) throws -> String {
            try scratch.write(
                "gate-\(timeout).yaml",
                """
                apiVersion: runbook/v1
                kind: Runbook
                metadata: {name: gate-\(timeout)}
                steps:
                  - id: make
                    action: shell
                    with: {run: [touch, \(scratch.work)/made-\(timeout)], check: [test, -e, \(scratch.work)/made-\(timeout)]}
                    undo: {action: shell, with: {run: [rm, \(scratch.work)/made-\(timeout)]}}
                  - id: go
                    needs: [make]
                    gate: {approval: {prompt: "Promote?", timeout: \(timeout), on_timeout: rollback}}
                    commit: true
                """)
        }
        let parked = try runbook(scratch, ["run", try gated("1h"), "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stderr)")
        #expect(parked.stderr.contains("gate go times out at "), "\(parked.stderr)")
        #expect(parked.stderr.contains("the run is rolled back (on_timeout: rollback)"), "\(parked.stderr)")
        let runID = try latestRunID(scratch)
        let status = try runbook(scratch, ["status", runID])
        #expect(status.stdout.contains("deadline: times out at "), "\(status.stdout)")
        let report = try runbook(scratch, ["report", runID, "--format", "markdown"])
        #expect(report.stdout.contains("Gate go times out at "), "\(report.stdout.prefix(1500))")

        // Roll the first back: it keeps the inventory's lock while it is parked.
        #expect(try runbook(scratch, ["rollback", runID, "--yes"]).status == 0)
        let late = try runbook(scratch, ["run", try gated("1s"), "-i", inventory, "--yes"])
        #expect(late.status == 4, "\(late.stderr)")
        let lateID = try latestRunID(scratch)
        Thread.sleep(forTimeInterval: 1.5)
        let past = try runbook(scratch, ["status", lateID])
        #expect(past.stdout.contains("PAST ITS DEADLINE"), "\(past.stdout)")
        #expect(past.stdout.contains("`runbook resume` will roll the run back"), "\(past.stdout)")
        // Without a terminal, a resume that would roll back needs --yes, as `rollback` does.
        let refused = try runbook(scratch, ["resume", lateID])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("gate go timed out at"), "\(refused.stderr)")
        #expect(refused.stderr.contains("pass --yes"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.work + "/made-1s"))
        let resumed = try runbook(scratch, ["resume", lateID, "--yes"])
        #expect(resumed.status == 1, "\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/made-1s"))
    }

    // MARK: 5. The inventory's lock

    @Test func aParkedRunKeepsTheInventorysLockAgainstAnyRunbook() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        func runbookFile(_ name: String) throws -> String {
            try scratch.write(
                "\(name).yaml",
                """
                apiVersion: runbook/v1
                kind: Runbook
                metadata: {name: \(name)}
                steps:
                  - id: go
                    gate: {approval: {prompt: "Go?"}}
                  - id: after
                    needs: [go]
                    action: shell
                    with: {run: [touch, \(scratch.work)/\(name)], check: [test, -e, \(scratch.work)/\(name)]}
                    undo: {action: shell, with: {run: [rm, \(scratch.work)/\(name)]}}
                """)
        }
        let failover = try runbookFile("failover")
        let failback = try runbookFile("failback")
        let parked = try runbook(scratch, ["run", failover, "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stderr)")
        let parkedID = try latestRunID(scratch)

        for file in [failover, failback] {
            let second = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--approve", "go"])
            #expect(second.status == 5, "\(file): \(second.stderr)")
            #expect(second.stderr.contains("run \(parkedID) (runbook failover)"), "\(second.stderr)")
            #expect(second.stderr.contains("`runbook resume \(parkedID)`"), "\(second.stderr)")
            #expect(second.stderr.contains("`runbook rollback \(parkedID)`"), "\(second.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/failback"))

        // The parked run's own resume takes its lock back (no takeover warning), and releases it at its end.
        let resumed = try runbook(scratch, ["resume", parkedID, "--approve", "go"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(!resumed.stderr.contains("took over the lock"), "\(resumed.stderr)")
        let next = try runbook(scratch, ["run", failback, "-i", inventory, "--yes", "--approve", "go"])
        #expect(next.status == 0, "\(next.stderr)")
    }

    // MARK: 10. The suggested commands keep the run's params and mode

    @Test func theSuggestedCommandsKeepTheParamsAndMode() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let other = scratch.root.appendingPathComponent("other").path
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let file = try failingRunbook(scratch)
        let run = try runbook(
            scratch, ["run", file, "-i", inventory, "--mode", "drill", "-p", "workdir=\(other)", "--yes"])
        #expect(run.status == 1, "\(run.stderr)")
        let again = "-i \(inventory) --mode drill -p workdir=\(other)"
        #expect(run.stderr.contains("`runbook run \(file) \(again)`"), "\(run.stderr)")
        let runID = try latestRunID(scratch)
        let resume = try runbook(scratch, ["resume", runID])
        #expect(resume.stderr.contains("`runbook run \(file) \(again)`"), "\(resume.stderr)")

        // A secret given with -p must be given again to resume: the park message says so.
        let secret = try scratch.write(
            "secret.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: secret}
            params:
              token: {type: string, secret: true}
            steps:
              - id: go
                gate: {approval: {}}
              - id: use
                needs: [go]
                action: shell
                with: {run: [test, -n, "${{ params.token }}"]}
            """)
        let parked = try runbook(scratch, ["run", secret, "-i", inventory, "-p", "token=s3cr3t", "--yes"])
        #expect(parked.status == 4, "\(parked.stderr)")
        let parkedID = try latestRunID(scratch)
        #expect(parked.stderr.contains("`runbook resume \(parkedID) -p token=...`"), "\(parked.stderr)")
        let status = try runbook(scratch, ["status", parkedID])
        #expect(status.stdout.contains("runbook resume \(parkedID) -p token=..."), "\(status.stdout)")
    }

    // MARK: 12. ROLLBACK INCOMPLETE

    @Test func aRollbackWithAFailedUndoSaysRollbackIncompleteAndExits7() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try failingRunbook(scratch, undo: #"[sh, -c, "echo the undo broke >&2; exit 3"]"#)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(run.status == 7, "\(run.stderr)")
        #expect(run.stderr.contains("ROLLBACK INCOMPLETE: 1 undo failed:"), "\(run.stderr)")
        #expect(run.stderr.contains("  make on localhost: undo `sh -c "), "\(run.stderr)")
        #expect(run.stderr.contains("exited 3: the undo broke"), "\(run.stderr)")
        #expect(!run.stderr.contains("rollback finished"), "\(run.stderr)")
        let runID = try latestRunID(scratch)
        #expect(try scratch.journal().run(id: runID)?.exitCode == 7)

        let again = try runbook(scratch, ["rollback", runID, "--yes"])
        #expect(again.status == 7, "\(again.stderr)")
        #expect(again.stderr.contains("ROLLBACK INCOMPLETE: 1 undo failed:"), "\(again.stderr)")
        #expect(again.stderr.contains("  make on localhost: undo `sh -c "), "\(again.stderr)")

        let help = try runbook(scratch, ["--help"])
        #expect(
            help.stdout.replacingOccurrences(of: "\n", with: " ").contains("7 rollback incomplete"), "\(help.stdout)")
    }
}

/// A command in a detached tmux session: a real terminal, whose screen the test reads and types into.
struct TerminalSession {
    let socket = "runbook-test-\(UUID().uuidString.prefix(8))"
    static let tmux = "/usr/bin/tmux"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: tmux) }

    /// Starts `arguments` (with `environment` added) on a `width`x`height` terminal; it prints
    /// `EXITED=N` when done.
    init(_ arguments: [String], environment: [String: String], width: Int = 160, height: Int = 50) throws {
        let words = environment.sorted { $0.key < $1.key }.map { ShellQuoting.quote("\($0.key)=\($0.value)") }
        let command =
            "env " + (words + arguments.map(ShellQuoting.quote)).joined(separator: " ") + "; echo EXITED=$?; sleep 60"
        let started = try runProgram(
            URL(fileURLWithPath: Self.tmux),
            ["-L", socket, "new-session", "-d", "-x", "\(width)", "-y", "\(height)", command])
        guard started.status == 0 else { throw CocoaError(.executableLoad) }
    }

    /// The screen and its scrollback, wrapped lines joined.
    var screen: String {
        (try? runProgram(URL(fileURLWithPath: Self.tmux), ["-L", socket, "capture-pane", "-p", "-J", "-S", "-500"]))?
            .stdout ?? ""
    }

    /// Whether `text` appeared on the screen within `seconds`.
    func waitFor(_ text: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if screen.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    /// Types `line` and Enter.
    func type(_ line: String) {
        _ = try? runProgram(URL(fileURLWithPath: Self.tmux), ["-L", socket, "send-keys", "-l", line])
        _ = try? runProgram(URL(fileURLWithPath: Self.tmux), ["-L", socket, "send-keys", "Enter"])
    }

    func close() {
        _ = try? runProgram(URL(fileURLWithPath: Self.tmux), ["-L", socket, "kill-server"])
    }
}

extension RunTests {
    /// On a terminal, rolling back a run that succeeded past its commit point asks for the run id:
    /// `yes` is not enough.
    @Test(.enabled(if: TerminalSession.available))
    func rollingBackASucceededRunPastItsCommitPointAsksForTheRunID() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: promote}
            steps:
              - id: make
                action: shell
                with: {run: [touch, \(scratch.work)/made], check: [test, -e, \(scratch.work)/made]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/made]}}
              - id: go
                needs: [make]
                gate: {approval: {}}
                commit: true
            """)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--approve", "go"])
        #expect(run.status == 0, "\(run.stderr)")
        let runID = try latestRunID(scratch)
        let environment = ["RUNBOOK_STATE_DIR": scratch.state, "NO_COLOR": "1"]

        let refused = try TerminalSession([binary.path, "rollback", runID, "--past-commit"], environment: environment)
        defer { refused.close() }
        #expect(refused.waitFor("Type the run id \(runID)"), "\(refused.screen)")
        #expect(refused.screen.contains("Run \(runID) SUCCEEDED"), "\(refused.screen)")
        refused.type("yes")
        #expect(refused.waitFor("EXITED=1"), "\(refused.screen)")
        #expect(refused.screen.contains("not rolled back: nothing was changed"), "\(refused.screen)")
        #expect(FileManager.default.fileExists(atPath: scratch.work + "/made"))

        let typed = try TerminalSession([binary.path, "rollback", runID, "--past-commit"], environment: environment)
        defer { typed.close() }
        #expect(typed.waitFor("Type the run id \(runID)"), "\(typed.screen)")
        typed.type(runID)
        #expect(typed.waitFor("EXITED=0"), "\(typed.screen)")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/made"))
    }
}

extension RunTests {
    /// On a terminal, the gate's prompt says when it times out and what happens then.
    @Test(.enabled(if: TerminalSession.available))
    func theGatePromptSaysWhenItTimesOutAndWhatHappensThen() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: prompt}
            steps:
              - id: go
                gate: {approval: {prompt: "Promote the secondary?", timeout: 2h, on_timeout: rollback}}
              - id: after
                needs: [go]
                action: shell
                with: {run: ["true"]}
            """)
        let terminal = try TerminalSession(
            [binary.path, "run", file, "-i", inventory],
            environment: ["RUNBOOK_STATE_DIR": scratch.state, "NO_COLOR": "1"])
        defer { terminal.close() }
        #expect(terminal.waitFor("(yes/no)"), "\(terminal.screen)")
        terminal.type("yes")
        #expect(terminal.waitFor("Promote the secondary? [gate go]"), "\(terminal.screen)")
        #expect(terminal.waitFor("this gate times out at "), "\(terminal.screen)")
        #expect(
            terminal.screen.contains("(in 1h59m") || terminal.screen.contains("(in 2h)"), "\(terminal.screen)")
        #expect(
            terminal.screen.contains("then the gate fails and the run is rolled back (on_timeout: rollback)"),
            "\(terminal.screen)")
        terminal.type("no")
        #expect(terminal.waitFor("EXITED=1"), "\(terminal.screen)")
    }
}
