import Foundation
import RunbookCore
import Testing

@testable import RunbookExecution

/// A journal written before the one JSON string escaper (Fixtures/journal-before-one-escaper.md
/// says how) still verifies: the chain and the row digests hash strings as `JSONString` spells
/// them, byte for byte as the code that wrote it did.
@Suite struct GoldenJournalTests {
    static let runID = "20261206-222533-2897"

    func goldenJournal(_ dir: TempDir) throws -> Journal {
        let fixture = try #require(
            Bundle.module.url(forResource: "Fixtures/journal-before-one-escaper", withExtension: "sqlite"),
            "fixture missing")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: dir.file("journal.sqlite"))
        return try openJournal(dir)
    }

    @Test func aJournalWrittenBeforeTheOneEscaperStillVerifies() throws {
        let dir = TempDir("golden")
        let journal = try goldenJournal(dir)
        #expect(try journal.runs().map(\.id) == [Self.runID])
        #expect(try journal.verifyChain(runID: Self.runID) == .ok(eventCount: 13))

        // What makes it golden: the hashed strings hold the characters the escapers spelled
        // differently, raw in the rows and escaped in the events' payloads.
        let events = try journal.events(runID: Self.runID)
        let payloads = events.map(\.payloadJSON).joined(separator: "\n")
        for spelled in [#"\b"#, #"\f"#, "\u{2028}", "\u{2029}", "\u{1F600}", #"\u001f"#, #"\u0001"#, "\u{7F}"] {
            #expect(payloads.contains(spelled), "no \(spelled.debugDescription) in the events")
        }
        let stdout = try journal.attempts(runID: Self.runID).map(\.stdoutExcerpt).joined()
        for raw in ["\u{08}", "\u{0C}", "\u{2028}", "\u{2029}", "\u{1F600}", "\u{01}", "\u{1F}", "\u{7F}", "\""] {
            #expect(stdout.contains(raw), "no \(raw.debugDescription) in the attempts")
        }
        let approval = try #require(try journal.approvals(runID: Self.runID).first)
        #expect(approval.by == "al\u{08}ice\u{1F600}")
        #expect(approval.reason == "CHG\u{0C}1\u{2029} \u{1F}\\\"")
        for event in events {
            #expect(EventChain.expectedHash(of: event) == event.hash, "seq \(event.seq)")
        }
    }
}
