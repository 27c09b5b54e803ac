import Foundation
import RunbookCore

/// What one gluster command printed, with where it ran: the input of every parser.
public struct GlusterOutput: Sendable, Hashable {
    /// The command as a shell would show it, e.g. `/usr/sbin/gluster --mode=script --xml volume info gv0`.
    public var command: String
    /// The inventory name of the host it ran on.
    public var host: String
    /// Its exit status (nil when it was killed by a signal).
    public var exitCode: Int32?
    /// Standard output.
    public var stdout: String
    /// Standard error.
    public var stderr: String

    /// Creates an output record.
    public init(command: String, host: String, exitCode: Int32?, stdout: String, stderr: String = "") {
        self.command = command
        self.host = host
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Wraps a transport result.
    public init(command: CommandSpec, host: String, result: CommandResult) {
        self.init(
            command: command.shellText, host: host, exitCode: result.exitCode, stdout: result.stdout,
            stderr: result.stderr)
    }

    /// stdout and stderr together, stdout first, for messages and loose matching.
    public var combined: String {
        let out = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let err = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if out.isEmpty { return err }
        if err.isEmpty { return out }
        return out + "\n" + err
    }

    /// The first ~300 characters of what it printed, on one line, for error messages.
    public var start: String {
        let text = combined
        if text.isEmpty { return "(no output)" }
        let limit = 300
        let head = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return head.replacingOccurrences(of: "\n", with: "⏎")
    }
}

/// Why a gluster command or its output could not be used. Always names the command, the host
/// and shows the start of the output.
public struct GlusterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The category.
    public enum Kind: String, Sendable, Hashable {
        /// The command failed: non-zero exit, or `opRet` != 0 in its XML.
        case commandFailed
        /// It printed something the parser did not understand.
        case unparseable
        /// It worked, but the state it reports makes the step impossible (no such volume, ...).
        case unexpected
    }

    /// The category.
    public var kind: Kind
    /// The command as run.
    public var command: String
    /// Where it ran.
    public var host: String
    /// What went wrong, e.g. gluster's `opErrstr`.
    public var message: String
    /// The start of its output.
    public var outputStart: String

    /// Creates an error about one command's output.
    public init(_ kind: Kind, _ output: GlusterOutput, _ message: String) {
        self.kind = kind
        self.command = output.command
        self.host = output.host
        self.message = message
        self.outputStart = output.start
    }

    /// `` `CMD` on HOST failed: MESSAGE (output: "...") ``.
    public var description: String {
        let what: String
        switch kind {
        case .commandFailed: what = "failed"
        case .unparseable: what = "printed output that could not be parsed"
        case .unexpected: what = "reported an unexpected state"
        }
        return "`\(command)` on \(host) \(what): \(message) (output starts: \"\(outputStart)\")"
    }
}

/// The `opRet` / `opErrno` / `opErrstr` envelope of every `--xml` answer.
public struct GlusterEnvelope: Sendable, Hashable {
    /// 0 on success.
    public var opRet: Int
    /// An errno-like code.
    public var opErrno: Int
    /// gluster's message when it failed.
    public var opErrstr: String
    /// The `<cliOutput>` element, to read the payload from.
    public var root: XMLTree

    /// Whether gluster says it worked.
    public var succeeded: Bool { opRet == 0 }

    /// Parses the envelope of an `--xml` answer and fails when gluster reports an error.
    ///
    /// A non-zero exit with no XML is a failed command (its text is the message); XML whose
    /// `opRet` is not 0 is a failed command whose message is `opErrstr`; anything else that is
    /// not a `<cliOutput>` document is unparseable.
    public static func checked(_ output: GlusterOutput) throws -> GlusterEnvelope {
        let envelope = try parse(output)
        guard envelope.succeeded else {
            let text =
                envelope.opErrstr.isEmpty ? "opRet \(envelope.opRet), opErrno \(envelope.opErrno)" : envelope.opErrstr
            throw GlusterError(.commandFailed, output, text)
        }
        if let code = output.exitCode, code != 0 {
            throw GlusterError(.commandFailed, output, "exited \(code) although its XML says opRet 0")
        }
        return envelope
    }

    /// Parses the envelope without judging it (a failed `opRet` is returned, not thrown).
    public static func parse(_ output: GlusterOutput) throws -> GlusterEnvelope {
        let text = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("<"), let root = XMLTree.parse(text) else {
            if output.exitCode != 0 {
                let first = output.combined.split(separator: "\n").first.map(String.init) ?? "no output"
                let code = output.exitCode.map { "exited \($0)" } ?? "was killed"
                throw GlusterError(.commandFailed, output, "\(code): \(first)")
            }
            throw GlusterError(.unparseable, output, "expected gluster --xml output (<cliOutput>), got none")
        }
        guard root.name == "cliOutput" else {
            throw GlusterError(.unparseable, output, "expected a <cliOutput> document, got <\(root.name)>")
        }
        guard let retText = root.text("opRet"), let opRet = Int(retText) else {
            throw GlusterError(.unparseable, output, "<cliOutput> has no numeric <opRet>")
        }
        let opErrno = root.text("opErrno").flatMap { Int($0) } ?? 0
        return GlusterEnvelope(opRet: opRet, opErrno: opErrno, opErrstr: root.text("opErrstr") ?? "", root: root)
    }
}

/// Times as gluster's XML prints them: `YYYY-MM-DD HH:MM:SS`, always UTC; `N/A` when unknown.
public enum GlusterTime {
    /// The date, nil for `N/A`, `-` or empty; throws a message for anything else.
    public static func parse(_ text: String) throws(GlusterTimeError) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed == "N/A" || trimmed == "-" || trimmed == "0" { return nil }
        let parts = trimmed.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { throw GlusterTimeError(text: text) }
        let day = parts[0].split(separator: "-").compactMap { Int($0) }
        let clock = parts[1].split(separator: ":").compactMap { Int($0) }
        guard day.count == 3, clock.count == 3 else { throw GlusterTimeError(text: text) }
        var components = DateComponents()
        components.year = day[0]
        components.month = day[1]
        components.day = day[2]
        components.hour = clock[0]
        components.minute = clock[1]
        components.second = clock[2]
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { throw GlusterTimeError(text: text) }
        calendar.timeZone = utc
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else {
            throw GlusterTimeError(text: text)
        }
        return date
    }

    /// A config `checkpoint` value: seconds since the epoch; 0 means none is set.
    public static func epoch(_ text: String) -> Date? {
        guard let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), seconds > 0 else {
            return nil
        }
        return Date(timeIntervalSince1970: seconds)
    }
}

/// A time field gluster printed in a shape `GlusterTime` does not know.
public struct GlusterTimeError: Error, Sendable {
    /// The text that was not a time.
    public var text: String
}
