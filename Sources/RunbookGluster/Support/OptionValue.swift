import Foundation
import RunbookCore

/// Comparing option values the way gluster reads them: booleans in any spelling are equal.
enum OptionValue {
    static let truthy: Set<String> = ["on", "yes", "true", "enable", "enabled", "1"]
    static let falsy: Set<String> = ["off", "no", "false", "disable", "disabled", "0"]

    static func same(_ a: String, _ b: String) -> Bool {
        let x = a.trimmingCharacters(in: .whitespaces)
        let y = b.trimmingCharacters(in: .whitespaces)
        if x == y { return true }
        let lx = x.lowercased()
        let ly = y.lowercased()
        if truthy.contains(lx) && truthy.contains(ly) { return true }
        if falsy.contains(lx) && falsy.contains(ly) { return true }
        return false
    }
}
