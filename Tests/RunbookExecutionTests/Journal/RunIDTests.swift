import Foundation
import Testing

@testable import RunbookExecution

@Suite struct RunIDTests {
    @Test func generatedFormat() {
        let id = RunID.generate(now: fixedStart)
        #expect(id.hasPrefix("20261125-091502-"))
        #expect(id.count == 20)
        #expect(RunID.isWellFormed(id))
        let suffix = id.suffix(4)
        #expect(suffix.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(!RunID.isWellFormed("20261125-091502-3F9A"))
        #expect(!RunID.isWellFormed("2026112-091502-3f9a"))
        let many = Set((0..<200).map { _ in RunID.generate(now: fixedStart) })
        #expect(many.count > 100, "the random suffix varies")
    }

    @Test func prefixResolution() throws {
        let dir = TempDir()
        let journal = try openJournal(dir)
        for id in ["20261125-091502-3f9a", "20261125-091502-3fa0", "20261126-101010-0001"] {
            try journal.createRun(makeRun(id: id))
        }
        #expect(try journal.resolveRunID(prefix: "20261126") == "20261126-101010-0001")
        #expect(try journal.resolveRunID(prefix: "20261125-091502-3f9") == "20261125-091502-3f9a")
        #expect(try journal.resolveRunID(prefix: "20261125-091502-3f9a") == "20261125-091502-3f9a")
        #expect(
            throws: JournalError.ambiguousRunID(
                prefix: "20261125-091502-3f",
                candidates: ["20261125-091502-3f9a", "20261125-091502-3fa0"])
        ) {
            try journal.resolveRunID(prefix: "20261125-091502-3f")
        }
        #expect(throws: JournalError.noRunMatches(prefix: "2027")) {
            try journal.resolveRunID(prefix: "2027")
        }
        #expect(throws: JournalError.noRunMatches(prefix: "")) {
            try journal.resolveRunID(prefix: "")
        }
        let message = JournalError.ambiguousRunID(prefix: "2026", candidates: ["a", "b"]).description
        #expect(message.contains("ambiguous") && message.contains("a, b"))
    }
}
