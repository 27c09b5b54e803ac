import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `runbook` killed with SIGKILL at many points of a 30-step run (and of its resumes), then
/// resumed until it succeeds: every step's line must be in the file exactly once, the journal
/// must say every step is done, and its event chain must be intact.
///
/// Each step's command sleeps, then appends its line: killing `runbook` the instant the file has
/// k lines lands between a command's effect and its journaled outcome, while the step of the
/// other chain is usually still in flight, so its command outlives the killed `runbook` (commands
/// run in their own session) and must not be applied a second time by the resume.
@Suite(.serialized) struct CrashResumeTests {
    let binary = PackagePaths.runbookExecutable
    static let stepCount = 30
    /// How long each step's command sleeps before appending its line.
    static let stepSleep = 0.03
    /// Two slow steps, one in each chain: a command that outlives the `runbook` killed while it
    /// ran, and is still running when the resume starts.
    static let slowSteps: Set<Int> = [6, 21]
    static let slowSleep = 0.5

    static func id(_ n: Int) -> String { String(format: "s%02d", n) }

    /// 30 steps: s01, then two chains that run in parallel (s02…s15 and s16…s29), joined by s30.
    static func runbook(file: String) -> String {
        var text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: crash}
            concurrency: 4
            on_failure: stop
            steps:

            """
        for n in 1...stepCount {
            let needs: [Int]
            switch n {
            case 1: needs = []
            case 2, 16: needs = [1]
            case stepCount: needs = [15, 29]
            default: needs = [n - 1]
            }
            let needsText = needs.isEmpty ? "" : "\n    needs: [\(needs.map(id).joined(separator: ", "))]"
            text += """
                  - id: \(id(n))\(needsText)
                    action: shell
                    with:
                      script: 'sleep \(slowSteps.contains(n) ? slowSleep : stepSleep); echo "line \(n)" >> "\(file)"'
                      check: [grep, -qx, "line \(n)", "\(file)"]
                    undo: {action: shell, with: {run: [sed, -i, "/^line \(n)$/d", "\(file)"]}}

                """
        }
        return text
    }

    static func lines(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    func start(_ arguments: [String], state: String) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = state
        environment["NO_COLOR"] = "1"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// When to SIGKILL a `runbook` process.
    enum Kill: CustomStringConvertible, Sendable {
        /// The instant the file has this many lines.
        case atLines(Int)
        /// The instant this step's line is in the file (the next step of its chain has started).
        case atLine(Int)
        /// This many seconds after it started.
        case after(Double)

        var description: String {
            switch self {
            case .atLines(let count): return "at \(count) lines"
            case .atLine(let n): return "when line \(n) appears"
            case .after(let seconds): return "after \(seconds)s"
            }
        }
    }

    /// Kills `process` with SIGKILL when `kill` says (or if it runs 30 s); false if it ended first.
    @discardableResult
    func kill(_ process: Process, _ kill: Kill, file: String) -> Bool {
        let started = Date()
        let deadline = started.addingTimeInterval(30)
        while process.isRunning, Date() < deadline {
            if case .atLines(let count) = kill, Self.lines(file).count >= count { break }
            if case .after(let seconds) = kill, Date().timeIntervalSince(started) >= seconds { break }
            if case .atLine(let n) = kill, Self.lines(file).contains("line \(n)") { break }
            usleep(200)
        }
        let killed = process.isRunning
        if killed { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return killed
    }

    /// Waits for `process` at most `seconds`; nil (after killing it) if it did not end: a hang.
    func wait(_ process: Process, seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    struct Scenario: CustomStringConvertible, Sendable {
        /// When the first `run` is killed.
        var run: Kill
        /// When each following resume is killed, in turn (then resumes run to the end).
        var resumes: [Kill] = []
        var description: String {
            "run killed \(run)"
                + (resumes.isEmpty ? "" : ", resumes killed " + resumes.map(\.description).joined(separator: ", then "))
        }
    }

    /// 20 kill points of the first run, spread over all 30 lines (4 of them while a slow step's
    /// command runs), and 4 scenarios that kill resumes as well (one three resumes in a row).
    static let scenarios: [Scenario] = [
        Scenario(run: .after(0.05)), Scenario(run: .after(0.25)), Scenario(run: .after(0.6)),
        Scenario(run: .atLines(1)), Scenario(run: .atLines(2)), Scenario(run: .atLines(3)), Scenario(run: .atLine(5)),
        Scenario(run: .atLines(7)), Scenario(run: .atLines(9)), Scenario(run: .atLines(12)),
        Scenario(run: .atLines(14)),
        Scenario(run: .atLines(16)), Scenario(run: .atLines(18)), Scenario(run: .atLine(20)),
        Scenario(run: .atLines(21)),
        Scenario(run: .atLines(24)), Scenario(run: .atLines(27)), Scenario(run: .atLines(29)),
        Scenario(run: .atLines(30)),
        Scenario(run: .atLines(4), resumes: [.atLine(5), .atLines(10)]),
        Scenario(run: .atLines(11), resumes: [.atLines(17), .atLine(20), .after(0.15)]),
        Scenario(run: .atLines(20), resumes: [.atLines(25)]),
        Scenario(run: .after(0.3), resumes: [.after(0.2), .atLines(28)]),
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
        defaults: {transport: local}
        hosts: {}
        """.write(toFile: inventory, atomically: true, encoding: .utf8)

        let first = try start(["run", runbook, "-i", inventory, "--yes"], state: state)
        kill(first, scenario.run, file: out)

        var resumeKills = scenario.resumes
        var finished = false
        var statuses: [String] = []
        var events: String?
        for round in 0..<(scenario.resumes.count + 6) {
            // Killed before the run was journaled: nothing to resume, start it again.
            let journal = try? Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
            let runID = try journal?.runs(limit: 1).first?.id
            events = root.appendingPathComponent("events-\(round).jsonl").path
            let arguments =
                (runID.map { ["resume", $0] } ?? ["run", runbook, "-i", inventory, "--yes"]) + ["--events", events!]
            let process = try start(arguments, state: state)
            if !resumeKills.isEmpty {
                let killed = kill(process, resumeKills.removeFirst(), file: out)
                statuses.append(killed ? "killed" : "\(process.terminationStatus)")
                continue
            }
            let status = wait(process, seconds: 30)
            statuses.append(status.map(String.init) ?? "hung")
            if status == 0 {
                finished = true
                break
            }
        }
        #expect(finished, "the run did not finish after resumes (\(scenario)); exits: \(statuses)")
        // A command a killed `runbook` left running would write after this.
        usleep(UInt32((Self.slowSleep + 0.1) * 1_000_000))

        let written = Self.lines(out)
        let expected = (1...Self.stepCount).map { "line \($0)" }
        let duplicates = Dictionary(grouping: written, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(duplicates.isEmpty, "\(scenario): written more than once: \(duplicates); exits: \(statuses)")
        #expect(
            Set(expected).subtracting(written).isEmpty,
            "\(scenario): missing \(Set(expected).subtracting(written).sorted())")
        #expect(written.count == Self.stepCount, "\(scenario): \(written.count) lines: \(written)")

        let journal = try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
        let runs = try journal.runs(limit: 10)
        #expect(runs.count == 1, "\(scenario): \(runs.count) runs journaled")
        let run = try #require(runs.first)
        #expect(run.status == .succeeded)
        let steps = try journal.steps(runID: run.id)
        #expect(steps.count == Self.stepCount)
        #expect(
            steps.allSatisfy { $0.state == .succeeded || $0.state == .alreadyDone },
            "\(scenario): \(steps.filter { $0.state != .succeeded && $0.state != .alreadyDone }.map { "\($0.nodeID)=\($0.state)" })"
        )
        let chain = try journal.verifyChain(runID: run.id)
        #expect(chain.isOK, "\(scenario): \(chain)")

        // The last resume's event stream is one JSON object per line, and ends with the run.
        let records = (events.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "").split(separator: "\n")
        let objects = records.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(objects.count == records.count && !objects.isEmpty, "\(scenario): events \(records.prefix(3))")
        #expect(objects.last?["type"] as? String == "run.finished", "\(scenario): last event \(objects.last ?? [:])")
    }
}
