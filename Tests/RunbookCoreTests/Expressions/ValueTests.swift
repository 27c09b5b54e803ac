import Foundation
import Testing

@testable import RunbookCore

@Suite struct ValueTests {
    @Test(
        arguments: [
            ("90s", 90.0), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("500ms", 0.5), ("1d", 86_400),
            ("0s", 0), ("1d2h3m4s5ms", 93_784.005), ("1m30s", 90), ("10ms", 0.01), ("0ms", 0),
        ] as [(String, Double)])
    func parseDurationAccepts(_ text: String, _ seconds: Double) {
        #expect(Value.parseDuration(text) == seconds)
    }

    @Test(arguments: [
        "5 minutes", "", "m5", "1.5h", "5", "1h 30m", " 1h", "30m1h", "1m1m", "1H", "-5m", "1x", "1m5",
        "ms", "1hh", "99999999999999999999s",
    ])
    func parseDurationRejects(_ text: String) {
        #expect(Value.parseDuration(text) == nil)
    }

    @Test(
        arguments: [
            (5400.0, "1h30m"), (90, "1m30s"), (0.5, "500ms"), (0, "0s"), (86_400, "1d"), (90_061, "1d1h1m1s"),
            (1.5, "1s500ms"), (-90, "-1m30s"), (3600, "1h"), (0.0004, "0s"), (59.9999, "1m"),
        ] as [(Double, String)])
    func formatDuration(_ seconds: Double, _ text: String) {
        #expect(Value.formatDuration(seconds) == text)
    }

    @Test func formatDurationRoundTrips() {
        for seconds in [0.001, 1, 61, 3599, 3661.25, 86_401, 200_000] {
            #expect(Value.parseDuration(Value.formatDuration(seconds)) == seconds)
        }
    }

    @Test func parseTimestampForms() {
        let expected = Date(timeIntervalSince1970: 1_704_189_600)
        #expect(Value.parseTimestamp("2024-01-02T10:00:00Z") == expected)
        #expect(Value.parseTimestamp("2024-01-02 10:00:00") == expected)
        #expect(Value.parseTimestamp("2024-01-02T10:00:00") == expected)
        #expect(Value.parseTimestamp("2024-01-02T12:30:00+02:30") == expected)
        #expect(Value.parseTimestamp("2024-01-02T05:00:00-0500") == expected)
        #expect(Value.parseTimestamp("2024-01-02T10:00:00.250Z") == expected.addingTimeInterval(0.25))
        #expect(Value.parseTimestamp("1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(Value.parseTimestamp("2024-02-29 23:59:59") == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(Value.parseTimestamp("1969-12-31T23:59:59Z") == Date(timeIntervalSince1970: -1))
    }

    @Test(arguments: [
        "", "2024-01-02", "2024-1-02T10:00:00Z", "2024-13-02T10:00:00Z", "2023-02-29 10:00:00",
        "2024-01-02T24:00:00Z", "2024-01-02T10:00:00ZZ", "2024-01-02X10:00:00", "2024-01-02T10:00:00.Z",
        "yesterday", "2024-01-02T10:00:00+2", " 2024-01-02T10:00:00Z",
    ])
    func parseTimestampRejects(_ text: String) {
        #expect(Value.parseTimestamp(text) == nil)
    }

    @Test func typeNames() {
        let values: [Value] = [
            .null, .bool(true), .int(1), .double(1), .string(""), .duration(1), .timestamp(exprTestNow),
            .list([]), .map([:]), .unknown,
        ]
        #expect(
            values.map(\.typeName) == [
                "null", "bool", "int", "double", "string", "duration", "timestamp", "list", "map", "unknown",
            ])
    }

    @Test func truthiness() {
        let falsy: [Value] = [
            .bool(false), .null, .int(0), .double(0), .string(""), .list([]), .map([:]), .duration(0), .unknown,
        ]
        let truthy: [Value] = [
            .bool(true), .int(-1), .double(0.1), .string("0"), .list([.null]), .map(["a": .null]), .duration(1),
            .timestamp(exprTestNow),
        ]
        #expect(falsy.filter(\.isTruthy) == [])
        #expect(truthy.filter { !$0.isTruthy } == [])
    }

    @Test func renderedForText() {
        #expect(Value.string("raw 'text'").renderedForText == "raw 'text'")
        #expect(Value.int(42).renderedForText == "42")
        #expect(Value.double(1.5).renderedForText == "1.5")
        #expect(Value.bool(true).renderedForText == "true")
        #expect(Value.null.renderedForText == "null")
        #expect(Value.duration(5400).renderedForText == "1h30m")
        #expect(Value.timestamp(exprTestNow).renderedForText == "2024-01-02T10:00:00Z")
        #expect(Value.timestamp(exprTestNow.addingTimeInterval(0.5)).renderedForText == "2024-01-02T10:00:00.500Z")
        #expect(Value.timestamp(Date(timeIntervalSince1970: -1)).renderedForText == "1969-12-31T23:59:59Z")
        #expect(Value.unknown.renderedForText == "<unknown>")
        #expect(
            Value.list([.string("a\"b"), .int(1), .null, .duration(90), .list([])]).renderedForText
                == #"["a\"b", 1, null, "1m30s", []]"#)
        #expect(
            Value.map(["b": .int(2), "a": .map(["z": .bool(false)])]).renderedForText
                == #"{"a": {"z": false}, "b": 2}"#)
    }
}
