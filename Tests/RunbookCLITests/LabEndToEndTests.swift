import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The shipped GlusterFS runbooks against the real single-node geo-replication lab
/// (`Examples/lab/up.sh`). Enabled by RUNBOOK_LAB=1, which `.ci/run` sets after bringing the
/// lab up; RUNBOOK_LAB_INVENTORY names the lab's generated inventory.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["RUNBOOK_LAB"] == "1",
                             "needs the GlusterFS lab: run Examples/lab/up.sh as root and set RUNBOOK_LAB=1 (.ci/run does)"))
struct LabEndToEndTests {
    let binary = PackagePaths.runbookExecutable
    let root = PackagePaths.root
    let environment = ProcessInfo.processInfo.environment
    var inventory: String {
        environment["RUNBOOK_LAB_INVENTORY"] ?? PackagePaths.root.appendingPathComponent("Examples/lab/inventory.generated.yaml").path
    }
    var failover: String { root.appendingPathComponent("Runbooks/georep-failover.yaml").path }
    var failback: String { root.appendingPathComponent("Runbooks/georep-failback.yaml").path }
    let primaryVolume = "gvprimary", secondaryVolume = "gvsecondary"
    let primaryMount = "/mnt/gvprimary", secondaryMount = "/mnt/gvsecondary"

    func runbook(_ state: String, _ arguments: [String]) throws -> ProcessOutput {
        var env = environment
        env["RUNBOOK_STATE_DIR"] = state
        env["NO_COLOR"] = "1"
        let result = try runProgram(binary, arguments, environment: env)
        print("$ runbook \(arguments.joined(separator: " ")) -> exit \(result.status)")
        return result
    }

    func gluster(_ arguments: [String]) throws -> ProcessOutput {
        try runProgram(URL(fileURLWithPath: "/usr/sbin/gluster"), ["--mode=script"] + arguments)
    }

    func option(_ volume: String, _ name: String) throws -> String {
        let text = try gluster(["volume", "get", volume, name]).stdout
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
        }
        return ""
    }

    func sessionStatus(_ primary: String, _ secondary: String) throws -> String {
        try gluster(["volume", "geo-replication", primary, secondary, "status"]).stdout
    }

    func newState() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-lab-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func runID(_ state: String) throws -> String {
        try #require(try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: [])).runs(limit: 1).first?.id)
    }

    func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 2)
        }
        Issue.record("timed out after \(Int(seconds))s waiting until \(what)")
    }

    var host: String { (try? String(contentsOfFile: "/etc/hostname", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "localhost" }

    @Test func aKilledSecondaryBrickFailsTheFailoverPreconditionBeforeAnythingChanges() throws {
        let info = try gluster(["--xml", "volume", "status", secondaryVolume]).stdout
        let pid = try #require(info.components(separatedBy: "<pid>").dropFirst().first?.components(separatedBy: "</pid>").first.flatMap { Int32($0) })
        #expect(pid > 0)
        kill(pid, SIGKILL)
        defer {
            // `start force` restarts the brick; glusterd may refuse while it is busy, so ask again.
            try? waitUntil(120, "the secondary brick is back") {
                if try gluster(["--xml", "volume", "status", secondaryVolume]).stdout.contains("<status>1</status>") { return true }
                let start = try gluster(["volume", "start", secondaryVolume, "force"])
                print("gluster volume start \(secondaryVolume) force -> \(start.status) \(start.stdout)\(start.stderr)")
                return false
            }
        }
        try waitUntil(30, "the brick shows offline") { try gluster(["--xml", "volume", "status", secondaryVolume]).stdout.contains("<status>0</status>") }
        let readOnlyBefore = try option(secondaryVolume, "features.read-only")
        let state = try newState()
        let result = try runbook(state, ["run", failover, "-i", inventory, "--yes"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("secondary-bricks-online"))
        #expect(result.stderr.contains("/bricks/\(secondaryVolume)"), "the message names the brick: \(result.stderr)")
        #expect(try option(secondaryVolume, "features.read-only") == readOnlyBefore)
    }

    @Test func failoverRollbackThenFailoverAndFailback() throws {
        let stamp = UUID().uuidString.prefix(8)
        let session = "\(host)::\(secondaryVolume)"

        // Something written on the primary before the failover.
        let before = "\(primaryMount)/before-failover-\(stamp).txt"
        try "written on the primary \(stamp)\n".write(toFile: before, atomically: false, encoding: .utf8)

        // 1. The plan against the healthy lab: the changes it will make, with what it observed.
        let state = try newState()
        let plan = try runbook(state, ["plan", failover, "-i", inventory])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("+ writable"), "\(plan.stdout)")
        #expect(plan.stdout.contains("features.read-only is 'on'"), "\(plan.stdout)")
        #expect(plan.stdout.contains("+ stop-session"))

        // 2. A failover parked at its go-ahead gate, then rolled back: options and session as before.
        let parked = try runbook(state, ["run", failover, "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stderr)")
        #expect(try option(secondaryVolume, "features.read-only") == "off")
        let parkedRun = try runID(state)
        let rollback = try runbook(state, ["rollback", parkedRun])
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(try option(secondaryVolume, "features.read-only") == "on")
        #expect(try option(secondaryVolume, "geo-replication.indexing") == "off")
        try waitUntil(120, "the session runs again") {
            let status = try sessionStatus(primaryVolume, session)
            return status.contains("Active") || status.contains("Passive")
        }

        // 3. The failover for real.
        let run = try runbook(state, ["run", failover, "-i", inventory, "--yes", "--approve", "go-ahead"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: "\(secondaryMount)/before-failover-\(stamp).txt", encoding: .utf8) == "written on the primary \(stamp)\n")
        #expect(try option(secondaryVolume, "features.read-only") == "off")
        #expect(try sessionStatus(primaryVolume, session).contains("Stopped"))
        let during = "\(secondaryMount)/during-failover-\(stamp).txt"
        try "written on the secondary during the failover \(stamp)\n".write(toFile: during, atomically: false, encoding: .utf8)

        // Re-running changes nothing, and the plan says so.
        let again = try runbook(state, ["run", failover, "-i", inventory, "--yes"])
        #expect(again.status == 0, "\(again.stderr)")
        let againID = try runID(state)
        let journal = try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
        let changed = try journal.steps(runID: againID).filter(\.changed).map(\.nodeID)
        #expect(changed.isEmpty, "re-run changed \(changed)")
        #expect(try String(contentsOfFile: "/run/runbook-lab/clients", encoding: .utf8) == "secondary\n")
        let planAfter = try runbook(state, ["plan", failover, "-i", inventory])
        #expect(planAfter.stdout.contains(" 0 will change, "), "\(planAfter.stdout)")
        #expect(planAfter.stdout.contains("= writable"))

        // 4. Failback: start, status (in progress, then completed), commit.
        let failbackState = try newState()
        let back = try runbook(failbackState, ["run", failback, "-i", inventory, "--yes", "--approve", "begin", "--approve", "commit", "--events", failbackState + "/events.jsonl"])
        #expect(back.status == 0, "\(back.stderr)")
        let events = (try? String(contentsOfFile: failbackState + "/events.jsonl", encoding: .utf8)) ?? ""
        let polls = events.split(separator: "\n").filter { $0.contains("\"step\":\"sync-status\"") && $0.contains("gate.poll") }
        #expect(polls.contains { $0.contains("Sync Completed") }, "\(polls)")
        print("sync-status polls: \(polls.count); first in progress: \(polls.first?.contains("Sync in Progress") ?? false)")
        #expect(try String(contentsOfFile: "\(primaryMount)/during-failover-\(stamp).txt", encoding: .utf8) == "written on the secondary during the failover \(stamp)\n")
        #expect(try option(secondaryVolume, "features.read-only") == "on")
        #expect(try option(primaryVolume, "features.read-only") == "off")
        #expect(try String(contentsOfFile: "/run/runbook-lab/clients", encoding: .utf8) == "primary\n")
        try waitUntil(120, "the original session runs primary -> secondary again") {
            let status = try sessionStatus(primaryVolume, session)
            return status.contains("Active") || status.contains("Passive")
        }
        let reverse = try gluster(["volume", "geo-replication", secondaryVolume, "\(host)::\(primaryVolume)", "status"])
        #expect(!reverse.stdout.contains("Active"), "the reverse session is gone: \(reverse.stdout)")
    }
}
