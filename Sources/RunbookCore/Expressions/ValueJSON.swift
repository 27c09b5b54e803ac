import Foundation

/// `Value`s to and from JSON text, for the journal and reports.
public enum ValueJSON {
    public static func object(_ value: Value) -> Any {
        switch value {
        case .null, .unknown: return NSNull()
        case .bool(let flag): return flag
        case .int(let number): return number
        case .double(let number): return number
        case .string(let text): return text
        case .duration, .timestamp: return value.renderedForText
        case .list(let items): return items.map(object)
        case .map(let entries): return entries.mapValues(object)
        }
    }

    public static func value(_ object: Any) -> Value {
        switch object {
        case is NSNull: return .null
        case let flag as Bool where type(of: object) == type(of: true) || "\(type(of: object))" == "__NSCFBoolean":
            return .bool(flag)
        case let number as Int: return .int(number)
        case let number as Double:
            return number == number.rounded() && abs(number) < 1e15 ? .int(Int(number)) : .double(number)
        case let text as String: return .string(text)
        case let items as [Any]: return .list(items.map(value))
        case let entries as [String: Any]: return .map(entries.mapValues(value))
        case let number as NSNumber: return .double(number.doubleValue)
        default: return .null
        }
    }

    /// A map of outputs as compact JSON with sorted keys.
    public static func encode(_ values: [String: Value]) -> String {
        let object = values.mapValues(self.object)
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(_ text: String?) -> [String: Value] {
        guard let text, let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object.mapValues(value)
    }
}
