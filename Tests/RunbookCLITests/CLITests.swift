import Foundation
import RunbookTestSupport
import Testing

/// Runs the built `runbook` executable and checks its output and exit code.
@Suite struct CLITests {
    let binary = PackagePaths.runbookExecutable
    let root = PackagePaths.root

    func run(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "build the runbook executable first: \(binary.path)")
        var env = environment ?? ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        return try runProgram(binary, arguments, environment: env, currentDirectory: root)
    }

    func temporaryFile(_ text: String, name: String = "runbook.yaml") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "runbook-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func validateReportsFiveMistakesAtTheirPositionsAndExits2() throws {
        let file = try temporaryFile(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: five}
            steps:
              - id: stop-session
                action: shel
                retries: many
                with: {run: [true]}
              - id: writable
                needs: [stop-sesion]
                timeout: 5 minutes
                action: shell
                with: {run: [true], comand: [x]}
                undo: {action: shell, with: {run: [true]}}
            """)
        let result = try run(["validate", file.path])
        #expect(result.status == 2)
        let errors = result.stderr.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == 5, "\(result.stderr)")
        let path = file.path
        #expect(
            errors.contains {
                $0
                    == "\(path):6:13: error: unknown action type 'shel' (did you mean 'shell'?); `runbook actions` lists them"
            })
        #expect(errors.contains { $0 == "\(path):7:14: error: retries must be a whole number, got a string ('many')" })
        #expect(
            errors.contains {
                $0
                    == "\(path):10:13: error: step 'writable' needs unknown step 'stop-sesion' (did you mean 'stop-session'?)"
            })
        #expect(
            errors.contains {
                $0.hasPrefix("\(path):11:14: error: timeout must be a duration like 90s, 15m, 2h or 1h30m")
            })
        #expect(
            errors.contains {
                $0.hasPrefix("\(path):13:25: error: 'shell' does not take 'comand'; it takes run, script, check")
            })
        #expect(result.stderr.contains("5 errors"))
        // Not a terminal: no snippets, no colour.
        #expect(!result.stderr.contains("^"))
    }

    @Test func validateIsCleanOnTheExamples() throws {
        let result = try run([
            "validate", "Examples/quickstart/failover.yaml", "Examples/quickstart/inventory.yaml", "-i",
            "Examples/quickstart/inventory.yaml",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Examples/quickstart/failover.yaml: ok"))
        #expect(result.stderr.isEmpty)
    }

    @Test func offlinePlanOfTheQuickstart() throws {
        let result = try run([
            "plan", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "--offline",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("? prepare@site-a  on site-a [sites]  action shell"))
        #expect(result.stdout.contains("run    $ mkdir -p /tmp/runbook-quickstart/site-b"))
        #expect(result.stdout.contains("-- commit point 'go-ahead'"))
        #expect(
            result.stdout.contains("8 step instances: 0 will change, 0 already done, 7 unknown until run, 1 skipped"))
    }

    @Test func planJSONAndSavedPlan() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        let result = try run([
            "plan", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "--offline",
            "--format", "json", "-p", "sync_method=tar", "--mode", "drill", "-o", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["mode"] as? String == "drill")
        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(steps.count == 8)
        let sync = try #require(steps.first { $0["id"] as? String == "sync" })
        #expect((sync["choose"] as? [String: Any])?["chosen"] as? Int == 0)
        let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        #expect((saved["plan_hash"] as? String)?.count == 64)
    }

    @Test func badParamsExit2WithTheReason() throws {
        let result = try run([
            "plan", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "--offline", "-p",
            "sync_method=rsnyc",
        ])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains(
                "param 'sync_method' is 'rsnyc' (from --param sync_method), which is not one of auto, cp, tar"))
    }

    @Test func usageErrorsExit64() throws {
        let unknownFlag = try run([
            "plan", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "--ofline",
        ])
        #expect(unknownFlag.status == 64)
        #expect(unknownFlag.stderr.contains("--ofline"))
        let noConfirm = try run(
            [
                "run", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "-p",
                "workdir=/tmp/runbook-never-\(UUID().uuidString)",
            ],
            environment: ProcessInfo.processInfo.environment.merging([
                "RUNBOOK_STATE_DIR": NSTemporaryDirectory() + "rb-\(UUID().uuidString)"
            ]) { $1 })
        #expect(noConfirm.status == 64)
        #expect(noConfirm.stderr.contains("pass --yes"))
        let badParam = try run([
            "plan", "Examples/quickstart/failover.yaml", "-i", "Examples/quickstart/inventory.yaml", "--offline", "-p",
            "novalue",
        ])
        #expect(badParam.status == 64)
        #expect(badParam.stderr.contains("-p expects name=value, got 'novalue'"))
    }

    @Test func missingFileIsReportedNotCrashed() throws {
        let result = try run(["validate", "no/such/runbook.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read 'no/such/runbook.yaml': no such file"))
    }

    @Test func actionsListsTypesAndDetails() throws {
        let list = try run(["actions"])
        #expect(list.status == 0)
        for name in ["shell", "ssh.key", "ssh.reachable", "approval", "until"] {
            #expect(list.stdout.contains("  \(name)"))
        }
        let shell = try run(["actions", "shell"])
        #expect(shell.stdout.contains("run: argv"))
        #expect(shell.stdout.contains("exactly one of run, script"))
        let unknown = try run(["actions", "shel"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("did you mean 'shell'?"))
    }
}
