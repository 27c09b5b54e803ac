import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Issue 19, defects 9, 11, 13 and 14: what an operator reads after the fact (`status` without a
/// run, `last`, a suffix, the completion), what a program reads (`--events -`, JSON casing),
/// the paths of a failed drill, and the smaller ones.
extension RunTests {
    static func gateRunbook(_ scratch: Scratch) -> String {
        """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: gated}
        roles:
          site: {min: 1}
        steps:
          - id: prepare
            action: shell
            with: {run: [touch, \(scratch.work)/prepared], check: [test, -e, \(scratch.work)/prepared]}
            undo: {action: shell, with: {run: [rm, \(scratch.work)/prepared]}}
          - id: go-ahead
            needs: [prepare]
            gate: {approval: {prompt: "Promote the secondary?"}}
            commit: true
          - id: promote
            needs: [go-ahead]
            action: shell
            with: {run: [touch, \(scratch.work)/promoted], check: [test, -e, \(scratch.work)/promoted]}
            irreversible: true
        """
    }

    // MARK: - 9. What now?

    @Test func statusWithoutARunListsWhatNeedsAttentionAndLastAndSuffixesResolve() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write("gated.yaml", Self.gateRunbook(scratch))

        let none = try runbook(scratch, ["status"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout.hasPrefix("no runs yet"), "\(none.stdout)")

        let parked = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stderr)")
        let runID = try latestRunID(scratch)
        let suffix = String(runID.suffix(4))

        let overview = try runbook(scratch, ["status"])
        #expect(overview.status == 0, "\(overview.stderr)")
        #expect(overview.stdout.hasPrefix("● \(runID)  parked (exit 4)  gated on local (mode "), "\(overview.stdout)")
        #expect(overview.stdout.contains("    waiting: go-ahead: Promote the secondary?\n"), "\(overview.stdout)")
        #expect(
            overview.stdout.contains("    answer:  runbook approve \(runID) go-ahead --by NAME --reason TEXT\n"),
            "\(overview.stdout)")
        #expect(overview.stdout.contains("    then:    runbook resume \(runID)\n"), "\(overview.stdout)")
        #expect(overview.stdout.contains("    details: runbook status \(runID)\n"), "\(overview.stdout)")

        // `last` and the random suffix wherever a RUN is taken.
        for arguments in [["status", "last"], ["status", suffix], ["show", "last"], ["show", suffix]] {
            let result = try runbook(scratch, arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("run:        \(runID)"), "\(arguments): \(result.stdout)")
        }
        let approved = try runbook(scratch, ["approve", suffix, "go-ahead", "--by", "alice", "--reason", "ok"])
        #expect(approved.status == 0, "\(approved.stderr)")
        let resumed = try runbook(scratch, ["resume", "last"])
        #expect(resumed.status == 0, "\(resumed.stderr)")

        // Its time at work apart from the time it was parked (issue 19, defect 14).
        let detail = try runbook(scratch, ["status", "last"])
        #expect(detail.stdout.contains(" wall; "), "\(detail.stdout)")
        #expect(detail.stdout.contains(" at work, the rest parked or stopped)"), "\(detail.stdout)")

        let settled = try runbook(scratch, ["status"])
        #expect(
            settled.stdout.hasPrefix("no run is active, parked or interrupted (1 run journaled"), "\(settled.stdout)")
    }

    /// Runs bash's completion of `words` (the last one being completed) with the script
    /// `runbook --generate-completion-script bash` prints; the candidates.
    func complete(_ scratch: Scratch, _ words: [String]) throws -> [String] {
        let script = try runbook(scratch, ["--generate-completion-script", "bash"])
        let path = try scratch.write("completion.bash", script.stdout)
        let quoted = ([binary.path] + words).map(ShellQuoting.quote).joined(separator: " ")
        let function = try #require(
            script.stdout.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("complete "), let name = line.split(separator: " ").dropLast().last else {
                    return nil
                }
                return String(name)
            }.first, "\(script.stdout.suffix(300))")
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = scratch.state
        let result = try runProgram(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                """
                source \(ShellQuoting.quote(path))
                COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count); COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
                \(function.replacingOccurrences(of: "-F", with: "")) 2>/dev/null
                printf '%s\\n' "${COMPREPLY[@]}"
                """,
            ], environment: environment, currentDirectory: scratch.root)
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func bashCompletionOffersFilesRunIDsAndGates() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write("gated.yaml", Self.gateRunbook(scratch))
        let parked = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stderr)")
        let runID = try latestRunID(scratch)

        let files = try complete(scratch, ["run", "gat"])
        #expect(files.contains("gated.yaml"), "\(files)")
        let inventories = try complete(scratch, ["run", "gated.yaml", "-i", "i."])
        #expect(inventories.contains("i.yaml"), "\(inventories)")
        let runs = try complete(scratch, ["status", ""])
        #expect(runs.contains(runID) && runs.contains("last"), "\(runs)")
        let gates = try complete(scratch, ["approve", runID, ""])
        #expect(gates.first == "go-ahead", "\(gates)")
    }

    // MARK: - 11. `--events -` for jq; one key casing

    @Test func eventsOnStdoutAreAllThereIsAndTheirPayloadsAreTyped() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write(
            "fails.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: fails}
            on_failure: rollback
            steps:
              - id: first
                action: shell
                with: {run: [touch, \(scratch.work)/first], check: [test, -e, \(scratch.work)/first]}
                undo: {action: shell, with: {run: [rm, \(scratch.work)/first]}}
              - id: broken
                needs: [first]
                action: shell
                with: {run: [false], check: [false]}
                undo: {action: shell, with: {run: [true]}}
            """)
        let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--events", "-"])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(!lines.isEmpty)
        var events: [[String: Any]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not an event: \(line)")
            if let object { events.append(object) }
        }
        #expect(result.stderr.contains("step instances: "), "the text plan goes to stderr: \(result.stderr)")

        // v1 as it was (text), and `data` with the types.
        let finished = try #require(events.last { $0["type"] as? String == "run.finished" })
        #expect(finished["v"] as? Int == 1)
        #expect(finished["exit_code"] as? String == "1")
        let data = try #require(finished["data"] as? [String: Any])
        #expect(data["exit_code"] as? Int == 1 && !(data["exit_code"] is String))
        let rollback = try #require(events.first { $0["type"] as? String == "rollback.started" })
        #expect((rollback["data"] as? [String: Any])?["steps"] as? [String] == ["broken", "first"])

        // `show` JSON: snake_case as the plan JSON.
        let show = try runbook(scratch, ["show", "last", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        func camelKeys(_ value: Any, _ path: String) -> [String] {
            switch value {
            case let map as [String: Any]:
                return map.flatMap { key, inner -> [String] in
                    let here = key.contains(where: \.isUppercase) ? ["\(path).\(key)"] : []
                    return ["params", "observed", "outputs", "payload"].contains(key)
                        ? here : here + camelKeys(inner, "\(path).\(key)")
                }
            case let list as [Any]: return list.flatMap { camelKeys($0, path + "[]") }
            default: return []
            }
        }
        #expect(camelKeys(object, "").isEmpty, "\(camelKeys(object, ""))")
        #expect((object["run"] as? [String: Any])?["exit_code"] as? Int == 1)
    }

    // MARK: - 13. The paths that make a drill fail

    @Test func everyDifferingPathOfAFailedDrillIsShownWhole() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let long = "bars-" + String(repeating: "very-long-directory-name-", count: 5) + "end"
        let source = scratch.work + "/primary"
        let target = scratch.work + "/secondary"
        for root in [source, target] {
            try FileManager.default.createDirectory(atPath: root + "/" + long, withIntermediateDirectories: true)
            try "same\n".write(toFile: root + "/\(long)/unchanged.txt", atomically: true, encoding: .utf8)
        }
        let stray = "\(long)/stray-file-only-on-the-secondary-with-a-long-name.txt"
        let truncated = "\(long)/video-file-truncated-on-the-secondary-with-a-long-name.bin"
        try "stray\n".write(toFile: target + "/" + stray, atomically: true, encoding: .utf8)
        try "0123456789".write(toFile: source + "/" + truncated, atomically: true, encoding: .utf8)
        try "01234".write(toFile: target + "/" + truncated, atomically: true, encoding: .utf8)
        let message =
            "the secondary differs from the primary (the paths: + only on the primary, - only on the secondary, ~ different): do not rely on it"
        let file = try scratch.write(
            "drill.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: drill}
            steps:
              - id: content-check
                probe: tree.diff
                with: {source: \(source), target: \(target), root_mtime: false}
                expect: outputs.differences == 0
                message: "\(message)"
            """)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(run.status == 1, "\(run.stderr)")
        let status = try runbook(scratch, ["status", "last"])
        let show = try runbook(scratch, ["show", "last"])
        let report = try runbook(scratch, ["report", "last", "--format", "markdown"])
        for (name, text) in [
            ("run", run.stderr), ("status", status.stdout), ("show", show.stdout), ("report", report.stdout),
        ] {
            #expect(text.contains("- \(stray)"), "\(name): \(text)")
            #expect(text.contains("~ \(truncated)"), "\(name): \(text)")
        }
        for (name, text) in [("run", run.stderr), ("status", status.stdout), ("show", show.stdout)] {
            #expect(text.contains(message), "\(name): \(text)")
        }
    }

    // MARK: - 14. The smaller ones

    @Test func stepsThatNeverRanAreNotRunOnceTheRunEnded() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write(
            "stops.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: stops}
            on_failure: stop
            steps:
              - id: broken
                action: shell
                with: {script: "echo 'the disk said: full'; exit 3", check: [false]}
                undo: {action: shell, with: {run: [true]}}
              - id: later
                needs: [broken]
                action: shell
                with: {run: [true], check: [false]}
                undo: {action: shell, with: {run: [true]}}
            """)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(run.status == 1, "\(run.stderr)")
        let row = try #require(run.stderr.split(separator: "\n").first { $0.hasPrefix("later ") }, "\(run.stderr)")
        #expect(row.contains("not run"), "\(row)")
        // The failure line shows what the command printed on stdout.
        #expect(run.stderr.contains("exited 3; stdout: the disk said: full"), "\(run.stderr)")
        let status = try runbook(scratch, ["status", "last"])
        let line = try #require(
            status.stdout.split(separator: "\n").first { $0.contains(" later ") }, "\(status.stdout)")
        #expect(line.contains("not run"), "\(line)")
        #expect(!line.contains("pending"), "\(line)")
    }

    @Test func withoutATerminalAHeartbeatSaysWhatStillRuns() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let file = try scratch.write(
            "long.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: long}
            steps:
              - id: rsync
                action: shell
                with: {script: "sleep 3", check: [false]}
                undo: {action: shell, with: {run: [true]}}
            """)
        let run = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--heartbeat", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("… running: rsync on localhost "), "\(run.stderr)")
        let bad = try runbook(scratch, ["run", file, "-i", inventory, "--yes", "--heartbeat", "-1"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }
}

extension ReportCommandsTests {
    /// `approve` without `--by` where no variable names the user (a systemd unit): the login
    /// name, as the terminal's answer records it, never `unknown`.
    @Test func approveWithoutByRecordsTheLoginNameAsTheTerminalDoes() throws {
        let state = try State()
        let result = try run(
            ["approve", Self.parkedID, "final-check"], state: state,
            environment: ["SUDO_USER": nil, "USER": nil, "LOGNAME": nil])
        #expect(result.status == 0, "\(result.stderr)")
        let approval = try #require(try state.journal().approval(runID: Self.parkedID, gate: "final-check"))
        let login = try #require(getpwuid(geteuid())).pointee.pw_name.map { String(cString: $0) }
        #expect(approval.by == login)
        #expect(approval.by != "unknown")
    }
}
