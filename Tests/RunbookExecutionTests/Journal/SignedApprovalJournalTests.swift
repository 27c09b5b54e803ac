import Foundation
import GRDB
import RunbookCore
import Testing

@testable import RunbookExecution

/// Migration v7-signed-approvals: the approvals table keeps a signed approval's statement,
/// signature, principal and fingerprint, covered by the row's digest; rows written before keep theirs.
@Suite struct SignedApprovalJournalTests {
    @Test func aSignedApprovalIsKeptWithItsStatementSignaturePrincipalAndFingerprint() throws {
        let dir = TempDir()
        let journal = try openJournal(dir)
        let run = makeRun(id: "20261207-204000-0001")
        try journal.createRun(run)
        var approval = ApprovalRecord(
            runID: run.id, gate: "go", by: "alice@example.org", reason: "CHG-1", planHash: "p1", at: fixedStart,
            decision: .approved)
        approval.statement = "runbook-approval v1\nrun: \(run.id)\n"
        approval.signature = "-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n"
        approval.principal = "alice@example.org"
        approval.fingerprint = "SHA256:abc"
        try journal.recordApproval(approval)
        try journal.recordApproval(
            ApprovalRecord(
                runID: run.id, gate: "go", by: "bob", reason: "unsigned", planHash: "p1", at: fixedStart,
                decision: .approved))
        let read = try journal.approvals(runID: run.id)
        #expect(read.map(\.id) == [1, 2])
        #expect(read[0].statement == approval.statement)
        #expect(read[0].signature == approval.signature)
        #expect(read[0].principal == "alice@example.org")
        #expect(read[0].fingerprint == "SHA256:abc")
        #expect(read[0].isSigned)
        #expect(read[1].isSigned == false && read[1].fingerprint == nil)
        #expect(try journal.verifyChain(runID: run.id).isOK)
        try journal.close()

        try DatabaseQueue(path: dir.file("journal.sqlite")).write { db in
            try db.execute(sql: "DROP TRIGGER approvals_digest_update; UPDATE approvals SET fingerprint = 'SHA256:x'")
        }
        #expect(try openJournal(dir).verifyChain(runID: run.id).isOK == false, "an edited fingerprint is noticed")
    }

    @Test func anApprovalFromBeforeSignedApprovalsKeepsItsDigest() throws {
        let dir = TempDir()
        var config = Configuration()
        config.prepareDatabase { db in db.add(function: RowDigest.function) }
        let old = try DatabaseQueue(path: dir.file("journal.sqlite"), configuration: config)
        try Journal.migrator.migrate(old, upTo: "v6-chosen-alternative")
        try old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, runbookName, runbookPath, inventoryName, inventoryPath, mode, paramsJSON,
                                      planHash, planJSON, status, pid, hostname, startedAt, updatedAt)
                    VALUES ('r1', 'rb', '/rb.yaml', 'inv', '/inv.yaml', 'run', '{}', 'h', '{}', 'parked', 1, 'ops',
                            '2026-11-25 09:15:02.000', '2026-11-25 09:15:02.000');
                    INSERT INTO approvals (runID, gate, "by", reason, planHash, "at", decision)
                    VALUES ('r1', 'go', 'alice', 'ok', 'h', '2026-11-25 09:15:02.000', 'approved');
                    """)
        }
        try old.close()
        let journal = try openJournal(dir)
        #expect(try journal.verifyChain(runID: "r1").isOK, "a row written before keeps its digest")
        #expect(try journal.approvals(runID: "r1").first?.isSigned == false)
    }
}
