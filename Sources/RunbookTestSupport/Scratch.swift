import Foundation
import RunbookCore
import RunbookExecution

/// A scratch directory for tests that spawn the built binary: its own state directory (`state/`)
/// and a work directory (`work/`), under the temporary directory.
public struct Scratch: Sendable {
    public let root: URL
    /// ``root`` as a path.
    public var path: String { root.path }
    public var state: String { root.appendingPathComponent("state").path }
    public var work: String { root.appendingPathComponent("work").path }

    /// Creates `runbook-NAME-XXXXXXXX` and its `work/`.
    public init(_ name: String = "run") throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "runbook-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            atPath: root.appendingPathComponent("work").path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` in the scratch directory; returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let path = root.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }

    /// The scratch state directory's journal.
    public func journal() throws -> Journal {
        try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
    }
}

/// The built `runbook` executable is missing (build before running the tests).
public struct MissingExecutableError: Error, CustomStringConvertible {
    public var description: String { "build the runbook executable first" }
}

/// Runs the built `runbook` from the package root with `scratch`'s state directory (or `state`)
/// and `NO_COLOR=1`, plus `extraEnvironment`.
public func runbook(
    _ scratch: Scratch, _ arguments: [String], state: String? = nil, extraEnvironment: [String: String] = [:]
) throws -> ProcessOutput {
    let binary = PackagePaths.runbookExecutable
    guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw MissingExecutableError() }
    var environment = ProcessInfo.processInfo.environment
    environment["RUNBOOK_STATE_DIR"] = state ?? scratch.state
    environment["NO_COLOR"] = "1"
    for (key, value) in extraEnvironment { environment[key] = value }
    return try runProgram(binary, arguments, environment: environment, currentDirectory: PackagePaths.root)
}
