import Foundation
import GRDB
import RunbookCore
import Testing

@testable import RunbookExecution

@Suite struct EventChainTests {
    func journalWith50Events(_ dir: TempDir) throws -> (Journal, String) {
        let journal = try openJournal(dir)
        let runID = "20261125-091502-c4a1"
        try journal.createRun(makeRun(id: runID))
        for index in 1...50 {
            try journal.appendEvent(
                runID: runID, type: index == 1 ? "run.started" : "step.finished",
                step: index == 1 ? nil : "step-\(index)", host: index % 2 == 0 ? "gfs-a\(index)" : nil,
                payload: ["index": String(index), "note": "line\nbreak \"quoted\""]
            )
        }
        return (journal, runID)
    }

    /// A separate connection, as a tamperer with the file would have.
    func rawConnection(_ dir: TempDir) throws -> DatabaseQueue {
        try DatabaseQueue(path: dir.file("journal.sqlite"))
    }

    @Test func fiftyEventsVerify() throws {
        let dir = TempDir()
        let (journal, runID) = try journalWith50Events(dir)
        let events = try journal.events(runID: runID)
        #expect(events.map(\.seq) == Array(1...50))
        #expect(events[0].prevHash == EventChain.genesisHash)
        #expect(events[0].prevHash == String(repeating: "0", count: 64))
        for index in 1..<events.count {
            #expect(events[index].prevHash == events[index - 1].hash)
        }
        for event in events {
            #expect(EventChain.expectedHash(of: event) == event.hash)
            #expect(event.hash.count == 64)
        }
        #expect(try journal.verifyChain(runID: runID) == .ok(eventCount: 50))
    }

    @Test func hashFollowsTheDocumentedFormula() throws {
        let dir = TempDir()
        let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_795_598_102.25) }
        let journal = try Journal(path: dir.file("journal.sqlite"), redactor: Redactor(secrets: []), now: clock)
        try journal.createRun(makeRun(id: "r"))
        let event = try journal.appendEvent(runID: "r", type: "run.started", host: "h", payload: ["b": "2", "a": "1"])
        #expect(event.payloadJSON == #"{"a":"1","b":"2"}"#)
        #expect(JournalTimestamp.format(event.ts) == "2026-11-25T09:15:02.250Z")
        let canonical = #"["r",1,"2026-11-25T09:15:02.250Z","run.started",null,"h","{\"a\":\"1\",\"b\":\"2\"}"]"#
        #expect(
            EventChain.canonicalText(
                runID: "r", seq: 1, ts: "2026-11-25T09:15:02.250Z", type: "run.started", step: nil, host: "h",
                payloadJSON: event.payloadJSON) == canonical)
        // Independently computed with Python: json.dumps([...], separators=(",", ":")) then sha256.
        #expect(event.hash == EventChain.hash(prevHash: EventChain.genesisHash, canonicalText: canonical))
        #expect(event.hash == "a17d11d11096dc5c4b1b269d113de09d057c49cd47af7e9f9765197ae1b8d5e8")
    }

    @Test func tamperedPayloadIsReportedAtItsSeq() throws {
        let dir = TempDir()
        let (journal, runID) = try journalWith50Events(dir)
        let raw = try rawConnection(dir)
        try raw.write { db in
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(
                sql: "UPDATE events SET payloadJSON = ? WHERE runID = ? AND seq = 17",
                arguments: [#"{"index":"17","note":"nothing to see"}"#, runID]
            )
        }
        let result = try journal.verifyChain(runID: runID)
        #expect(result.brokenSeq == 17)
        guard case .broken(_, .hashMismatch) = result else {
            Issue.record("expected a hash mismatch, got \(result)")
            return
        }
    }

    @Test func rehashedEventBreaksTheNextLink() throws {
        let dir = TempDir()
        let (journal, runID) = try journalWith50Events(dir)
        let original = try journal.events(runID: runID)[29]
        var forged = original
        forged.payloadJSON = #"{"index":"30","note":"forged"}"#
        forged.hash = EventChain.expectedHash(of: forged)
        try rawConnection(dir).write { db in
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(
                sql: "UPDATE events SET payloadJSON = ?, hash = ? WHERE runID = ? AND seq = 30",
                arguments: [forged.payloadJSON, forged.hash, runID]
            )
        }
        let result = try journal.verifyChain(runID: runID)
        #expect(result.brokenSeq == 31)
        guard case .broken(_, .prevHashMismatch) = result else {
            Issue.record("expected a prevHash mismatch, got \(result)")
            return
        }
    }

    @Test func deletedEventsAreReported() throws {
        let dir = TempDir()
        let (journal, runID) = try journalWith50Events(dir)
        try rawConnection(dir).write { db in
            try db.execute(sql: "DROP TRIGGER events_no_delete")
            try db.execute(sql: "DELETE FROM events WHERE runID = ? AND seq = 50", arguments: [runID])
        }
        #expect(try journal.verifyChain(runID: runID) == .broken(seq: 50, reason: .truncated(recordedLastSeq: 50)))
        try rawConnection(dir).write { db in
            try db.execute(sql: "DELETE FROM events WHERE runID = ? AND seq = 10", arguments: [runID])
        }
        #expect(try journal.verifyChain(runID: runID) == .broken(seq: 10, reason: .missing(foundSeq: 11)))
    }

    @Test func updateAndDeleteAreRefusedThroughTheJournalConnection() throws {
        let dir = TempDir()
        let (journal, runID) = try journalWith50Events(dir)
        #expect(throws: DatabaseError.self) {
            try journal.pool.write { db in
                try db.execute(
                    sql: "UPDATE events SET payloadJSON = '{}' WHERE runID = ? AND seq = 3", arguments: [runID])
            }
        }
        #expect(throws: DatabaseError.self) {
            try journal.pool.write { db in
                try db.execute(sql: "DELETE FROM events WHERE runID = ?", arguments: [runID])
            }
        }
        // A second, ordinary connection is refused too: the triggers live in the file.
        do {
            try rawConnection(dir).write { db in
                try db.execute(sql: "DELETE FROM events WHERE runID = ? AND seq = 1", arguments: [runID])
            }
            Issue.record("DELETE was not refused")
        } catch let error as DatabaseError {
            #expect(error.message?.contains("append-only") == true)
        }
        #expect(try journal.events(runID: runID).count == 50)
        #expect(try journal.verifyChain(runID: runID) == .ok(eventCount: 50))
    }

    @Test func twoJournalsWriteConcurrently() async throws {
        let dir = TempDir()
        let first = try openJournal(dir)
        let second = try openJournal(dir)
        try first.createRun(makeRun(id: "run-one"))
        try second.createRun(makeRun(id: "run-two"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (journal, runID) in [(first, "run-one"), (second, "run-two")] {
                group.addTask {
                    for index in 1...200 {
                        try journal.write { tx in
                            try tx.upsertStep(StepRecord(runID: runID, nodeID: "n\(index % 7)", stepID: "s"))
                            try tx.appendEvent(runID: runID, type: "tick", payload: ["i": String(index)])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for runID in ["run-one", "run-two"] {
            let events = try first.events(runID: runID)
            #expect(events.count == 200)
            #expect(events.map { $0.payload?["i"] } == (1...200).map { String($0) })
            #expect(try first.verifyChain(runID: runID) == .ok(eventCount: 200))
            #expect(try second.verifyChain(runID: runID) == .ok(eventCount: 200))
        }
    }

    @Test func timestampsRoundTrip() {
        let date = Date(timeIntervalSince1970: 1_795_598_102.123_9)
        let text = JournalTimestamp.format(date)
        #expect(text == "2026-11-25T09:15:02.123Z")
        #expect(JournalTimestamp.parse(text) == JournalTimestamp.truncated(date))
        #expect(JournalTimestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        #expect(JournalTimestamp.parse("2026-11-25 09:15:02.123") == nil)
    }
}
