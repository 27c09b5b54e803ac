import Foundation

/// Run identifiers: `YYYYMMDD-HHMMSS-xxxx` (UTC start time plus 4 random hex digits).
public enum RunID: Sendable {
    /// Generates a new run id for a run starting at `now`, e.g. `20261125-091502-3f9a`.
    public static func generate(now: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(now: now, using: &generator)
    }

    /// Generates a run id using the given random number generator (for tests).
    public static func generate<G: RandomNumberGenerator>(now: Date, using generator: inout G) -> String {
        let iso = JournalTimestamp.format(now)  // 2026-11-25T09:15:02.123Z
        let chars = Array(iso)
        let date = String(chars[0..<4]) + String(chars[5..<7]) + String(chars[8..<10])
        let time = String(chars[11..<13]) + String(chars[14..<16]) + String(chars[17..<19])
        let random = UInt16.random(in: 0...UInt16.max, using: &generator)
        var hex = String(random, radix: 16)
        hex = String(repeating: "0", count: 4 - hex.count) + hex
        return "\(date)-\(time)-\(hex)"
    }

    /// Whether `text` has the shape of a generated run id.
    public static func isWellFormed(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[8] == UInt8(ascii: "-"), bytes[15] == UInt8(ascii: "-") else {
            return false
        }
        let digits = Array(bytes[0..<8]) + Array(bytes[9..<15])
        let isDigit = { (b: UInt8) in b >= 48 && b <= 57 }
        let isHex = { (b: UInt8) in isDigit(b) || (b >= 97 && b <= 102) }
        return digits.allSatisfy(isDigit) && bytes[16..<20].allSatisfy(isHex)
    }
}
