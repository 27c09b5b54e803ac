import Foundation
import GRDB
import Testing

@testable import RunbookExecution

/// The journal binds dates as text itself (GRDB's DateFormatter was a few percent of a run's CPU):
/// the text must be GRDB's, to the millisecond, so every date reads back as before.
@Suite struct StoredDateTests {
    @Test func storedDatesAreTheTextGRDBWrites() throws {
        let dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_795_598_102),
            Date(timeIntervalSince1970: 1_795_598_102.999_9), Date(timeIntervalSince1970: 1_795_598_102.000_4),
            Date(timeIntervalSince1970: 951_782_400.5),  // 2000-02-29
            Date(),
        ]
        for date in dates + (0..<1000).map({ Date(timeIntervalSince1970: 1_795_598_102 + Double($0) * 0.000_37) }) {
            let text = JournalTimestamp.stored(date)
            #expect(DatabaseValue(value: text) == date.databaseValue, "\(date.timeIntervalSince1970)")
            #expect(Date.fromDatabaseValue(text.databaseValue) == Date.fromDatabaseValue(date.databaseValue))
        }
    }
}
