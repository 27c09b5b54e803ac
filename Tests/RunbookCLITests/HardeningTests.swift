import Foundation
import RunbookTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 9's defects 3 to 7, as an operator or an attacker meets them: through the built binary.
@Suite struct HardeningTests {
    let binary = PackagePaths.runbookExecutable

    static let inventory = TestDocuments.localInventory()

    /// A runbook that holds its lock for a second, behind an approval gate given with --approve.
    static let slowRunbook = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: slow}
        steps:
          - id: go
            gate: {approval: {prompt: go?}}
            commit: true
          - id: wait
            needs: [go]
            action: shell
            with: {run: [sleep, "1"]}
            irreversible: true
        """

    // MARK: - Defect 7: a file that is not UTF-8

    @Test func validateGivesThePositionOfTheFirstByteThatIsNotUTF8() throws {
        let scratch = try Scratch("hardening")
        let path = scratch.path + "/latin1.yaml"
        let bytes =
            Array("apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: caf".utf8) + [0xE9]
            + Array("}\nsteps: []\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try runbook(scratch, ["validate", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path):3:21: error: the file is not UTF-8 text: 0xE9"), "\(result.stderr)")
    }

    // MARK: - Defect 4: durations and counts out of bounds

    @Test func aHugeRetryDelayIsRefusedByValidateAndRunDoesNotTrap() throws {
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: huge}
            steps:
              - id: flaky
                action: shell
                with: {run: ["false"]}
                undo: {action: shell, with: {run: ["true"]}}
                retries: 1
                retry_delay: 99999999999999999h
            """)
        let validate = try runbook(scratch, ["validate", file])
        #expect(validate.status == 2)
        #expect(
            validate.stderr.contains(
                "\(file):10:18: error: retry_delay must be from 0s to 30d, got 99999999999999999h"),
            "\(validate.stderr)")
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(run.status == 2, "a trap exits by a signal: \(run.status) \(run.stderr)")
        #expect(run.stderr.contains("\(file):10:18: error: retry_delay"))
    }

    @Test func aGraceOutOfBoundsIsAUsageError() throws {
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let file = try scratch.write("r.yaml", Self.slowRunbook)
        let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--grace", "1e300"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--grace must be from 0 to 3600 seconds"), "\(result.stderr)")
    }

    // MARK: - Defect 7: values interpolated into a shell script

    @Test func aValueInterpolatedIntoAScriptIsRefusedAndNothingRuns() throws {
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: inject}
            params:
              v: {type: string, default: hello}
            steps:
              - id: say
                action: shell
                with: {script: "echo ${{ params.v }}"}
                irreversible: true
                needs: [go]
              - id: go
                gate: {approval: {prompt: go?}}
                commit: true
            """)
        let validate = try runbook(scratch, ["validate", file])
        #expect(validate.status == 2)
        #expect(validate.stderr.contains("\(file):9:26: error: 'script' runs with `sh -c`"), "\(validate.stderr)")
        #expect(validate.stderr.contains("pass the value in `env`"))
        let run = try runbook(
            scratch,
            [
                "run", file, "-i", inventory, "--yes", "--approve", "go",
                "-p", "v=$(touch \(scratch.path)/INJECTED)",
            ])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(!scratch.exists("INJECTED"), "the interpolated value ran as a command")
    }

    /// The quickstart's own undos put `workdir` into scripts: a rollback must not run it.
    @Test func theQuickstartsRollbackDoesNotRunTheWorkdirAsACommand() throws {
        let scratch = try Scratch("hardening")
        let workdir = "\(scratch.path)/qs/$(touch \(scratch.path)/INJECTED)"
        let result = try runbook(
            scratch,
            [
                "run", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "--yes",
                "-p", "workdir=\(workdir)", "-p", "break_sync=true",
            ])
        #expect(result.status == 1, "the copy check fails on purpose and the run rolls back: \(result.stderr)")
        #expect(result.stderr.contains("rollback") || result.stdout.contains("rollback"), "\(result.stderr)")
        #expect(!scratch.exists("INJECTED"), "an undo ran the workdir as a command")
        #expect(
            !FileManager.default.fileExists(atPath: workdir + "/site-b/file1.txt"), "the undo did not remove the copy")
    }

    // MARK: - Defect 7: the saved plan's mode

    @Test func aSavedPlanIsOwnerOnlyEvenOverAWorldReadableFile() throws {
        let scratch = try Scratch("hardening")
        let output = scratch.path + "/plan.json"
        for round in 0..<2 {
            if round == 1 { chmod(output, 0o644) }
            let result = try runbook(
                scratch,
                [
                    "plan", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml",
                    "--offline", "-o", output,
                ])
            #expect(result.status == 0, "\(result.stderr)")
            var info = stat()
            #expect(stat(output, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600, "round \(round): mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter {
            $0.hasSuffix(".tmp")
        }
        #expect(leftovers.isEmpty)
    }

    // MARK: - Defect 7: an argument list too long

    @Test func anArgumentListTooLongOnALocalHostIsNotCalledUnreachable() throws {
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        // One argument over Linux's 128 KiB limit for a single argument.
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: big}
            steps:
              - id: big
                on: here
                action: shell
                with: {run: [echo, "\(String(repeating: "x", count: 200_000))"]}
                undo: {action: shell, with: {run: ["true"]}}
            """)
        let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(result.status == 1)
        let output = result.stdout + result.stderr
        #expect(output.contains("Argument list too long"), "\(output.suffix(2000))")
        #expect(output.contains("over the system's limit"))
        #expect(!output.contains("unreachable"), "\(output.suffix(2000))")
    }

    // MARK: - Defect 7: inventory addresses that ssh would misread

    @Test func anEmptyOrDashAddressIsRefusedByValidateAndOfflinePlan() throws {
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write(
            "inventory.yaml",
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: bad}
            hosts:
              a: {address: "", roles: [site]}
              b: {address: -oProxyCommand=touch /tmp/x, roles: [site]}
              -c: {roles: [site]}
            """)
        let validate = try runbook(scratch, ["validate", inventory])
        #expect(validate.status == 2)
        #expect(validate.stderr.contains("\(inventory):5:16: error: address is empty"), "\(validate.stderr)")
        #expect(
            validate.stderr.contains("\(inventory):6:16: error: address '-oProxyCommand=touch /tmp/x' starts with '-'"))
        #expect(validate.stderr.contains("\(inventory):7:3: error: host name '-c' starts with '-'"))
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: r}
            roles: {site: {min: 1}}
            steps:
              - {id: probe, on: site, probe: ssh.reachable}
            """)
        let plan = try runbook(scratch, ["plan", file, "-i", inventory, "--offline"])
        #expect(plan.status == 2, "\(plan.stdout)")
        #expect(plan.stderr.contains("\(inventory):5:16: error: address is empty"))
    }

    // MARK: - Defect 7: journal rows edited behind the journal's back

    /// A run whose first step touches a marker and whose second fails, so it can be resumed.
    static let failingRunbook = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: edited}
        steps:
          - id: one
            on: here
            action: shell
            with: {run: [touch, MARKER]}
            undo: {action: shell, with: {run: ["true"]}}
          - id: two
            needs: [one]
            on: here
            action: shell
            with: {run: ["false"]}
            undo: {action: shell, with: {run: ["true"]}}
        """

    /// A failed run, its steps and its run row then edited in the real SQLite file with the
    /// sqlite3 CLI (the digest triggers dropped first, as the append-only triggers would be):
    /// `resume` and `rollback` refuse and say which row, `show` reports the chain broken.
    @Test func anEditedRunOrStepRowIsReportedByShowAndRefusedByResume() throws {
        for (table, edit) in [
            (
                "steps",
                "DROP TRIGGER IF EXISTS steps_digest_update; UPDATE steps SET state = 'pending' WHERE stepID = 'one'"
            ),
            ("runs", "DROP TRIGGER IF EXISTS runs_digest_update; UPDATE runs SET status = 'succeeded'"),
        ] {
            let scratch = try Scratch("hardening")
            let inventory = try scratch.write("inventory.yaml", Self.inventory)
            let marker = scratch.path + "/marker"
            let file = try scratch.write("r.yaml", Self.failingRunbook.replacingOccurrences(of: "MARKER", with: marker))
            let first = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
            #expect(first.status == 1, "\(first.stderr)")
            let history = try runbook(scratch, ["history"])
            let runID = try #require(
                history.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))
            let intact = try runbook(scratch, ["show", runID])
            #expect(intact.stdout.contains("intact"), "\(intact.stdout)")

            let journal = scratch.state + "/journal.sqlite"
            try shell("sqlite3 '\(journal)' \"\(edit)\"")
            try FileManager.default.removeItem(atPath: marker)

            let resume = try runbook(scratch, ["resume", runID])
            #expect(resume.status == 1, "\(table): \(resume.stderr)")
            #expect(
                resume.stderr.contains(
                    "runbook: error: will not resume run \(runID): in its journal \(journal), the \(table) row ("),
                "\(table): \(resume.stderr)")
            #expect(resume.stderr.contains("does not match the digest the journal wrote with it"))
            #expect(resume.stderr.contains("start a new run"))
            #expect(!FileManager.default.fileExists(atPath: marker), "\(table): resume applied step one again")
            let rollback = try runbook(scratch, ["rollback", runID])
            #expect(rollback.status == 1, "\(table): \(rollback.stderr)")
            #expect(rollback.stderr.contains("will not roll back run \(runID)"), "\(table): \(rollback.stderr)")

            let show = try runbook(scratch, ["show", runID])
            #expect(show.status == 0)
            #expect(
                show.stdout.contains("event chain BROKEN: the \(table) row ("), "\(table): \(show.stdout.suffix(500))")
            #expect(show.stderr.contains("runbook: warning: in the journal of run \(runID)"), "\(show.stderr)")
            let json = try runbook(scratch, ["show", runID, "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let chain = try #require(object["chain"] as? [String: Any])
            #expect(chain["intact"] as? Bool == false, "\(table)")
            #expect((chain["reason"] as? String)?.hasPrefix("the \(table) row (") == true, "\(table): \(chain)")
        }
    }

    // MARK: - Defect 5: first use of a state directory by several runs at once

    /// Four runs started together on a new state directory, five times: one runs, the others
    /// exit 5 (locked) as they would on an existing journal; none fails creating the schema.
    @Test func runsStartedTogetherOnAFreshStateDirectoryOneRunsTheOthersAreLocked() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let file = try scratch.write("r.yaml", Self.slowRunbook)
        for round in 0..<5 {
            let state = scratch.path + "/state-\(round)"
            var environment = ProcessInfo.processInfo.environment
            environment["RUNBOOK_STATE_DIR"] = state
            environment["NO_COLOR"] = "1"
            var processes: [(Process, Pipe)] = []
            for _ in 0..<4 {
                let process = Process()
                process.executableURL = binary
                process.arguments = ["run", file, "-i", inventory, "--yes", "--approve", "go"]
                process.environment = environment
                let pipe = Pipe()
                process.standardError = pipe
                process.standardOutput = FileHandle.nullDevice
                processes.append((process, pipe))
            }
            for (process, _) in processes { try process.run() }
            var statuses: [Int32] = []
            var errors = ""
            for (process, pipe) in processes {
                errors += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                statuses.append(process.terminationStatus)
            }
            #expect(statuses.sorted() == [0, 5, 5, 5], "round \(round): exits \(statuses)\n\(errors)")
            #expect(
                !errors.contains("already exists") && !errors.contains("database is locked"),
                "round \(round): \(errors)")
            #expect(!errors.contains("writable directory"), "round \(round): \(errors)")
        }
    }

    // MARK: - Defect 6: reading the journal when it cannot be written

    @Test func statusHistoryAndShowWorkOnAFullDiskAndOnAReadOnlyJournal() throws {
        guard getuid() == 0 else {
            print("skipped: mounting a small tmpfs to fill needs root (run the suite as root, as CI does)")
            return
        }
        let scratch = try Scratch("hardening")
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let file = try scratch.write("r.yaml", Self.slowRunbook)
        let mount = scratch.path + "/disk"
        let state = mount + "/state"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try shell("mount -t tmpfs -o size=2m tmpfs '\(mount)'")
        defer { try? shell("umount '\(mount)'") }

        let first = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--approve", "go"], state: state)
        #expect(first.status == 0, "\(first.stderr)")
        let history = try runbook(scratch, ["history"], state: state)
        let runID = try #require(
            history.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))

        try shell("dd if=/dev/zero of='\(mount)/fill' bs=4k 2>/dev/null || true")
        for command in [["history"], ["status", runID], ["show", runID], ["show", runID, "--format", "json"]] {
            let result = try runbook(scratch, command, state: state)
            #expect(result.status == 0, "full disk: \(command): \(result.stderr)")
            #expect(result.stdout.contains(runID), "full disk: \(command): \(result.stdout)")
        }
        let blocked = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--approve", "go"], state: state)
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("the disk holding the state directory \(state) is full"), "\(blocked.stderr)")
        #expect(blocked.stderr.contains("free space on it"))
        #expect(!blocked.stderr.contains("disk I/O error"), "\(blocked.stderr)")

        try shell("rm -f '\(mount)/fill' && mount -o remount,ro '\(mount)'")
        for command in [["history"], ["status", runID], ["show", runID]] {
            let result = try runbook(scratch, command, state: state)
            #expect(result.status == 0, "read-only: \(command): \(result.stderr)")
            #expect(result.stdout.contains(runID))
        }
    }

    func shell(_ command: String) throws {
        let result = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", command])
        guard result.status == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: ["command": command, "stderr": result.stderr])
        }
    }
}
