import Foundation
import RunbookCore

/// The redactor the journal applies to every text before it is stored.
///
/// Besides each secret as given, it masks the secret's JSON-escaped spelling (a secret holding
/// `/`, `"`, `\` or control characters appears escaped inside JSON text such as `paramsJSON`),
/// so a secret cannot reach the file in either form.
struct StorageRedactor: Sendable {
    let base: Redactor
    private let effective: Redactor

    init(_ base: Redactor) {
        self.base = base
        var all = base.secrets
        for secret in base.secrets {
            for variant in StorageRedactor.jsonSpellings(of: secret) where variant != secret {
                all.append(variant)
            }
        }
        self.effective = Redactor(secrets: all)
    }

    func redact(_ text: String) -> String { effective.redact(text) }

    func redact(_ text: String?) -> String? { text.map { effective.redact($0) } }

    /// JSON text with its string values masked, keys and structure kept (see `Redactor.redactJSON`).
    func redactJSON(_ text: String) -> String { effective.redactJSON(text) }

    func redactJSON(_ text: String?) -> String? { text.map { effective.redactJSON($0) } }

    /// The secret as it would appear inside a JSON string, with and without `\/` escaping.
    static func jsonSpellings(of secret: String) -> [String] {
        let quoted = JSONString.quoted(secret)
        let inner = String(quoted.dropFirst().dropLast())
        let slashEscaped = inner.replacingOccurrences(of: "/", with: "\\/")
        return [inner, slashEscaped]
    }
}
