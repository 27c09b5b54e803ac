import Crypto
import Foundation
import GRDB
import RunbookCore

/// The digests that cover the journal rows a resume or a rollback acts on: a run's row, its
/// steps, attempts and approvals.
///
/// The event chain covers only the events; these rows are updated in place, so they carry a digest
/// of their own content instead, set by triggers inside the write that changes the row (the SQL
/// function `runbook_row_digest`, registered on the journal's writer). `Journal.verifyChain`
/// recomputes them; a row changed behind the journal's back (with the triggers dropped, since an
/// `UPDATE` without the function fails) no longer matches and the run's chain reads as broken.
///
/// `digest = hex(SHA-256(kind + "\n" + value + "\n" + value ...))` over the named columns as
/// SQLite stores them: `null`, an integer or real in decimal, a text JSON-quoted, a blob as `x'hex'`.
/// A run's row has two: `contentDigest` over the columns set once when it is created (the plan
/// among them), and `stateDigest` over that digest and the columns a run changes (status, exit
/// code, owner, end), so a status change does not hash the plan again. `updatedAt` is not covered
/// (it moves with every commit and nothing decides on it); the chain head is checked against the
/// events.
enum RowDigest {
    /// The SQL function the triggers call: `runbook_row_digest(kind, value, ...)`.
    static let functionName = "runbook_row_digest"

    /// One covered set of columns of a table, and the column its digest is kept in.
    struct Coverage: Sendable {
        var table: String
        var kind: String
        var digestColumn: String
        var columns: [String]
        /// Where a row of this table is found again (for the message naming an edited row).
        var keyColumns: [String]
        /// Columns added after the table's digest was first kept: hashed after `columns`, and only
        /// when not null, so a row written before them keeps the digest it was given.
        var laterColumns: [String] = []

        /// Every covered column: `columns`, then `laterColumns`.
        var allColumns: [String] { columns + laterColumns }
    }

    static let runContent = Coverage(
        table: "runs", kind: "runs.content", digestColumn: "contentDigest",
        columns: [
            "id", "runbookName", "runbookPath", "inventoryName", "inventoryPath", "mode", "paramsJSON", "planHash",
            "planJSON", "startedAt",
        ],
        keyColumns: ["id"])
    static let runState = Coverage(
        table: "runs", kind: "runs.state", digestColumn: "stateDigest",
        columns: ["id", "contentDigest", "status", "exitCode", "pid", "hostname", "finishedAt"],
        keyColumns: ["id"])
    static let steps = Coverage(
        table: "steps", kind: "steps", digestColumn: "digest",
        columns: [
            "runID", "nodeID", "ordinal", "stepID", "host", "state", "changed", "completionSeq", "observedJSON",
            "outputsJSON", "error", "attempts", "startedAt", "finishedAt", "firstReachedAt",
        ],
        keyColumns: ["nodeID"], laterColumns: ["chosenAlternative"])
    static let attempts = Coverage(
        table: "attempts", kind: "attempts", digestColumn: "digest",
        columns: [
            "id", "runID", "nodeID", "phase", "number", "intent", "startedAt", "finishedAt", "outcome", "exitCode",
            "stdoutExcerpt", "stderrExcerpt", "error", "commandsJSON",
        ],
        keyColumns: ["id", "nodeID"])
    static let approvals = Coverage(
        table: "approvals", kind: "approvals", digestColumn: "digest",
        columns: ["id", "runID", "gate", "by", "reason", "planHash", "at", "decision"],
        keyColumns: ["id", "gate"], laterColumns: ["statement", "signature", "principal", "fingerprint"])

    /// How many values of each kind are always hashed (the rest are `laterColumns`).
    static let alwaysHashed = Dictionary(
        [runContent, runState, steps, attempts, approvals].map { ($0.kind, $0.columns.count) },
        uniquingKeysWith: { first, _ in first })

    /// The hex digest of `kind` and `values` (a later column's null is left out).
    static func digest(kind: String, _ values: [DatabaseValue]) -> String {
        var text = kind
        let always = alwaysHashed[kind] ?? values.count
        for (index, value) in values.enumerated() {
            if index >= always, value.isNull { continue }
            text += "\n"
            switch value.storage {
            case .null: text += "null"
            case .int64(let int): text += String(int)
            case .double(let double): text += String(double)
            case .string(let string): text += JSONString.quoted(string)
            case .blob(let data): text += "x'" + EventChain.hexString(data) + "'"
            }
        }
        return EventChain.hexString(SHA256.hash(data: Data(text.utf8)))
    }

    /// `runbook_row_digest(kind, value, ...)`, for the triggers.
    static let function = DatabaseFunction(functionName, pure: true) { arguments in
        guard let kind = arguments.first.flatMap(String.fromDatabaseValue) else { return nil }
        return digest(kind: kind, Array(arguments.dropFirst()))
    }

    /// The SQL call computing `coverage`'s digest of the row `row` (`NEW`, or a table name);
    /// with `later`, over its later columns too (once the table has them).
    static func call(_ coverage: Coverage, row: String, later: Bool = false) -> String {
        let values = (later ? coverage.allColumns : coverage.columns).map { "\(row).\"\($0)\"" }
        return "\(functionName)('\(coverage.kind)', \(values.joined(separator: ", ")))"
    }

    /// The triggers that keep the digests current, and the statements that set them on the rows a
    /// journal already holds when it gains them.
    static var schema: String {
        var sql = """
            ALTER TABLE runs ADD COLUMN contentDigest TEXT;
            ALTER TABLE runs ADD COLUMN stateDigest TEXT;
            ALTER TABLE steps ADD COLUMN digest TEXT;
            ALTER TABLE attempts ADD COLUMN digest TEXT;
            ALTER TABLE approvals ADD COLUMN digest TEXT;
            UPDATE runs SET contentDigest = \(call(runContent, row: "runs"));
            UPDATE runs SET stateDigest = \(call(runState, row: "runs"));

            """
        for coverage in [steps, attempts, approvals] {
            sql += "UPDATE \(coverage.table) SET digest = \(call(coverage, row: coverage.table));\n"
        }
        // A run: both digests when it is inserted; the state digest when what a run changes changes.
        let stateColumns = runState.columns.filter { $0 != "id" && $0 != "contentDigest" }
        sql += """
            CREATE TRIGGER runs_digest_insert AFTER INSERT ON runs BEGIN
                UPDATE runs SET contentDigest = \(call(runContent, row: "NEW")) WHERE id = NEW.id;
                UPDATE runs SET stateDigest = \(call(runState, row: "runs")) WHERE id = NEW.id;
            END;
            CREATE TRIGGER runs_digest_update AFTER UPDATE OF \(stateColumns.joined(separator: ", ")) ON runs BEGIN
                UPDATE runs SET stateDigest = \(call(runState, row: "runs")) WHERE id = NEW.id;
            END;

            """
        for coverage in [steps, attempts, approvals] { sql += triggers(coverage, later: false) }
        return sql
    }

    /// The triggers keeping `coverage`'s digest current (with `later`, over its later columns too).
    static func triggers(_ coverage: Coverage, later: Bool) -> String {
        let covered = (later ? coverage.allColumns : coverage.columns).map { "\"\($0)\"" }.joined(separator: ", ")
        var sql = ""
        for (event, of) in [("INSERT", ""), ("UPDATE", " OF \(covered)")] {
            sql += """
                CREATE TRIGGER \(coverage.table)_digest_\(event.lowercased()) AFTER \(event)\(of) ON \(coverage.table)
                BEGIN
                    UPDATE \(coverage.table) SET digest = \(call(coverage, row: "NEW", later: later)) WHERE rowid = NEW.rowid;
                END;

                """
        }
        return sql
    }

    /// The journal gains `steps.chosenAlternative`: the steps' triggers are made again to cover
    /// it (rows already written have it null, so their digests stand).
    static var chosenAlternativeSchema: String {
        """
        ALTER TABLE steps ADD COLUMN chosenAlternative INTEGER;
        DROP TRIGGER steps_digest_insert;
        DROP TRIGGER steps_digest_update;

        """ + triggers(steps, later: true)
    }

    /// The journal gains the signed approval's columns: the approvals' triggers are made again to
    /// cover them (rows already written have them null, so their digests stand).
    static var signedApprovalSchema: String {
        """
        ALTER TABLE approvals ADD COLUMN statement TEXT;
        ALTER TABLE approvals ADD COLUMN signature TEXT;
        ALTER TABLE approvals ADD COLUMN principal TEXT;
        ALTER TABLE approvals ADD COLUMN fingerprint TEXT;
        DROP TRIGGER approvals_digest_insert;
        DROP TRIGGER approvals_digest_update;

        """ + triggers(approvals, later: true)
    }

    /// The first row of `runID` in `coverage`'s table whose stored digest does not match its
    /// content, as a description of where it is; nil when every row matches.
    static func firstEdited(_ coverage: Coverage, runID: String, in db: Database) throws -> String? {
        let runColumn = coverage.table == "runs" ? "id" : "runID"
        let columns = (coverage.allColumns + coverage.keyColumns + [coverage.digestColumn])
            .map { "\"\($0)\"" }.joined(separator: ", ")
        let rows = try Row.fetchCursor(
            db, sql: "SELECT \(columns) FROM \(coverage.table) WHERE \(runColumn) = ? ORDER BY rowid",
            arguments: [runID])
        while let row = try rows.next() {
            let values = coverage.allColumns.map { row[$0] as DatabaseValue }
            let stored: String? = row[coverage.digestColumn]
            if stored != digest(kind: coverage.kind, values) {
                let key = coverage.keyColumns.map { "\($0) \(row[$0] as DatabaseValue)" }
                return "the \(coverage.table) row (\(key.joined(separator: ", ")))"
            }
        }
        return nil
    }
}
