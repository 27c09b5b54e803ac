import Foundation
import RunbookCore

/// A plan saved by `runbook plan -o PLAN`: what it was made from and what it saw.
struct SavedPlan {
    var runbookPath: String
    var inventoryPath: String
    var mode: String
    var params: [String: String]
    var planHash: String
    var runbookSHA: String
    var inventorySHA: String
    var facts: [String: String]

    static func looksLikeSavedPlan(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 64), as: UTF8.self)
        return head.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{")
    }

    static func load(_ path: String) throws -> SavedPlan {
        guard let data = FileManager.default.contents(atPath: path),
            let document = try? PlanDocument.decode(data), let hash = document.planHash, !document.runbook.file.isEmpty
        else {
            Terminal.writeError("runbook: error: \(path) is not a plan saved with `runbook plan -o`\n")
            throw RunbookExit.usage
        }
        return SavedPlan(
            runbookPath: document.runbook.file, inventoryPath: document.inventory.file, mode: document.mode,
            params: document.commandLineParams, planHash: hash, runbookSHA: document.inputs?.runbookSHA256 ?? "",
            inventorySHA: document.inputs?.inventorySHA256 ?? "", facts: document.facts ?? [:])
    }

    /// What differs between this saved plan and the world now; empty when it may run.
    func drift(against inputs: RunInputs, facts: [String: String], planHash: String) -> [String] {
        var changes: [String] = []
        if RunInputs.sha256(inputs.runbookText) != runbookSHA {
            changes.append("the runbook \(inputs.runbookPath) changed")
        }
        if RunInputs.sha256(inputs.inventoryText) != inventorySHA {
            changes.append("the inventory \(inputs.inventoryPath) changed")
        }
        for key in Set(facts.keys).union(self.facts.keys).sorted() where facts[key] != self.facts[key] {
            changes.append(
                "\(key): was \(self.facts[key].map { "'\($0)'" } ?? "absent"), now \(facts[key].map { "'\($0)'" } ?? "absent")"
            )
        }
        if changes.isEmpty, planHash != self.planHash {
            changes.append(
                "the params or mode differ (plan hash \(self.planHash.prefix(12)) vs \(planHash.prefix(12)))")
        }
        return changes
    }
}
