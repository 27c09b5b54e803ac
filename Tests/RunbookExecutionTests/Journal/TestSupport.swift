import Foundation
import RunbookCore

@testable import RunbookExecution

/// A fresh directory under the system temp dir, removed when the value is deinitialised.
final class TempDir: @unchecked Sendable {
    let path: String

    init(_ label: String = "journal") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/runbook-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A fixed instant with whole seconds (the journal stores dates at ms precision).
let fixedStart = Date(timeIntervalSince1970: 1_795_598_102)  // 2026-11-25T09:15:02Z

func makeRun(
    id: String,
    runbook: String = "georep-failover",
    inventory: String = "site-a-to-b",
    params: String = "{}",
    startedAt: Date = fixedStart
) -> RunRecord {
    RunRecord(
        id: id,
        runbookName: runbook,
        runbookPath: "/etc/runbook/\(runbook).yaml",
        inventoryName: inventory,
        inventoryPath: "/etc/runbook/\(inventory).yaml",
        mode: "run",
        paramsJSON: params,
        planHash: "sha256:abc",
        planJSON: #"{"nodes":["stop-session@gfs-a1"]}"#,
        status: .running,
        pid: 4242,
        hostname: "ops-1",
        startedAt: startedAt
    )
}

func openJournal(_ dir: TempDir, secrets: [String] = []) throws -> Journal {
    try Journal(path: dir.file("journal.sqlite"), redactor: Redactor(secrets: secrets))
}
