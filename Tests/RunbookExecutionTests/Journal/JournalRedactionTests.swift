import Foundation
import RunbookCore
import Testing

@testable import RunbookExecution

@Suite struct JournalRedactionTests {
    static let secret = "s3cr3t-token"

    /// Every file SQLite keeps for the journal, read raw.
    func rawBytes(of dir: TempDir) throws -> [(String, Data)] {
        try ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"].compactMap { name in
            let path = dir.file(name)
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return (name, try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    func contains(_ data: Data, _ text: String) -> Bool {
        data.range(of: Data(text.utf8)) != nil
    }

    @Test func secretNeverReachesTheFiles() throws {
        let dir = TempDir()
        let secret = Self.secret
        let journal = try openJournal(dir, secrets: [secret])
        let run = makeRun(id: "20261125-091502-5e5e", params: #"{"token":"\#(secret)","marker":"params-visible"}"#)
        try journal.createRun(run)
        let attempt = try journal.beginAttempt(
            runID: run.id, nodeID: "login@gfs-a1", phase: .apply, number: 1,
            intent: "curl -H 'Authorization: Bearer \(secret)' https://gfs-a1/api"
        )
        try journal.finishAttempt(
            id: attempt, outcome: AttemptOutcome.failed, exitCode: 22,
            stdout: "stdout-visible token=\(secret)\n", stderr: "denied for \(secret)",
            error: "login failed with \(secret)"
        )
        try journal.write { tx in
            try tx.upsertStep(
                StepRecord(
                    runID: run.id, nodeID: "login@gfs-a1", stepID: "login", host: "gfs-a1", state: .failed,
                    observedJSON: #"{"old":"\#(secret)"}"#, outputsJSON: #"{"token":"\#(secret)"}"#,
                    error: "step error \(secret)"
                ))
            try tx.appendEvent(
                runID: run.id, type: "step.finished", step: "login", host: "gfs-a1",
                payload: ["error": "boom \(secret)", secret: "as a key", "marker": "event-visible"]
            )
            try tx.recordApproval(
                ApprovalRecord(
                    runID: run.id, gate: "cutover", by: "alice", reason: "approved with \(secret)",
                    planHash: "sha256:abc", at: fixedStart, decision: .approved
                ))
        }

        // Read back: masked everywhere.
        #expect(try journal.run(id: run.id)?.paramsJSON == #"{"token":"***","marker":"params-visible"}"#)
        let stored = try #require(try journal.attempts(runID: run.id).first)
        #expect(stored.intent == "curl -H 'Authorization: Bearer ***' https://gfs-a1/api")
        #expect(stored.stdoutExcerpt == "stdout-visible token=***\n")
        #expect(stored.stderrExcerpt == "denied for ***")
        #expect(stored.error == "login failed with ***")
        let event = try #require(try journal.events(runID: run.id).first)
        #expect(event.payload == ["error": "boom ***", "***": "as a key", "marker": "event-visible"])
        #expect(try journal.verifyChain(runID: run.id).isOK)

        // Raw bytes of every file, before a checkpoint (the data is in the WAL) ...
        var files = try rawBytes(of: dir)
        #expect(files.contains { $0.0 == "journal.sqlite-wal" })
        #expect(files.contains { contains($0.1, "stdout-visible") }, "the scan must see the written text")
        for (name, data) in files {
            #expect(!contains(data, secret), "secret found in \(name)")
        }
        // ... and after a checkpoint and close (the data is in the main file).
        try journal.checkpoint()
        try journal.close()
        files = try rawBytes(of: dir)
        #expect(files.contains { $0.0 == "journal.sqlite" && contains($0.1, "event-visible") })
        for (name, data) in files {
            #expect(!contains(data, secret), "secret found in \(name) after checkpoint")
        }
    }

    @Test func jsonEscapedSecretIsMaskedToo() throws {
        let dir = TempDir()
        let secret = "pa/ss\"word"
        let journal = try openJournal(dir, secrets: [secret])
        // How JSONEncoder (which escapes "/") and other encoders would spell the secret in JSON.
        let params = #"{"a":"pa\/ss\"word","b":"pa/ss\"word"}"#
        try journal.createRun(makeRun(id: "r-escaped", params: params))
        #expect(try journal.run(id: "r-escaped")?.paramsJSON == #"{"a":"***","b":"***"}"#)
    }
}

@Suite struct RedactorTests {
    @Test func masksEveryOccurrenceLongestFirst() {
        let redactor = Redactor(secrets: ["abc", "abcdef", "", "xyz"])
        #expect(!redactor.isEmpty)
        #expect(redactor.redact("abcdef abc xyzxyz") == "*** *** ******")
        #expect(redactor.redact("nothing here") == "nothing here")
        #expect(Redactor(secrets: ["", ""]).isEmpty)
        #expect(Redactor(secrets: []).redact("abc") == "abc")
    }

    @Test func masksNextToMultiByteText() {
        let redactor = Redactor(secrets: ["tök"])
        #expect(redactor.redact("é-tök-é tök") == "é-***-é ***")
        // A secret followed by a combining mark is still a byte match.
        #expect(redactor.redact("tok\u{301}en") == "tok\u{301}en")
        #expect(Redactor(secrets: ["tok"]).redact("tok\u{301}en") == "***\u{301}en")
    }

    /// JSON text: string values are masked, keys, numbers and structure are not, and the result
    /// decodes (a one-letter secret must not break `\n` or `\u0078` escapes either).
    @Test func jsonTextIsMaskedInValuesOnly() throws {
        let redactor = Redactor(secrets: ["x", "n"])
        let text = #"{"max_value": 5, "exit" : ["line\nnext", "\u0078y", true], "ok": "clean"}"#
        let masked = redactor.redactJSON(text)
        #expect(masked == #"{"max_value": 5, "exit" : ["li***e\n***e***t", "***y", true], "ok": "clea***"}"#)
        let decoded = try #require(
            try JSONSerialization.jsonObject(with: Data(masked.utf8)) as? [String: Any])
        #expect(Set(decoded.keys) == ["max_value", "exit", "ok"])
        // Not JSON: masked as text.
        #expect(redactor.redactJSON("plain x") == "plai*** ***")
        #expect(Redactor.none.redactJSON(text) == text)
    }
}
