import Foundation

/// A typed value produced by evaluating an expression.
///
/// Equality through `Hashable` is structural (`.int(1) != .double(1.0)`); the
/// expression language's `==` operator is looser and compares numbers by value.
public enum Value: Sendable, Hashable {
    /// The absence of a value.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number.
    case int(Int)
    /// A floating-point number.
    case double(Double)
    /// A piece of text.
    case string(String)
    /// A length of time, in seconds.
    case duration(Double)
    /// A point in time.
    case timestamp(Date)
    /// An ordered list of values.
    case list([Value])
    /// A map from names to values; rendered with its keys sorted.
    case map([String: Value])
    /// A value known only at run time (for example in an offline plan); it propagates through operators.
    case unknown

    /// The name of this value's type as used in error messages: `"null"`, `"bool"`, `"int"`,
    /// `"double"`, `"string"`, `"duration"`, `"timestamp"`, `"list"`, `"map"` or `"unknown"`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .duration: return "duration"
        case .timestamp: return "timestamp"
        case .list: return "list"
        case .map: return "map"
        case .unknown: return "unknown"
        }
    }

    /// Whether the value counts as true in `count`, `all`, `any` and `none`.
    ///
    /// `false`, `null`, `0`, `0.0`, a zero duration, `""`, `[]` and `{}` are falsy; so is
    /// `.unknown` (check for it first when that matters). Everything else is truthy.
    public var isTruthy: Bool {
        switch self {
        case .null, .unknown: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .duration(let d): return d != 0
        case .timestamp: return true
        case .list(let l): return !l.isEmpty
        case .map(let m): return !m.isEmpty
        }
    }

    /// How the value looks when interpolated into text.
    ///
    /// Strings are raw, numbers and booleans as written (`42`, `1.5`, `true`), `null` as
    /// `null`, durations like `1h30m`, timestamps as ISO-8601 UTC (`2024-01-02T10:00:00Z`,
    /// with milliseconds only when non-zero), lists and maps as JSON-like text with sorted
    /// keys (`["a", 1]`, `{"k": "v"}`), and `.unknown` as `<unknown>`.
    public var renderedForText: String {
        switch self {
        case .string(let s): return s
        default:
            var out = ""
            appendRendered(to: &out)
            return out
        }
    }

    private func appendRendered(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += String(d)
        case .string(let s): out += s
        case .duration(let d): out += Value.formatDuration(d)
        case .timestamp(let t): out += Value.formatTimestamp(t)
        case .unknown: out += "<unknown>"
        case .list, .map: appendJSONLike(to: &out)
        }
    }

    private func appendJSONLike(to out: inout String) {
        switch self {
        case .string(let s): Value.appendQuoted(s, to: &out)
        case .duration(let d): Value.appendQuoted(Value.formatDuration(d), to: &out)
        case .timestamp(let t): Value.appendQuoted(Value.formatTimestamp(t), to: &out)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                item.appendJSONLike(to: &out)
            }
            out += "]"
        case .map(let map):
            out += "{"
            for (i, key) in map.keys.sorted().enumerated() {
                if i > 0 { out += ", " }
                Value.appendQuoted(key, to: &out)
                out += ": "
                map[key]!.appendJSONLike(to: &out)
            }
            out += "}"
        default:
            appendRendered(to: &out)
        }
    }

    private static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        JSONString.append(s, to: &out)
        out += "\""
    }
}

// MARK: - Durations

extension Value {
    /// The longest duration a runbook, inventory or param may give: 30 days.
    ///
    /// Longer is a typo (`99999999999999999h`), and a sleep or deadline that long cannot be
    /// represented by the clock (Swift's `Duration` traps).
    public static let maxDuration: Double = 30 * 86_400

    /// `maxDuration` as written, `30d`, for messages.
    public static let maxDurationText = "30d"

    /// ``parseDuration(_:)`` for a value a runbook gives (a param, an action's parameter): nil
    /// also when it is longer than ``maxDuration``.
    public static func parseBoundedDuration(_ text: String) -> Double? {
        guard let seconds = parseDuration(text), seconds <= maxDuration else { return nil }
        return seconds
    }

    /// Parses a duration such as `90s`, `15m`, `2h`, `1h30m`, `500ms`, `1d` or `0s` into seconds.
    ///
    /// A duration is one or more `<digits><unit>` groups with units `d`, `h`, `m`, `s`, `ms`,
    /// each used at most once and from largest to smallest (`1h30m`, not `30m1h`).
    /// Numbers are whole (`1.5h` is rejected: write `1h30m`); there is no sign, no
    /// whitespace and units are lowercase. Returns `nil` for anything else, e.g.
    /// `"5 minutes"`, `""`, `"m5"`, `"1.5h"`, `"5"`.
    public static func parseDuration(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        var i = 0
        var total = 0.0
        var lastRank = -1
        while i < bytes.count {
            var number = 0
            let digitStart = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (times, o1) = number.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(Int(bytes[i] - 0x30))
                if o1 || o2 { return nil }
                number = plus
                i += 1
            }
            if i == digitStart || i == bytes.count { return nil }
            let rank: Int
            let factor: Double
            switch bytes[i] {
            case UInt8(ascii: "d"):
                rank = 0
                factor = 86_400
                i += 1
            case UInt8(ascii: "h"):
                rank = 1
                factor = 3_600
                i += 1
            case UInt8(ascii: "m"):
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                    rank = 4
                    factor = 0.001
                    i += 2
                } else {
                    rank = 2
                    factor = 60
                    i += 1
                }
            case UInt8(ascii: "s"):
                rank = 3
                factor = 1
                i += 1
            default: return nil
            }
            if rank <= lastRank { return nil }
            lastRank = rank
            total += Double(number) * factor
        }
        return total
    }

    /// Formats seconds as a compact duration: `5400` → `1h30m`, `90` → `1m30s`, `0.5` → `500ms`, `0` → `0s`.
    ///
    /// The value is rounded to whole milliseconds and uses the units `d`, `h`, `m`, `s`, `ms`;
    /// negative durations get a leading `-`. The output is accepted by ``parseDuration(_:)``
    /// (apart from the sign).
    public static func formatDuration(_ seconds: Double) -> String {
        let millis = (abs(seconds) * 1000).rounded()
        guard millis.isFinite, millis < 9.0e18 else { return "\(seconds)s" }
        var ms = Int64(millis)
        if ms == 0 { return "0s" }
        var out = seconds < 0 ? "-" : ""
        let units: [(Int64, String)] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")]
        for (size, name) in units {
            let n = ms / size
            if n > 0 {
                out += String(n) + name
                ms -= n * size
            }
        }
        return out
    }
}

// MARK: - Timestamps

extension Value {
    /// Parses an ISO-8601 timestamp (`2024-01-02T10:00:00Z`, optional fractional seconds,
    /// `Z` or a `+HH:MM` / `+HHMM` / `+HH` offset) or the GlusterFS form `2024-01-02 10:00:00`.
    ///
    /// A timestamp without a zone is taken as UTC. Returns `nil` for anything else
    /// (including a date without a time).
    public static func parseTimestamp(_ s: String) -> Date? {
        let b = Array(s.utf8)
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var n = 0
            for k in i..<(i + count) {
                let c = b[k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                n = n * 10 + Int(c - 0x30)
            }
            i += count
            return n
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")),
            let month = digits(2), expect(UInt8(ascii: "-")),
            let day = digits(2)
        else { return nil }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ") else {
            return nil
        }
        i += 1
        guard let hour = digits(2), expect(UInt8(ascii: ":")),
            let minute = digits(2), expect(UInt8(ascii: ":")),
            let second = digits(2)
        else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        var offsetSeconds = 0
        if i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") {
                i += 1
            } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                i += 1
                guard let oh = digits(2) else { return nil }
                var om = 0
                if i < b.count {
                    _ = expect(UInt8(ascii: ":"))
                    guard let m = digits(2) else { return nil }
                    om = m
                }
                guard oh <= 23, om <= 59 else { return nil }
                offsetSeconds = (oh * 3600 + om * 60) * (c == UInt8(ascii: "-") ? -1 : 1)
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let whole = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(whole) + fraction)
    }

    /// Formats a date as ISO-8601 UTC, e.g. `2024-01-02T10:00:00Z` (milliseconds added only when non-zero).
    public static func formatTimestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        guard t.isFinite, abs(t) < 1e15 else { return "\(t)" }
        var whole = Int(t.rounded(.down))
        var ms = Int(((t - Double(whole)) * 1000).rounded())
        if ms >= 1000 {
            whole += 1
            ms -= 1000
        }
        let days = whole >= 0 ? whole / 86_400 : -((-whole + 86_399) / 86_400)
        let secs = whole - days * 86_400
        let (y, m, d) = civilFromDays(days)
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        out += pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2)
        if ms != 0 { out += "." + pad(ms, 3) }
        return out + "Z"
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
