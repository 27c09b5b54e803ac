import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `runbook` killed with SIGKILL at many points of a 30-step run, then resumed: every step's
/// line must be in the file exactly once.
@Suite(.serialized) struct CrashResumeTests {
    let binary = PackagePaths.runbookExecutable

    /// 30 steps in two chains that join, each appending `line N` once (its `check` greps it).
    static func runbook(file: String) -> String {
        var text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: crash}
            concurrency: 4
            steps:

            """
        for n in 1...30 {
            var needs: [Int] = []
            if n == 2 || n == 16 { needs = [1] }
            else if n == 30 { needs = [15, 29] }
            else if n > 2 { needs = [n - 1] }
            let needsText = needs.isEmpty ? "" : "\n    needs: [\(needs.map { String(format: "s%02d", $0) }.joined(separator: ", "))]"
            text += """
                  - id: \(String(format: "s%02d", n))\(needsText)
                    action: shell
                    with:
                      script: 'echo "line \(n)" >> "\(file)"; sleep 0.03'
                      check: [grep, -qx, "line \(n)", "\(file)"]
                    undo: {action: shell, with: {run: [sed, -i, "/^line \(n)$/d", "\(file)"]}}

                """
        }
        return text
    }

    func lines(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    func start(_ arguments: [String], state: String) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = state
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Kills `process` with SIGKILL once the file has `lines` lines (or after `seconds`).
    func kill(_ process: Process, whenFile path: String, has count: Int?, orAfter seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline {
            if let count, lines(path).count >= count { break }
            usleep(500)
        }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    struct Scenario: CustomStringConvertible, Sendable {
        /// Kill the first run after this many lines (nil: after `delay` seconds).
        var afterLines: Int?
        var delay: Double
        /// Also kill the first resume after this many lines.
        var resumeAfterLines: Int?
        var description: String { "kill at \(afterLines.map { "\($0) lines" } ?? "\(delay)s")\(resumeAfterLines.map { ", resume killed at \($0) lines" } ?? "")" }
    }

    static let scenarios: [Scenario] = [
        Scenario(afterLines: nil, delay: 0.05), Scenario(afterLines: nil, delay: 0.3),
        Scenario(afterLines: 1, delay: 30), Scenario(afterLines: 2, delay: 30), Scenario(afterLines: 4, delay: 30),
        Scenario(afterLines: 7, delay: 30), Scenario(afterLines: 11, delay: 30, resumeAfterLines: 16),
        Scenario(afterLines: 15, delay: 30), Scenario(afterLines: 18, delay: 30), Scenario(afterLines: 21, delay: 30, resumeAfterLines: 25),
        Scenario(afterLines: 26, delay: 30), Scenario(afterLines: 29, delay: 30), Scenario(afterLines: 30, delay: 30),
    ]

    @Test(arguments: scenarios)
    func everyLineExactlyOnceAfterKillsAndResumes(_ scenario: Scenario) throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let state = root.appendingPathComponent("state").path
        let out = root.appendingPathComponent("lines.txt").path
        let runbook = root.appendingPathComponent("crash.yaml").path
        let inventory = root.appendingPathComponent("inventory.yaml").path
        try Self.runbook(file: out).write(toFile: runbook, atomically: true, encoding: .utf8)
        try """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: local}
            hosts: {}
            """.write(toFile: inventory, atomically: true, encoding: .utf8)

        let first = try start(["run", runbook, "-i", inventory, "--yes"], state: state)
        kill(first, whenFile: out, has: scenario.afterLines, orAfter: scenario.delay)

        var resumeKill = scenario.resumeAfterLines
        var finished = false
        for _ in 0..<6 {
            // Killed before the run was journaled: nothing to resume, start it again.
            let journal = try? Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
            let runID = try journal?.runs(limit: 1).first?.id
            let arguments = runID.map { ["resume", $0] } ?? ["run", runbook, "-i", inventory, "--yes"]
            let process = try start(arguments, state: state)
            if let count = resumeKill {
                kill(process, whenFile: out, has: count, orAfter: 30)
                resumeKill = nil
                continue
            }
            process.waitUntilExit()
            if process.terminationStatus == 0 { finished = true; break }
        }
        #expect(finished, "the run did not finish after resumes (\(scenario))")
        let written = lines(out)
        let expected = (1...30).map { "line \($0)" }
        #expect(written.sorted() == expected.sorted(), "\(scenario): \(written)")
        #expect(Set(written).count == written.count, "\(scenario): a line was written twice")

        let journal = try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
        let run = try #require(try journal.runs(limit: 1).first)
        #expect(run.status == .succeeded)
        let steps = try journal.steps(runID: run.id)
        #expect(steps.count == 30)
        #expect(steps.allSatisfy { $0.state == .succeeded || $0.state == .alreadyDone }, "\(steps.map { "\($0.nodeID)=\($0.state)" })")
        #expect(try journal.verifyChain(runID: run.id).isOK)
    }
}
