import Crypto
import Foundation
import RunbookCore
import RunbookExecution

/// The runbook and inventory of a run, as read, and the plan compiled from them: what the
/// controller journals (their hashes, the plan) and runs.
public struct RunDocuments: Sendable {
    /// As given (made absolute for the journal: ``absolute(_:)``).
    public var runbookPath: String
    public var runbookText: String
    public var inventoryPath: String
    public var inventoryText: String
    public var plan: Plan

    public init(runbookPath: String, runbookText: String, inventoryPath: String, inventoryText: String, plan: Plan) {
        self.runbookPath = runbookPath
        self.runbookText = runbookText
        self.inventoryPath = inventoryPath
        self.inventoryText = inventoryText
        self.plan = plan
    }

    public static func sha256(_ text: String) -> String { PlanHash.hex(SHA256.hash(data: Data(text.utf8))) }

    /// A path as given, made absolute against the working directory, for the journal: `resume`
    /// reads the runbook and inventory again from wherever it is started, and a timer runs the
    /// drill from its unit's WorkingDirectory with a relative path.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public func planHash(facts: [String: String]) -> String {
        PlanHash.compute(
            runbookText: runbookText, inventoryText: inventoryText, mode: plan.mode, params: plan.params, facts: facts)
    }

    /// The SHA-256 of the runbook and inventory text, as saved and journaled plans record them.
    public var documentInputs: PlanDocument.Inputs {
        PlanDocument.Inputs(runbookSHA256: Self.sha256(runbookText), inventorySHA256: Self.sha256(inventoryText))
    }

    /// What the journal keeps to resume the run: the plan document with the hashes of its inputs
    /// (secret params as `***`: resume reads them again from their environment).
    public func journalPlanJSON() -> String {
        var document = PlanDocument(plan: plan)
        document.inputs = documentInputs
        return String(decoding: document.encoded(redactor: plan.redactor, pretty: false), as: UTF8.self)
    }

    public func paramsJSON() -> String {
        var params: [String: String] = [:]
        for param in plan.params { params[param.name] = param.display }
        let data = (try? JSONSerialization.data(withJSONObject: params, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
