import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `runbook approve --sign`, `--output`, `--file` with the built binary and the real ssh-keygen:
/// a gate with `allowed_signers`, `quorum: 2` and `not_by_launcher` refuses what would not count
/// up front, takes two distinct allowed keys (one signed elsewhere and handed in as a file), and
/// `runbook show` lists each approval with its principal and key fingerprint.
extension RunTests {
    static func signedRunbook(quorum: Int = 2) -> String {
        """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: signed}
        roles:
          site: {min: 1}
        steps:
          - id: a
            action: shell
            with: {run: [echo, a]}
          - id: go
            needs: [a]
            gate:
              approval:
                prompt: Promote site B?
                allowed_signers: allowed_signers
                quorum: \(quorum)
                not_by_launcher: true
          - id: b
            needs: [go]
            action: shell
            with: {run: [echo, b]}
        """
    }

    @Test func signedApprovalsFromTheCommandLineReachTheQuorumAndShowTheirKeys() throws {
        let keys = try SigningKeys(allowed: ["alice", "bob", "carol"])
        let scratch = try Scratch()
        defer {
            try? FileManager.default.removeItem(at: scratch.root)
            try? FileManager.default.removeItem(at: keys.scratch.root)
        }
        try scratch.write("allowed_signers", try String(contentsOfFile: keys.allowedSigners, encoding: .utf8))
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let runbook = try scratch.write("runbook.yaml", Self.signedRunbook())
        let asAlice = ["USER": "alice", "SUDO_USER": "", "LOGNAME": "alice"]

        let plan = try RunbookTestSupport.runbook(scratch, ["plan", runbook, "-i", inventory])
        #expect(plan.stdout.contains("signed by 2 distinct keys of \(scratch.path)/allowed_signers"), "\(plan.stdout)")

        let parked = try RunbookTestSupport.runbook(
            scratch, ["run", runbook, "-i", inventory, "--yes"], extraEnvironment: asAlice)
        #expect(parked.status == 4, "\(parked.stdout)\(parked.stderr)")
        #expect(parked.stderr.contains("--sign KEYFILE") || parked.stdout.contains("--sign KEYFILE"))
        let runID = try latestRunID(scratch)
        let planHash = try #require(try scratch.journal().run(id: runID)?.planHash)

        let unsigned = try RunbookTestSupport.runbook(scratch, ["approve", runID, "go", "--by", "bob"])
        #expect(unsigned.status == 1)
        #expect(unsigned.stderr.contains("takes only signed approvals"), "\(unsigned.stderr)")

        let launchers = try RunbookTestSupport.runbook(scratch, ["approve", runID, "go", "--sign", keys.key("alice")])
        #expect(launchers.status == 1)
        #expect(launchers.stderr.contains("launcher's: alice@example.org launched the run"), "\(launchers.stderr)")

        let bob = try RunbookTestSupport.runbook(
            scratch, ["approve", runID, "go", "--sign", keys.key("bob"), "--reason", "CHG-1"])
        #expect(bob.status == 0, "\(bob.stderr)")
        #expect(bob.stdout.contains("signed: by bob@example.org, key \(try keys.fingerprint("bob"))"), "\(bob.stdout)")

        let again = try RunbookTestSupport.runbook(scratch, ["approve", runID, "go", "--sign", keys.key("bob")])
        #expect(again.status == 1)
        #expect(again.stderr.contains("duplicated: the key \(try keys.fingerprint("bob"))"), "\(again.stderr)")

        // Made elsewhere, without the journal, and handed in as a file.
        let file = scratch.path + "/carol.approval"
        let made = try RunbookTestSupport.runbook(
            scratch,
            [
                "approve", runID, "go", "--sign", keys.key("carol"), "--reason", "CHG-1 seen", "--plan-hash", planHash,
                "--output", file,
            ], state: scratch.path + "/nowhere")
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("runbook approve --file"), "\(made.stdout)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasPrefix("runbook-approval v1\nrun: \(runID)\ngate: go\nplan: \(planHash)\ndecision: approve\n"))
        #expect(text.contains("-----BEGIN SSH SIGNATURE-----"))
        let handedIn = try RunbookTestSupport.runbook(scratch, ["approve", "--file", file])
        #expect(handedIn.status == 0, "\(handedIn.stderr)")

        let resumed = try RunbookTestSupport.runbook(scratch, ["resume", runID])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")

        let show = try RunbookTestSupport.runbook(scratch, ["show", runID])
        for name in ["bob", "carol"] {
            #expect(
                show.stdout.contains(
                    "signature: signed by \(name)@example.org, key \(try keys.fingerprint(name)) (verified)"),
                "\(show.stdout)")
        }
        let json = try RunbookTestSupport.runbook(scratch, ["show", runID, "--format", "json"])
        #expect(json.stdout.contains(try keys.fingerprint("carol")))
    }

    @Test func signedApprovalFileForAnotherRunIsRefusedUpFront() throws {
        let keys = try SigningKeys(allowed: ["alice", "bob"])
        let scratch = try Scratch()
        defer {
            try? FileManager.default.removeItem(at: scratch.root)
            try? FileManager.default.removeItem(at: keys.scratch.root)
        }
        try scratch.write("allowed_signers", try String(contentsOfFile: keys.allowedSigners, encoding: .utf8))
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let runbook = try scratch.write("runbook.yaml", Self.signedRunbook(quorum: 1))
        let parked = try RunbookTestSupport.runbook(scratch, ["run", runbook, "-i", inventory, "--yes"])
        #expect(parked.status == 4)
        let runID = try latestRunID(scratch)
        let planHash = try #require(try scratch.journal().run(id: runID)?.planHash)
        let file = scratch.path + "/old.approval"
        _ = try RunbookTestSupport.runbook(
            scratch,
            [
                "approve", "20200101-000000-0000", "go", "--sign", keys.key("bob"), "--plan-hash", planHash, "--output",
                file,
            ],
            state: scratch.path + "/nowhere")
        let replayed = try RunbookTestSupport.runbook(scratch, ["approve", runID, "go", "--file", file])
        #expect(replayed.status == 1)
        #expect(replayed.stderr.contains("replayed: signed for run 20200101-000000-0000"), "\(replayed.stderr)")
        let named = try RunbookTestSupport.runbook(scratch, ["approve", "--file", file])
        #expect(named.status == 1, "\(named.stdout)")
    }

    @Test func unsignedByStillWorksAndIsShownAsUnverified() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let runbook = try scratch.write(
            "runbook.yaml",
            Self.signedRunbook().replacingOccurrences(
                of: "        allowed_signers: allowed_signers\n        quorum: 2\n        not_by_launcher: true\n",
                with: ""))
        let parked = try RunbookTestSupport.runbook(scratch, ["run", runbook, "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stdout)\(parked.stderr)")
        let runID = try latestRunID(scratch)
        let approved = try RunbookTestSupport.runbook(scratch, ["approve", runID, "go", "--by", "dave"])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.stdout.contains("signed: no (unverified"), "\(approved.stdout)")
        let resumed = try RunbookTestSupport.runbook(scratch, ["resume", runID])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        let show = try RunbookTestSupport.runbook(scratch, ["show", runID])
        #expect(show.stdout.contains("signature: unsigned (unverified"), "\(show.stdout)")
    }
}
