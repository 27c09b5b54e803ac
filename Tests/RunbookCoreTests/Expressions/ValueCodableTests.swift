import Foundation
import RunbookCore
import Testing

/// `Value` in JSON through the plan document's encoder: each case and payload comes back exactly.
@Suite struct ValueCodableTests {
    @Test func valuesKeepTheirType() throws {
        let date = Date(timeIntervalSinceReferenceDate: 757_418_400.123_456_7)
        let values: [Value] = [
            .null, .bool(true), .bool(false), .int(0), .int(-42), .int(.max), .int(.min),
            .double(2), .double(-0.0), .double(0.1), .double(1e300), .double(-1.5e-300), .double(.infinity),
            .double(-.infinity), .string(""), .string("2"), .string("true"), .string("null"),
            .string("\"\\/\n\u{1}é"),
            .duration(0), .duration(90), .duration(5400.5), .duration(0.000_1), .duration(-3), .duration(1e20),
            .timestamp(Date(timeIntervalSince1970: 1_704_189_600)),
            .timestamp(Date(timeIntervalSince1970: 1_704_189_600.25)),
            .timestamp(date), .unknown, .list([]), .list([.int(1), .double(1), .string("1"), .duration(1)]),
            .map([:]), .map(["b": .int(1), "a": .list([.null, .unknown])]), .map(["$double": .int(1)]),
            .map(["$map": .map(["$unknown": .bool(true)])]), .map(["$x": .string("y"), "z": .null]),
        ]
        for value in values {
            let text = try StreamingJSONEncoder().encode(value)
            let decoded = try JSONDecoder().decode(Value.self, from: Data(text))
            #expect(decoded == value, "\(value) read back as \(decoded) from \(String(decoding: text, as: UTF8.self))")
            if case .double(let number) = value, case .double(let back) = decoded {
                #expect(number.bitPattern == back.bitPattern, "\(number) lost its sign or bits")
            }
        }
        let nan = try JSONDecoder().decode(Value.self, from: Data(StreamingJSONEncoder().encode(Value.double(.nan))))
        guard case .double(let number) = nan else {
            Issue.record("NaN read back as \(nan)")
            return
        }
        #expect(number.isNaN)

        // The forms people read.
        let forms: [(Value, String)] = [
            (.int(2), "2"), (.double(2), #"{"$double":2}"#), (.double(1.5), #"{"$double":1.5}"#),
            (.duration(5400), #"{"$duration":"1h30m"}"#), (.duration(0.000_1), #"{"$duration":0.0001}"#),
            (.timestamp(Date(timeIntervalSince1970: 1_704_189_600)), #"{"$timestamp":"2024-01-02T10:00:00Z"}"#),
            (.unknown, #"{"$unknown":true}"#), (.map(["$a": .int(1)]), #"{"$map":{"$a":1}}"#),
            (.map(["b": .int(1), "a": .int(2)]), #"{"a":2,"b":1}"#), (.string("a/b"), #""a/b""#),
        ]
        for (value, form) in forms {
            #expect(String(decoding: try StreamingJSONEncoder().encode(value), as: UTF8.self) == form)
        }
        // JSON from elsewhere (and plans of version 1): a plain number is an int when it is whole.
        #expect(
            try JSONDecoder().decode(Value.self, from: Data("[1, 1.5, 1.0, 1e2, \"30s\", null]".utf8))
                == .list([.int(1), .double(1.5), .int(1), .int(100), .string("30s"), .null]))
    }

    @Test func numbersJSONCannotSayAreRefused() {
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(["x": Double.infinity]) }
    }

    /// Synthesized conformances: nested containers, optionals, arrays of arrays, the same JSON
    /// (keys in the order they are encoded: `JSONEncoder` follows hash order, so compare values).
    @Test func theEncoderWritesSynthesizedCodableAsJSONEncoderDoes() throws {
        struct Inner: Codable, Equatable {
            var x: String
            var y: Bool?
            var z: [Int: String] = [3: "c"]
        }
        struct Outer: Codable, Equatable {
            var a = 1
            var b = ["p/q", "r\"s"]
            var c: Inner? = Inner(x: "é\u{7}", y: nil)
            var d: [[Int]] = [[], [1, -2]]
            var e = 0.25
            var f: Inner? = nil
            var g = [Inner(x: "", y: true)]
            var h: UInt8 = 255
            var i: Float = 1.5
        }
        for pretty in [false, true] {
            let streamed = Data(try StreamingJSONEncoder(pretty: pretty).encode(Outer()))
            #expect(try JSONDecoder().decode(Outer.self, from: streamed) == Outer())
            let mine = try JSONSerialization.jsonObject(with: streamed) as? NSDictionary
            let theirs = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Outer())) as? NSDictionary
            #expect(mine != nil && mine == theirs)
        }
        let text = String(decoding: try StreamingJSONEncoder().encode(Outer()), as: UTF8.self)
        #expect(text.hasPrefix(#"{"a":1,"b":["p/q","r\"s"],"c":{"x":"é\u0007","z":{"3":"c"}},"#))
        #expect(text.contains(#","d":[[],[1,-2]],"e":0.25,"#))
    }
}
