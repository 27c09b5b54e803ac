import Crypto
import Foundation

/// The SHA-256 that identifies a plan: over the runbook and inventory text, the params and
/// the probed facts. A saved plan whose hash no longer matches must not run.
public enum PlanHash {
    /// Secret values enter the hash only as their own SHA-256, so the plan file cannot leak them.
    public static func compute(
        runbookText: String, inventoryText: String, mode: String, params: [ResolvedParam], facts: [String: String]
    ) -> String {
        var hasher = SHA256()
        func feed(_ label: String, _ text: String) {
            hasher.update(data: Data("\(label)\u{0}\(text.utf8.count)\u{0}".utf8))
            hasher.update(data: Data(text.utf8))
        }
        feed("runbook", runbookText)
        feed("inventory", inventoryText)
        feed("mode", mode)
        for param in params.sorted(by: { $0.name < $1.name }) {
            let text = param.value.renderedForText
            feed("param:\(param.name)", param.secret ? hex(SHA256.hash(data: Data(text.utf8))) : text)
        }
        for key in facts.keys.sorted() { feed("fact:\(key)", facts[key]!) }
        return hex(hasher.finalize())
    }

    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
