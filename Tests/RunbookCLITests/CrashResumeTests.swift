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
        /// The instant this line is in the file.
        case atEntry(String)
        /// This many seconds after it started.
        case after(Double)

        var description: String {
            switch self {
            case .atLines(let count): return "at \(count) lines"
            case .atLine(let n): return "when line \(n) appears"
            case .atEntry(let line): return "when '\(line)' appears"
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
            if case .atEntry(let line) = kill, Self.lines(file).contains(line) { break }
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

/// `runbook` killed with SIGKILL at many points of a rollback, the automatic one of a run whose
/// failure policy rolls back and `runbook rollback RUN`, including while an undo's command runs
/// (it outlives the kill), then finished with `runbook rollback` or `runbook resume`: every undo
/// must have run exactly once (each appends its line to a file, and its `check` looks for it),
/// no step may be applied again, and the journal must end rolled back and consistent.
@Suite(.serialized) struct CrashRollbackTests {
    let crash = CrashResumeTests()
    /// s01…s10 change something (each appends its line); s11 fails, so the run rolls back
    /// (`on_failure: rollback`) or stops (`on_failure: stop`, rolled back by `runbook rollback`).
    static let changing = 10
    static let undoSleep = 0.03
    /// Undos that take long enough for a kill to land while their command runs.
    static let slowUndos: Set<Int> = [3, 7]
    static let slowSleep = 0.5

    static func runbook(lines: String, undos: String, policy: String) -> String {
        var text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: crash-rollback}
            on_failure: \(policy)
            steps:

            """
        for n in 1...(changing + 1) {
            let id = CrashResumeTests.id(n)
            let needs = n == 1 ? "" : "\n    needs: [\(CrashResumeTests.id(n - 1))]"
            let run =
                n <= changing
                ? "script: 'sleep 0.01; echo \"line \(n)\" >> \"\(lines)\"'\n      check: [grep, -qx, \"line \(n)\", \"\(lines)\"]"
                : "run: [sh, -c, 'exit 3']"
            let sleep = slowUndos.contains(n) ? slowSleep : undoSleep
            text += """
                  - id: \(id)\(needs)
                    action: shell
                    with:
                      \(run)
                    undo:
                      action: shell
                      with:
                        script: 'sleep \(sleep); echo "undo \(n)" >> "\(undos)"'
                        check: [grep, -qx, "undo \(n)", "\(undos)"]

                """
        }
        return text
    }

    enum Command: String, Sendable {
        case run, resume, rollback
    }

    /// One `runbook` invocation of a scenario and when it is killed (nil: it runs to its end).
    struct Call: CustomStringConvertible, Sendable {
        var command: Command
        var kill: CrashResumeTests.Kill?
        /// Whether `kill` watches the file of applied lines rather than the undos.
        var watchesApplies = false
        var description: String {
            "\(command.rawValue)" + (kill.map { " killed \($0)\(watchesApplies ? " (applies)" : " (undos)")" } ?? "")
        }
    }

    struct Scenario: CustomStringConvertible, Sendable {
        /// `rollback` (the run rolls itself back) or `stop` (`runbook rollback RUN` does).
        var policy: String
        var calls: [Call]
        /// How the scenario finishes: `runbook rollback` or `runbook resume`.
        var finish: Command = .rollback
        var description: String {
            "on_failure \(policy): " + calls.map(\.description).joined(separator: ", ") + ", then \(finish.rawValue)"
        }
    }

    static func auto(_ kills: [CrashResumeTests.Kill], finish: Command = .rollback, applies: Bool = false)
        -> Scenario
    {
        var calls = [Call(command: .run, kill: kills[0], watchesApplies: applies)]
        for kill in kills.dropFirst() { calls.append(Call(command: finish, kill: kill)) }
        return Scenario(policy: "rollback", calls: calls, finish: finish)
    }

    static func manual(_ kills: [CrashResumeTests.Kill], finish: Command = .rollback) -> Scenario {
        Scenario(
            policy: "stop", calls: [Call(command: .run)] + kills.map { Call(command: .rollback, kill: $0) },
            finish: finish)
    }

    /// The undos run s11, s10, …, s01: "when undo N appears" kills as the undo of N-1 starts
    /// (of a slow undo, 3 or 7, while its command runs); "at K undos" after K undos.
    static let scenarios: [Scenario] = [
        // The automatic rollback: killed before it begins (resumed: s11 fails again), at every
        // undo, during slow undos.
        auto([.atLine(10)], finish: .resume, applies: true), auto([.after(0.05)], finish: .resume, applies: true),
        auto([.atEntry("undo 11")]), auto([.atEntry("undo 10")]), auto([.atEntry("undo 9")]),
        auto([.atEntry("undo 8")]), auto([.atEntry("undo 8")], finish: .resume),
        auto([.atEntry("undo 7")]), auto([.atEntry("undo 6")]), auto([.atEntry("undo 5")], finish: .resume),
        auto([.atEntry("undo 4")]), auto([.atEntry("undo 4")], finish: .resume), auto([.atEntry("undo 2")]),
        auto([.atEntry("undo 1")]),
        // …and the `runbook rollback` or resume that finishes it, killed too.
        auto([.atEntry("undo 8"), .atEntry("undo 4")]),
        auto([.atEntry("undo 8"), .atEntry("undo 4")], finish: .resume),
        auto([.atEntry("undo 10"), .atEntry("undo 8"), .atEntry("undo 5"), .atEntry("undo 4")]),
        auto([.atLine(10), .atEntry("undo 8")], finish: .resume, applies: true),
        // `runbook rollback RUN` of a stopped run, killed at many points.
        manual([.after(0.05)]), manual([.atEntry("undo 11")]), manual([.atEntry("undo 9")]),
        manual([.atEntry("undo 8")]), manual([.atEntry("undo 8")], finish: .resume), manual([.atEntry("undo 6")]),
        manual([.atEntry("undo 4")]), manual([.atEntry("undo 4")], finish: .resume), manual([.atEntry("undo 2")]),
        manual([.atEntry("undo 8"), .atEntry("undo 4")]), manual([.atEntry("undo 8"), .after(0.02)]),
        manual([.atEntry("undo 10"), .atEntry("undo 8"), .atEntry("undo 4"), .atEntry("undo 2")], finish: .resume),
    ]

    @Test(arguments: scenarios)
    func everyUndoExactlyOnceAfterKillsDuringRollback(_ scenario: Scenario) throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: crash.binary.path), "build the runbook executable first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-undo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let state = root.appendingPathComponent("state").path
        let lines = root.appendingPathComponent("lines.txt").path
        let undos = root.appendingPathComponent("undos.txt").path
        let runbook = root.appendingPathComponent("crash.yaml").path
        let inventory = root.appendingPathComponent("inventory.yaml").path
        try Self.runbook(lines: lines, undos: undos, policy: scenario.policy)
            .write(toFile: runbook, atomically: true, encoding: .utf8)
        try """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: local}
        defaults: {transport: local}
        hosts: {}
        """.write(toFile: inventory, atomically: true, encoding: .utf8)

        func runID() throws -> String? {
            let journal = try? Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
            return try journal?.runs(limit: 1).first?.id
        }
        func arguments(_ command: Command) throws -> [String] {
            // Killed before the run was journaled: nothing to resume or roll back, start it again.
            guard command != .run, let id = try runID() else { return ["run", runbook, "-i", inventory, "--yes"] }
            // Unattended: a rollback, and a resume that finishes one, need --yes.
            return [command.rawValue, id, "--yes"]
        }
        var exits: [String] = []
        for call in scenario.calls {
            let process = try crash.start(try arguments(call.command), state: state)
            if let kill = call.kill {
                let killed = crash.kill(process, kill, file: call.watchesApplies ? lines : undos)
                exits.append("\(call.command.rawValue) " + (killed ? "killed" : "\(process.terminationStatus)"))
            } else {
                let status = crash.wait(process, seconds: 30)
                exits.append("\(call.command.rawValue) " + (status.map(String.init) ?? "hung"))
            }
        }
        // Finish: until the journal says rolled back (a resume ends with exit 1, `rollback` with 0).
        var rolledBack = false
        for _ in 0..<6 {
            let process = try crash.start(try arguments(scenario.finish), state: state)
            let status = crash.wait(process, seconds: 30)
            exits.append("\(scenario.finish.rawValue) " + (status.map(String.init) ?? "hung"))
            let journal = try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
            if let id = try runID(), try journal.run(id: id)?.status == .rolledBack {
                rolledBack = true
                break
            }
        }
        #expect(rolledBack, "\(scenario): not rolled back; exits: \(exits)")
        // Once more: nothing is left to undo, and nothing runs again.
        let again = try crash.start(try arguments(.rollback), state: state)
        #expect(crash.wait(again, seconds: 30) == 0, "\(scenario): a second rollback failed; exits: \(exits)")
        // A command a killed `runbook` left running would write after this.
        usleep(UInt32((Self.slowSleep + 0.1) * 1_000_000))

        let total = Self.changing + 1
        let undone = CrashResumeTests.lines(undos)
        let twice = Dictionary(grouping: undone, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(twice.isEmpty, "\(scenario): undone more than once: \(twice); exits: \(exits)")
        #expect(undone == (1...total).reversed().map { "undo \($0)" }, "\(scenario): undos \(undone); exits: \(exits)")
        let applied = CrashResumeTests.lines(lines)
        let reapplied = Dictionary(grouping: applied, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(reapplied.isEmpty, "\(scenario): applied more than once: \(reapplied); exits: \(exits)")
        #expect(
            applied == (1...Self.changing).map { "line \($0)" }, "\(scenario): applies \(applied); exits: \(exits)")

        let journal = try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
        let runs = try journal.runs(limit: 10)
        #expect(runs.count == 1, "\(scenario): \(runs.count) runs journaled")
        let run = try #require(runs.first)
        #expect(run.status == .rolledBack, "\(scenario): \(run.status)")
        let steps = try journal.steps(runID: run.id)
        #expect(
            steps.count == total && steps.allSatisfy { $0.state == .undone },
            "\(scenario): \(steps.map { "\($0.nodeID)=\($0.state)" })")
        let attempts = try journal.attempts(runID: run.id).filter {
            [.undoCheck, .undo, .undoVerify].contains($0.phase)
        }
        let inFlight = attempts.filter(\.isInFlight).map(\.nodeID)
        #expect(inFlight.isEmpty, "\(scenario): undo attempts in flight \(inFlight)")
        // Each step's last undo attempt ran its undo, or (after a kill) its check found it done.
        let last = Dictionary(attempts.map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        let ends = last.values.map { "\($0.nodeID)=\($0.phase.rawValue):\($0.outcome ?? "-")" }.sorted()
        #expect(
            last.count == total
                && last.values.allSatisfy {
                    ($0.phase == .undo && $0.outcome == AttemptOutcome.ok)
                        || ($0.phase == .undoCheck && $0.outcome == "done")
                }, "\(scenario): last undo attempts \(ends)")
        let chain = try journal.verifyChain(runID: run.id)
        #expect(chain.isOK, "\(scenario): \(chain)")
    }
}
