import Foundation
import RunbookCore
import Testing

@testable import RunbookExecution

@Suite struct StateDirectoryTests {
    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func resolution() {
        #expect(
            StateDirectory.resolve(environment: ["RUNBOOK_STATE_DIR": "/x", "XDG_STATE_HOME": "/y", "HOME": "/h"])
                == "/x")
        #expect(StateDirectory.resolve(environment: ["XDG_STATE_HOME": "/y", "HOME": "/h"]) == "/y/runbook")
        #expect(
            StateDirectory.resolve(environment: ["XDG_STATE_HOME": "rel", "HOME": "/h"]) == "/h/.local/state/runbook")
        #expect(
            StateDirectory.resolve(environment: ["RUNBOOK_STATE_DIR": "", "HOME": "/h/"]) == "/h/.local/state/runbook")
        #expect(StateDirectory.resolve(environment: [:]) == nil)
        #expect(throws: StateDirectory.Failure.noLocation) { try StateDirectory(environment: [:]) }
    }

    @Test func createsPrivateLayout() throws {
        let dir = TempDir("state")
        let home = dir.file("home")
        let state = try StateDirectory(environment: ["HOME": home])
        #expect(state.root == home + "/.local/state/runbook")
        #expect(state.journalPath == state.root + "/journal.sqlite")
        #expect(state.lockDirectory == state.root + "/locks")
        #expect(state.sshControlDirectory == state.root + "/ssh")
        #expect(state.runDirectory("20261125-091502-3f9a") == state.root + "/runs/20261125-091502-3f9a")
        #expect(state.runDirectory("../etc") == state.root + "/runs/_._etc")
        for path in [state.root, state.lockDirectory, state.sshControlDirectory, state.runsDirectory] {
            #expect(try mode(path) == 0o700, "\(path)")
        }
        let runDir = try state.ensureRunDirectory("r1")
        #expect(try mode(runDir) == 0o700)

        // An explicit directory that exists with loose permissions is tightened.
        let explicit = dir.file("explicit")
        try FileManager.default.createDirectory(
            atPath: explicit, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        let second = try StateDirectory(environment: ["RUNBOOK_STATE_DIR": explicit, "HOME": home])
        #expect(second.root == explicit)
        #expect(try mode(explicit) == 0o700)

        // The journal opens in it.
        let journal = try Journal(path: second.journalPath, redactor: .none)
        #expect(try journal.journalMode() == "wal")
    }
}
