import GRDB

extension Journal {
    /// The schema migrations, applied in order when a journal is opened.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE runs (
                        id TEXT PRIMARY KEY NOT NULL,
                        runbookName TEXT NOT NULL,
                        runbookPath TEXT NOT NULL,
                        inventoryName TEXT NOT NULL,
                        inventoryPath TEXT NOT NULL,
                        mode TEXT NOT NULL,
                        paramsJSON TEXT NOT NULL,
                        planHash TEXT NOT NULL,
                        planJSON TEXT NOT NULL,
                        status TEXT NOT NULL,
                        exitCode INTEGER,
                        pid INTEGER NOT NULL,
                        hostname TEXT NOT NULL,
                        startedAt DATETIME NOT NULL,
                        updatedAt DATETIME NOT NULL,
                        finishedAt DATETIME,
                        chainHeadSeq INTEGER NOT NULL DEFAULT 0,
                        chainHeadHash TEXT NOT NULL
                            DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
                    );
                    CREATE INDEX runs_by_runbook ON runs (runbookName, inventoryName, startedAt);
                    CREATE INDEX runs_by_start ON runs (startedAt);

                    CREATE TABLE steps (
                        runID TEXT NOT NULL REFERENCES runs (id),
                        nodeID TEXT NOT NULL,
                        ordinal INTEGER NOT NULL,
                        stepID TEXT NOT NULL,
                        host TEXT,
                        state TEXT NOT NULL,
                        changed BOOLEAN NOT NULL DEFAULT 0,
                        completionSeq INTEGER,
                        observedJSON TEXT,
                        outputsJSON TEXT,
                        error TEXT,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        startedAt DATETIME,
                        finishedAt DATETIME,
                        firstReachedAt DATETIME,
                        PRIMARY KEY (runID, nodeID)
                    );
                    CREATE INDEX steps_by_ordinal ON steps (runID, ordinal);

                    CREATE TABLE attempts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        runID TEXT NOT NULL REFERENCES runs (id),
                        nodeID TEXT NOT NULL,
                        phase TEXT NOT NULL,
                        number INTEGER NOT NULL,
                        intent TEXT NOT NULL,
                        startedAt DATETIME NOT NULL,
                        finishedAt DATETIME,
                        outcome TEXT,
                        exitCode INTEGER,
                        stdoutExcerpt TEXT NOT NULL DEFAULT '',
                        stderrExcerpt TEXT NOT NULL DEFAULT '',
                        error TEXT
                    );
                    CREATE INDEX attempts_by_run ON attempts (runID, id);

                    CREATE TABLE approvals (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        runID TEXT NOT NULL REFERENCES runs (id),
                        gate TEXT NOT NULL,
                        "by" TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        planHash TEXT NOT NULL,
                        "at" DATETIME NOT NULL,
                        decision TEXT NOT NULL
                    );
                    CREATE INDEX approvals_by_gate ON approvals (runID, gate, id);

                    CREATE TABLE events (
                        runID TEXT NOT NULL REFERENCES runs (id),
                        seq INTEGER NOT NULL,
                        ts TEXT NOT NULL,
                        type TEXT NOT NULL,
                        step TEXT,
                        host TEXT,
                        payloadJSON TEXT NOT NULL,
                        prevHash TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        PRIMARY KEY (runID, seq)
                    );
                    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                    BEGIN
                        SELECT RAISE(ABORT, 'events are append-only: UPDATE refused');
                    END;
                    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                    BEGIN
                        SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
                    END;
                    """)
        }
        // What each attempt actually ran (host and argv), to compare with the plan.
        migrator.registerMigration("v2-attempt-commands") { db in
            try db.execute(sql: "ALTER TABLE attempts ADD COLUMN commandsJSON TEXT")
        }
        // Counters about the journal itself: `commits` counts write transactions (each one synced),
        // so a benchmark in another process can tell how many commits a run cost.
        migrator.registerMigration("v3-stats") { db in
            try db.execute(
                sql: """
                    CREATE TABLE stats (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                    INSERT INTO stats (name, value) VALUES ('commits', 0);
                    """)
        }
        // The next completion number of a run is its steps' MAX(completionSeq): without an index
        // that read every step of the run once per completed step.
        migrator.registerMigration("v4-completion-index") { db in
            try db.execute(sql: "CREATE INDEX steps_by_completion ON steps (runID, completionSeq)")
        }
        // The rows a resume or rollback acts on carry digests of their content, kept by triggers,
        // which `verifyChain` checks: the event chain alone let an edited run or step row pass.
        migrator.registerMigration("v5-row-digests") { db in
            try db.execute(sql: RowDigest.schema)
        }
        // Which alternative a `choose` took, journaled when it is decided: a rollback undoes that
        // one and a resume keeps to it (finding it again from the outputs it read was a guess).
        migrator.registerMigration("v6-chosen-alternative") { db in
            try db.execute(sql: RowDigest.chosenAlternativeSchema)
        }
        // Signed approvals (issue 24, item 2): the statement and SSH signature handed in, and the
        // principal and key fingerprint they verified for when recorded. The run verifies again.
        migrator.registerMigration("v7-signed-approvals") { db in
            try db.execute(sql: RowDigest.signedApprovalSchema)
        }
        return migrator
    }
}
