import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `run`, `resume`, `rollback`, gates, locks and secrets, against real processes and a real journal.
@Suite struct RunTests {
    let binary = PackagePaths.runbookExecutable

    static let inventory = TestDocuments.localInventory()

    func latestRunID(_ scratch: Scratch) throws -> String {
        try #require(try scratch.journal().runs(limit: 1).first?.id)
    }

    // MARK: - Rollback

    @Test func failedStepRollsBackExactlyWhatChangedInReverseOrderAndTwiceIsHarmless() throws {
        let scratch = try Scratch()
        let log = scratch.work + "/undo.log"
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: rb}
            on_failure: rollback
            steps:
              - id: a
                action: shell
                with: {run: [touch, \(scratch.work)/a], check: [test, -e, \(scratch.work)/a]}
                undo: {action: shell, with: {script: "rm \(scratch.work)/a && echo a >> \(log)"}}
              - id: b
                needs: [a]
                action: shell
                with: {run: [touch, \(scratch.work)/b], check: [test, -e, \(scratch.work)/b]}
                undo: {action: shell, with: {script: "rm \(scratch.work)/b && echo b >> \(log)"}}
              - id: already
                needs: [b]
                action: shell
                with: {run: ["false"], check: ["true"]}
                undo: {action: shell, with: {script: "echo already >> \(log)"}}
              - id: c
                needs: [already]
                action: shell
                with: {run: [touch, \(scratch.work)/c], check: [test, -e, \(scratch.work)/c]}
                undo: {action: shell, with: {script: "rm \(scratch.work)/c && echo c >> \(log)"}}
              - id: boom
                needs: [c]
                action: shell
                with: {run: [sh, -c, "echo failing on purpose >&2; exit 7"]}
                undo: {action: shell, with: {script: "echo boom >> \(log)"}}
              - id: never
                needs: [boom]
                action: shell
                with: {run: [touch, \(scratch.work)/never]}
                undo: {action: shell, with: {script: "echo never >> \(log)"}}
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("boom"))
        #expect(result.stderr.contains("exited 7: failing on purpose"))
        #expect(result.stderr.contains("was rolled back"))
        // `boom` applied (and failed): its undo runs first; `already` never changed anything.
        let undone = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(undone == ["boom", "c", "b", "a"])
        for name in ["a", "b", "c", "never"] {
            #expect(!FileManager.default.fileExists(atPath: scratch.work + "/" + name))
        }

        let runID = try latestRunID(scratch)
        let again = try runbook(scratch, ["rollback", runID])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Nothing to undo"))
        #expect(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count == 4)
        let steps = try scratch.journal().steps(runID: runID)
        #expect(steps.first { $0.nodeID == "never" }?.state == .pending)
        #expect(steps.first { $0.nodeID == "already" }?.state == .alreadyDone)
        #expect(try scratch.journal().verifyChain(runID: runID).isOK)
    }

    // MARK: - Gates

    @Test func unattendedRunParksAtAGateQuicklyThenApproveAndResumeFinish() throws {
        let scratch = try Scratch()
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: gated}
            steps:
              - id: before
                action: shell
                with: {run: [touch, \(scratch.work)/before], check: [test, -e, \(scratch.work)/before]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/before]}}
              - id: go
                needs: [before]
                gate: {approval: {prompt: "Go on?", timeout: 1h}}
                commit: true
              - id: after
                needs: [go]
                action: shell
                with: {run: [touch, \(scratch.work)/after], check: [test, -e, \(scratch.work)/after]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/after]}}
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let start = Date()
        let parked = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(parked.status == 4, "\(parked.stderr)")
        #expect(parked.stderr.contains("parked at gate go"))
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/after"))
        // Measured from process start to exit, including the plan's probes.
        #expect(elapsed < 60, "took \(elapsed)s")  // the process as a whole, plan included; the gate itself is below
        let runID = try latestRunID(scratch)
        let waitingEvents = try scratch.journal().events(runID: runID).filter { $0.type == "gate.waiting" }
        let parkedEvent = try scratch.journal().events(runID: runID).first { $0.type == "run.parked" }
        let waited = try #require(parkedEvent).ts.timeIntervalSince(try #require(waitingEvents.first).ts)
        #expect(waited < 1, "parked \(waited)s after reaching the gate")

        let approve = try runbook(
            scratch, ["approve", String(runID.prefix(15)), "go", "--by", "alice", "--reason", "change CHG-1"])
        #expect(approve.status == 0, "\(approve.stderr)")
        let resumed = try runbook(scratch, ["resume", runID])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.work + "/after"))
        let approval = try #require(try scratch.journal().approval(runID: runID, gate: "go"))
        #expect(approval.by == "alice")
        #expect(approval.reason == "change CHG-1")
        #expect(try scratch.journal().run(id: runID)?.status == .succeeded)
    }

    @Test func untilGatePollsAndPrintsEachObservation() throws {
        let scratch = try Scratch()
        let flag = scratch.work + "/ready"
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: until}
            steps:
              - id: ok
                gate: {approval: {}}
                commit: true
              - id: wait-ready
                needs: [ok]
                gate:
                  until: {probe: command, with: {run: [test, -e, \(flag)]}, condition: outputs.exit_code == 0, every: 1s, timeout: 20s}
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2.5) {
            FileManager.default.createFile(atPath: flag, contents: nil)
        }
        let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--approve", "ok"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("wait-ready poll 1: outputs.exit_code == 0 is false"))
        #expect(result.stderr.contains("outputs.exit_code == 0 is true"))
    }

    // MARK: - Locks

    @Test func aSecondRunOfTheSameRunbookAndInventoryGetsExit5() throws {
        let scratch = try Scratch()
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: slow}
            steps:
              - id: wait
                action: shell
                with: {run: [sleep, "3"]}
                irreversible: true
                needs: [ok]
              - id: ok
                gate: {approval: {}}
                commit: true
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let first = Process()
        first.executableURL = binary
        first.arguments = ["run", file, "-i", inventory, "--yes", "--approve", "ok"]
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        first.environment = environment
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { first.terminate() } }
        // Wait until the first run holds the lock (its journal has a run).
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? scratch.journal().runs(limit: 1).first) == nil {
            Thread.sleep(forTimeInterval: 0.1)
        }
        let second = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--approve", "ok"])
        #expect(second.status == 5, "\(second.stderr)")
        let holder = try #require(try scratch.journal().runs(limit: 1).first)
        #expect(second.stderr.contains("run \(holder.id)"))
        #expect(second.stderr.contains("pid \(first.processIdentifier)"))
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
    }

    // MARK: - Secrets

    @Test func aSecretAppearsNowhere() throws {
        let scratch = try Scratch()
        let secret = "tok-\(UUID().uuidString)"
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: secretive}
            params:
              token: {type: string, secret: true, from_env: DR_TOKEN}
            on_failure: stop
            steps:
              - id: use
                action: shell
                with:
                  run: [sh, -c, 'echo "token is $0"; echo "err $0" >&2', "${{ params.token }}"]
                  env: {TOKEN: "${{ params.token }}"}
                undo: {action: shell, with: {run: [echo, "${{ params.token }}"]}}
              - id: fail
                needs: [use]
                action: shell
                with: {run: [sh, -c, 'echo "bad $TOKEN" >&2; exit 1'], env: {TOKEN: "${{ params.token }}"}}
                undo: {action: shell, with: {run: ["true"]}}
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let events = scratch.root.appendingPathComponent("events.jsonl").path
        let result = try runbook(
            scratch, ["run", file, "-i", inventory, "--yes", "--events", events], extraEnvironment: ["DR_TOKEN": secret]
        )
        #expect(result.status == 1)
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
        #expect(result.stderr.contains("bad ***"))
        let runID = try latestRunID(scratch)
        let show = try runbook(scratch, ["show", runID, "--format", "json"])
        let plan = try runbook(
            scratch, ["plan", file, "-i", inventory, "--format", "json"], extraEnvironment: ["DR_TOKEN": secret])
        for output in [show.stdout, show.stderr, plan.stdout, plan.stderr] { #expect(!output.contains(secret)) }
        let eventsText = try String(contentsOfFile: events, encoding: .utf8)
        #expect(!eventsText.isEmpty && !eventsText.contains(secret))
        // Every byte under the state directory: journal, WAL, locks, control sockets' directory.
        let enumerator = FileManager.default.enumerator(atPath: scratch.state)
        var files = 0
        while let name = enumerator?.nextObject() as? String {
            let path = scratch.state + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            files += 1
            #expect(data.range(of: Data(secret.utf8)) == nil, "secret found in \(path)")
        }
        #expect(files >= 1)
    }

    // MARK: - Idempotency

    @Test func afterAFinishedRunThePlanShowsAlreadyDoneAndARerunChangesNothing() throws {
        let scratch = try Scratch()
        let quickstart = PackagePaths.root.appendingPathComponent("Examples/quickstart")
        let workdir = scratch.work + "/sites"
        let params = ["-p", "workdir=\(workdir)"]
        let first = try runbook(
            scratch,
            [
                "run", quickstart.appendingPathComponent("failover.yaml").path, "-i",
                quickstart.appendingPathComponent("inventory.yaml").path,
                "--yes", "--approve", "go-ahead",
            ] + params)
        #expect(first.status == 0, "\(first.stderr)")
        let plan = try runbook(
            scratch,
            [
                "plan", quickstart.appendingPathComponent("failover.yaml").path, "-i",
                quickstart.appendingPathComponent("inventory.yaml").path,
            ] + params)
        #expect(plan.status == 0)
        #expect(
            plan.stdout.contains("8 step instances: 0 will change, 7 already done, 0 unknown until run, 1 skipped"),
            "\(plan.stdout)")
        let marker = workdir + "/site-b/PRIMARY"
        let before = try FileManager.default.attributesOfItem(atPath: marker)[.modificationDate] as? Date
        let again = try runbook(
            scratch,
            [
                "run", quickstart.appendingPathComponent("failover.yaml").path, "-i",
                quickstart.appendingPathComponent("inventory.yaml").path, "--yes",
            ] + params)
        #expect(again.status == 0, "\(again.stderr)")
        let runID = try latestRunID(scratch)
        let steps = try scratch.journal().steps(runID: runID)
        #expect(!steps.contains { $0.changed })
        #expect(try FileManager.default.attributesOfItem(atPath: marker)[.modificationDate] as? Date == before)
        #expect(try scratch.journal().attempts(runID: runID).allSatisfy { $0.phase != .apply })
    }

    @Test func aSavedPlanRefusesToRunWhenTheWorldChanged() throws {
        let scratch = try Scratch()
        let target = scratch.work + "/target"
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: saved}
            steps:
              - id: make
                action: shell
                with: {run: [touch, \(target)], check: [test, -e, \(target)]}
                undo: {action: shell, with: {run: [rm, \(target)]}}
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let planFile = scratch.root.appendingPathComponent("plan.json").path
        let plan = try runbook(scratch, ["plan", file, "-i", inventory, "-o", planFile])
        #expect(plan.status == 0, "\(plan.stderr)")
        FileManager.default.createFile(atPath: target, contents: nil)  // someone did it by hand
        let refused = try runbook(scratch, ["run", planFile, "-i", inventory, "--yes"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no longer matches the world"))
        #expect(refused.stderr.contains("step:make: was '+"))
        try FileManager.default.removeItem(atPath: target)
        let runs = try runbook(scratch, ["run", planFile, "-i", inventory, "--yes"])
        #expect(runs.status == 0, "\(runs.stderr)")
    }

    // MARK: - SSH

    @Test(
        .enabled(
            if: LoopbackSSHD.isAvailable, "needs root and /usr/sbin/sshd (apt-get install openssh-server; .ci/run does)"
        ))
    func stepsRunOverSSHOnALoopbackServer() async throws {
        try await LoopbackSSHD.withServer { server in
            let scratch = try Scratch()
            let connection = server.host
            let options = connection.sshOptions.map { "\"\($0)\"" }.joined(separator: ", ")
            let inventory = try scratch.write(
                "i.yaml",
                """
                apiVersion: runbook/v1
                kind: Inventory
                metadata: {name: loop}
                defaults: {address: 127.0.0.1, port: \(connection.port ?? 22), user: root, identity_file: \(connection.identityFile ?? ""), ssh_options: [\(options)], connect_timeout: 5s}
                hosts:
                  node-1: {roles: [site]}
                  node-2: {roles: [site]}
                """)
            let file = try scratch.write(
                "r.yaml",
                """
                apiVersion: runbook/v1
                kind: Runbook
                metadata: {name: remote}
                roles: {site: {min: 2}}
                preconditions:
                  - id: reach
                    on: site
                    probe: ssh.reachable
                steps:
                  - id: write
                    on: site
                    action: shell
                    with:
                      run: [sh, -c, 'printf "%s" "$1" > "$2"', sh, "it's ${{ host.name }} $(not run)", "\(scratch.work)/${{ host.name }}"]
                      check: [test, -e, "\(scratch.work)/${{ host.name }}"]
                    undo: {action: shell, with: {run: [rm, "\(scratch.work)/${{ host.name }}"]}}
                """)
            let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try String(contentsOfFile: scratch.work + "/node-1", encoding: .utf8) == "it's node-1 $(not run)")
            #expect(try String(contentsOfFile: scratch.work + "/node-2", encoding: .utf8) == "it's node-2 $(not run)")

            // A host that cannot be reached is reported as unreachable, per host, by the plan.
            let broken = try scratch.write(
                "bad.yaml",
                """
                apiVersion: runbook/v1
                kind: Inventory
                metadata: {name: loop-bad}
                defaults: {address: 127.0.0.1, port: 1, user: root, connect_timeout: 2s, ssh_options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"]}
                hosts:
                  node-1: {roles: [site]}
                  node-2: {roles: [site]}
                """)
            let plan = try runbook(scratch, ["plan", file, "-i", broken])
            #expect(plan.status == 3)
            #expect(
                plan.stdout.contains("node-1 is unreachable") || plan.stdout.contains("unreachable"), "\(plan.stdout)")
            #expect(plan.stdout.contains("Connection refused"), "\(plan.stdout)")
        }
    }
}

/// SIGINT/SIGTERM and gate timeouts across a resume.
@Suite struct InterruptTests {
    let binary = PackagePaths.runbookExecutable

    @Test func sigtermStopsTheRunJournalsItAndResumeFinishesIt() throws {
        let scratch = try Scratch()
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: interrupted}
            steps:
              - id: slow
                action: shell
                with: {script: "sleep 300; touch \(scratch.work)/slow", check: [test, -e, \(scratch.work)/slow]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/slow]}}
              - id: after
                needs: [slow]
                action: shell
                with: {run: [touch, \(scratch.work)/after], check: [test, -e, \(scratch.work)/after]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/after]}}
            """)
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["run", file, "-i", inventory, "--yes", "--grace", "1"]
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait until `slow` is running, then ask the run to stop.
        let deadline = Date().addingTimeInterval(20)
        var started = false
        while Date() < deadline, !started {
            Thread.sleep(forTimeInterval: 0.2)
            if let journal = try? scratch.journal(), let run = try? journal.runs(limit: 1).first,
                let step = try? journal.step(runID: run.id, nodeID: "slow"), step.state == .running
            {
                started = true
            }
        }
        #expect(started)
        let stopAt = Date()
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 143, "\(stderr)")
        #expect(Date().timeIntervalSince(stopAt) < 60)  // grace 1 s, then killed: not the 300 s sleep
        #expect(stderr.contains("was interrupted (SIGTERM)"))
        #expect(stderr.contains("runbook resume"))
        let journal = try scratch.journal()
        let run = try #require(try journal.runs(limit: 1).first)
        #expect(run.status == .interrupted)
        #expect(try journal.step(runID: run.id, nodeID: "slow")?.state == .cancelled)
        #expect(try journal.step(runID: run.id, nodeID: "after")?.state == .pending)
        // No `sleep 300` left behind by the killed step.
        let leftovers = try runProgram(
            URL(fileURLWithPath: "/usr/bin/pgrep"), ["-f", "sleep 300; touch \(scratch.work)"])
        #expect(leftovers.stdout.isEmpty)

        // Make the slow step fast for the resume: it is re-probed, applied, then `after` runs.
        FileManager.default.createFile(atPath: scratch.work + "/slow", contents: nil)
        var resumeEnvironment = environment
        resumeEnvironment["NO_COLOR"] = "1"
        let resumed = try runProgram(binary, ["resume", run.id], environment: resumeEnvironment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.work + "/after"))
        #expect(try journal.run(id: run.id)?.status == .succeeded)
    }

    @Test func aGateTimeoutCountsFromWhenItWasFirstReachedAcrossAResume() throws {
        let scratch = try Scratch()
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: timeout}
            steps:
              - id: go
                gate: {approval: {prompt: "go?", timeout: 2s, on_timeout: abort}}
                commit: true
              - id: after
                needs: [go]
                action: shell
                with: {run: [touch, \(scratch.work)/after], check: [test, -e, \(scratch.work)/after]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/after]}}
            """)
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        let parked = try runProgram(binary, ["run", file, "-i", inventory, "--yes"], environment: environment)
        #expect(parked.status == 4)
        Thread.sleep(forTimeInterval: 2.5)
        let run = try #require(try scratch.journal().runs(limit: 1).first)
        let resumed = try runProgram(binary, ["resume", run.id], environment: environment)
        #expect(resumed.status == 1, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("gate go timed out after 2s (on_timeout: abort)"))
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/after"))
    }
}
