import Foundation
import GRDB
import RunbookCore
import Testing

@testable import RunbookExecution

#if canImport(Glibc)
    import Glibc
#endif

/// Creating the journal when several processes start at once.
@Suite struct JournalFirstUseTests {
    /// Eight openers at once on a new file, twenty times: each must get a journal with the whole
    /// schema. (Without the setup lock, about one round in three failed with "table runs already
    /// exists" or "database is locked".)
    @Test func concurrentFirstOpensAllSucceed() async throws {
        for round in 0..<20 {
            let dir = TempDir("first-use")
            let path = dir.file("journal.sqlite")
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do {
                            let journal = try Journal(path: path, redactor: Redactor(secrets: []))
                            _ = try journal.runs(limit: 1)
                            try journal.close()
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(failures.isEmpty, "round \(round): \(failures)")
            let applied = try await DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            }
            #expect(applied == ["v1", "v2-attempt-commands"], "round \(round)")
        }
    }
}
