import Foundation
import RunbookCore

/// Argument access that fails with a message naming the step, for the few values the compiler
/// cannot guarantee (required parameters are checked at validate time).
extension ActionContext {
    func required(_ name: String) throws -> String {
        guard let value = arguments.string(name), !value.isEmpty else {
            throw GlusterArgumentError(message: "step \(node.id) on \(host): `\(name)` is required")
        }
        return value
    }

    func flag(_ name: String, default value: Bool = false) -> Bool {
        arguments.bool(name)
            ?? (arguments.string(name).map { ["true", "yes", "on", "1"].contains($0.lowercased()) } ?? value)
    }
}

/// A step's arguments do not allow running it.
struct GlusterArgumentError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Shared checks on resolved arguments (values not yet known, `${{ ... }}`, are not checked).
enum ArgumentChecks {
    static func isUnknown(_ text: String) -> Bool { text.contains("${{") }

    static func volume(_ arguments: ResolvedArguments, _ name: String = "volume") -> [String] {
        guard let value = arguments.string(name), !isUnknown(value) else { return [] }
        if value.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) == nil {
            return ["`\(name)` '\(value)' is not a gluster volume name (letters, digits, _ . -)"]
        }
        return []
    }

    /// `host::vol` or `user@host::vol`; `host:vol` and `host:::vol` are rejected by gluster.
    static func secondary(_ arguments: ResolvedArguments) -> [String] {
        guard let value = arguments.string("secondary"), !isUnknown(value) else { return [] }
        let pattern = "^([A-Za-z0-9_.-]+@)?[^:@\\s]+::[A-Za-z0-9_.-]+$"
        if value.range(of: pattern, options: .regularExpression) == nil {
            return [
                "`secondary` '\(value)' must be HOST::VOLUME or USER@HOST::VOLUME (gluster rejects host:vol and host:::vol)"
            ]
        }
        return []
    }

    static func session(_ arguments: ResolvedArguments) -> [String] {
        volume(arguments, "primary") + secondary(arguments)
    }
}
