import Crypto
import Foundation
import RunbookCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Formats and parses the journal's event timestamps: ISO-8601, UTC, millisecond precision.
///
/// Example: `2026-11-25T09:15:02.123Z`. Dates are truncated (not rounded) to the millisecond.
public enum JournalTimestamp: Sendable {
    /// Milliseconds since 1970 of `date`, truncated toward negative infinity.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// `date` truncated to whole milliseconds.
    public static func truncated(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    /// Formats `date` as `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC.
    public static func format(_ date: Date) -> String {
        format(milliseconds: milliseconds(date))
    }

    /// `2026-11-25T09:15:02Z`: ``format(_:)`` to the second, as people read it (reports, the
    /// lock's holder, a gate's deadline, a notification).
    public static func seconds(_ date: Date) -> String {
        String(format(date).prefix(19)) + "Z"
    }

    static func format(milliseconds ms: Int64) -> String {
        var seconds = ms / 1000
        var millis = ms % 1000
        if millis < 0 {
            millis += 1000
            seconds -= 1
        }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let year = Int(parts.tm_year) + 1900
        guard (0...9999).contains(year) else {
            return pad(year, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2) + "T"
                + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
                + "." + pad(Int(millis), 3) + "Z"
        }
        // The same text written digit by digit into one buffer: every journal write formats a few
        // timestamps, and the padded pieces joined with `+` were a dozen allocations each.
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var at = 0
            func put(_ value: Int, _ width: Int) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                var rest = value
                while divisor > 0 {
                    buffer[at] = UInt8(ascii: "0") + UInt8(rest / divisor)
                    rest %= divisor
                    divisor /= 10
                    at += 1
                }
            }
            func put(_ character: Unicode.Scalar) {
                buffer[at] = UInt8(character.value)
                at += 1
            }
            put(year, 4)
            put("-")
            put(Int(parts.tm_mon) + 1, 2)
            put("-")
            put(Int(parts.tm_mday), 2)
            put("T")
            put(Int(parts.tm_hour), 2)
            put(":")
            put(Int(parts.tm_min), 2)
            put(":")
            put(Int(parts.tm_sec), 2)
            put(".")
            put(Int(millis), 3)
            put("Z")
            return at
        }
    }

    /// `date` as GRDB stores a `Date` (`yyyy-MM-dd HH:mm:ss.SSS`, UTC, rounded to the
    /// millisecond), without the DateFormatter GRDB uses: what the writes of every step bind,
    /// the same text, so it reads back as the same `Date`.
    public static func stored(_ date: Date) -> String {
        let text = format(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
        return text.prefix(10) + " " + text.dropFirst(11).dropLast()
    }

    /// `stored(_:)` of an optional date.
    public static func stored(_ date: Date?) -> String? { date.map(stored) }

    /// Parses the format written by `format(_:)`; returns nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24,
            bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
            bytes[23] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let b = bytes[index]
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let millis = number(20..<23),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts))
        return Date(timeIntervalSince1970: Double(seconds * 1000 + Int64(millis)) / 1000)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

/// The hash chain that links a run's events.
///
/// `hash = hex(SHA-256(prevHash + "\n" + canonicalText))`, where `canonicalText` is the JSON array
/// `[runID, seq, ts, type, step, host, payloadJSON]` written without spaces, strings escaped as
/// Python's `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` does (`JSONString`'s
/// canonical spelling, whose bytes are fixed for this reason), `ts` formatted by
/// `JournalTimestamp.format`, and a missing step or host written as `null`. The first event's
/// `prevHash` is `genesisHash` (64 zeros). The format is meant to be re-checkable by other tools.
public enum EventChain: Sendable {
    /// The `prevHash` of a run's first event: 64 zeros.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The canonical text of an event's content, as hashed.
    public static func canonicalText(
        runID: String,
        seq: Int,
        ts: String,
        type: String,
        step: String?,
        host: String?,
        payloadJSON: String
    ) -> String {
        var out = "["
        out += JSONString.quoted(runID) + ","
        out += String(seq) + ","
        out += JSONString.quoted(ts) + ","
        out += JSONString.quoted(type) + ","
        out += (step.map { JSONString.quoted($0) } ?? "null") + ","
        out += (host.map { JSONString.quoted($0) } ?? "null") + ","
        out += JSONString.quoted(payloadJSON)
        out += "]"
        return out
    }

    /// The hex SHA-256 hash of `prevHash + "\n" + canonicalText`.
    public static func hash(prevHash: String, canonicalText: String) -> String {
        let digest = SHA256.hash(data: Data((prevHash + "\n" + canonicalText).utf8))
        return hexString(digest)
    }

    /// The hash an event should carry, computed from its fields.
    public static func expectedHash(of event: EventRecord) -> String {
        hash(
            prevHash: event.prevHash,
            canonicalText: canonicalText(
                runID: event.runID,
                seq: event.seq,
                ts: JournalTimestamp.format(event.ts),
                type: event.type,
                step: event.step,
                host: event.host,
                payloadJSON: event.payloadJSON
            )
        )
    }

    /// Canonical JSON for a string dictionary: keys sorted by UTF-8 bytes, no spaces.
    public static func canonicalPayload(_ payload: [String: String]) -> String {
        let keys = payload.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var out = "{"
        for (index, key) in keys.enumerated() {
            if index > 0 { out += "," }
            out += JSONString.quoted(key) + ":" + JSONString.quoted(payload[key] ?? "")
        }
        out += "}"
        return out
    }

    static func hexString<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let table = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The result of checking a run's event chain.
public enum ChainVerification: Sendable, Equatable, CustomStringConvertible {
    /// Every event links and hashes correctly.
    case ok(eventCount: Int)
    /// The first event (by seq) where the chain does not hold, and why.
    case broken(seq: Int, reason: ChainBreakReason)
    /// The events hold, but a row the run's resume or rollback acts on (its run row, a step, an
    /// attempt, an approval) does not match the digest written with it: e.g.
    /// `the steps row (nodeID "sync@b1")` (see `RowDigest`).
    case rowEdited(String)

    /// Whether the chain is intact.
    public var isOK: Bool {
        if case .ok = self { return true }
        return false
    }

    /// The first bad seq, or nil when the chain is intact.
    public var brokenSeq: Int? {
        if case .broken(let seq, _) = self { return seq }
        return nil
    }

    /// A one-line human-readable summary.
    public var description: String {
        switch self {
        case .ok(let count):
            return "chain ok (\(count) events)"
        case .broken(let seq, let reason):
            return "chain broken at seq \(seq): \(reason)"
        case .rowEdited(let row):
            return "chain broken: \(ChainVerification.rowEditedReason(row))"
        }
    }

    /// Why an edited row breaks the chain, in words.
    public static func rowEditedReason(_ row: String) -> String {
        "\(row) does not match the digest the journal wrote with it (it was changed outside runbook)"
    }
}

/// Why a chain check failed at some seq.
public enum ChainBreakReason: Sendable, Equatable, CustomStringConvertible {
    /// The stored hash does not match the event's content (the event was altered).
    case hashMismatch(stored: String, computed: String)
    /// The stored prevHash does not match the previous event's hash (an event was replaced or reordered).
    case prevHashMismatch(stored: String, expected: String)
    /// The event with this seq is missing (found a later one instead).
    case missing(foundSeq: Int)
    /// Events at and after this seq are missing: the run recorded a longer chain.
    case truncated(recordedLastSeq: Int)
    /// The run's recorded chain head (last seq and hash) does not match its last event.
    case headMismatch(recordedLastSeq: Int, recordedHash: String)
    /// The stored event could not be read back (e.g. a malformed timestamp).
    case unreadable(String)

    /// A one-line human-readable explanation.
    public var description: String {
        switch self {
        case .hashMismatch(let stored, let computed):
            return "content does not match its hash (stored \(stored.prefix(12))…, computed \(computed.prefix(12))…)"
        case .prevHashMismatch(let stored, let expected):
            return "prevHash \(stored.prefix(12))… does not match the previous event's hash \(expected.prefix(12))…"
        case .missing(let found):
            return "event missing (next stored event is seq \(found))"
        case .truncated(let last):
            return "event missing (the run recorded events up to seq \(last))"
        case .headMismatch(let last, let hash):
            return
                "the run recorded its last event as seq \(last) with hash \(hash.prefix(12))…, which the log does not end with"
        case .unreadable(let why):
            return "event unreadable: \(why)"
        }
    }
}
