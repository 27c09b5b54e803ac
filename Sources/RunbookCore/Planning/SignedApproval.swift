import Foundation

/// What a person signs to approve (or reject) a gate: canonical text, one field a line, so the
/// bytes signed are the bytes verified whoever writes them (no JSON key order, no whitespace
/// choices). Signed with `ssh-keygen -Y sign -n runbook-approval`.
///
///     runbook-approval v1
///     run: 20261207-120000-ab12
///     gate: promote
///     plan: sha256:...
///     decision: approve
///     reason: CHG-1234, checked with the DBA
///     at: 2026-12-07T20:40:00Z
public struct ApprovalStatement: Sendable, Hashable {
    /// The `ssh-keygen -Y` namespace: a signature made for anything else does not verify.
    public static let namespace = "runbook-approval"
    /// The first line, naming the format and its version.
    public static let header = "runbook-approval v1"

    /// Approve or reject, as the statement writes it.
    public enum Decision: String, Sendable, Hashable, CaseIterable {
        case approve, reject
    }

    public var runID: String
    public var gate: String
    public var planHash: String
    public var decision: Decision
    /// The reason, on one line (line breaks become spaces when it is made).
    public var reason: String
    /// When it was signed, to the second.
    public var at: Date

    /// Creates a statement; a reason's line breaks become spaces (the text is one field a line).
    public init(runID: String, gate: String, planHash: String, decision: Decision, reason: String, at: Date) {
        self.runID = runID
        self.gate = gate
        self.planHash = planHash
        self.decision = decision
        self.reason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.at = Date(timeIntervalSince1970: at.timeIntervalSince1970.rounded(.down))
    }

    /// The text that is signed, ending with a newline.
    public var text: String {
        [
            Self.header, "run: \(runID)", "gate: \(gate)", "plan: \(planHash)", "decision: \(decision.rawValue)",
            "reason: \(reason)", "at: \(Self.timestamp(at))",
        ].joined(separator: "\n") + "\n"
    }

    /// `2026-12-07T20:40:00Z`.
    public static func timestamp(_ date: Date) -> String {
        formatter().string(from: date)
    }

    /// An ISO 8601 formatter in UTC, to the second (one per use: it is not `Sendable`).
    static func formatter() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }

    /// Reads a statement's text back (exactly the lines ``text`` writes, in order).
    public init(parsing text: String) throws(SignedApproval.FormatError) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == Self.header else {
            throw .init("the statement does not start with `\(Self.header)`")
        }
        let keys = ["run", "gate", "plan", "decision", "reason", "at"]
        guard lines.count == keys.count + 1 else {
            throw .init(
                "the statement has \(lines.count) lines; a v1 statement has \(keys.count + 1): \(Self.header), then \(keys.joined(separator: ", "))"
            )
        }
        var values: [String] = []
        for (key, line) in zip(keys, lines.dropFirst()) {
            guard line.hasPrefix(key + ": ") || line == key + ":" else {
                throw .init("expected `\(key): ...` in the statement, got `\(line)`")
            }
            values.append(String(line.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces))
        }
        guard let decision = Decision(rawValue: values[3]) else {
            throw .init("decision must be approve or reject, got `\(values[3])`")
        }
        guard let at = Self.formatter().date(from: values[5]) else {
            throw .init("at must be a time like 2026-12-07T20:40:00Z, got `\(values[5])`")
        }
        self.init(runID: values[0], gate: values[1], planHash: values[2], decision: decision, reason: values[4], at: at)
    }
}

/// A signed approval as it travels: the statement's text and the armored SSH signature of it
/// (`runbook approve --sign KEY --output FILE` writes one; `runbook approve --file FILE` hands it in).
public struct SignedApproval: Sendable, Hashable {
    /// What is wrong with an approval file or statement.
    public struct FormatError: Error, Sendable, Hashable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public static let signatureBegin = "-----BEGIN SSH SIGNATURE-----"
    public static let signatureEnd = "-----END SSH SIGNATURE-----"

    /// The signed text, exactly.
    public var statementText: String
    /// The armored signature (`-----BEGIN SSH SIGNATURE-----` ... `-----END SSH SIGNATURE-----`).
    public var signature: String

    public init(statementText: String, signature: String) {
        self.statementText = statementText
        self.signature = signature
    }

    /// The statement, parsed.
    public func statement() throws(FormatError) -> ApprovalStatement {
        try ApprovalStatement(parsing: statementText)
    }

    /// The file: the statement, then the signature.
    public var fileText: String {
        statementText + signature.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
    }

    /// Reads an approval file: the statement's lines, then the armored signature.
    public init(file text: String) throws(FormatError) {
        guard let begin = text.range(of: Self.signatureBegin) else {
            throw FormatError(
                "it holds no SSH signature (no `\(Self.signatureBegin)` line); make it with `runbook approve RUN GATE --sign KEY --output FILE`"
            )
        }
        guard let end = text.range(of: Self.signatureEnd, range: begin.upperBound..<text.endIndex) else {
            throw FormatError("its SSH signature is cut off (no `\(Self.signatureEnd)` line)")
        }
        let statementText = String(text[..<begin.lowerBound])
        _ = try ApprovalStatement(parsing: statementText)
        self.init(statementText: statementText, signature: String(text[begin.lowerBound..<end.upperBound]) + "\n")
    }

    /// An allowed-signers path as the plan keeps it: absolute, a relative one read against the
    /// directory of `runbookFile` (pure: no file is read).
    public static func resolve(_ path: String, from runbookFile: String) -> String {
        if path.hasPrefix("/") { return path }
        let directory = URL(fileURLWithPath: runbookFile).deletingLastPathComponent()
        return directory.appendingPathComponent(path).standardizedFileURL.path
    }
}
