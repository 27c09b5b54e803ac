import Foundation
import RunbookTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 9's defects 3 to 7, as an operator or an attacker meets them: through the built binary.
@Suite struct HardeningTests {
    let binary = PackagePaths.runbookExecutable

    /// A scratch directory with its own state directory.
    struct Scratch {
        let root: String
        var state: String { root + "/state" }

        init() throws {
            root = FileManager.default.temporaryDirectory.path + "/runbook-hardening-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }

        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let path = root + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: root + "/" + name) }
    }

    func runbook(_ scratch: Scratch, _ arguments: [String], state: String? = nil) throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = state ?? scratch.state
        environment["NO_COLOR"] = "1"
        return try runProgram(binary, arguments, environment: environment, currentDirectory: PackagePaths.root)
    }

    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: local}
        defaults: {transport: local}
        hosts:
          here: {roles: [site]}
        """

    /// A runbook that holds its lock for a second, behind an approval gate given with --approve.
    static let slowRunbook = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: slow}
        steps:
          - id: go
            gate: {approval: {prompt: go?}}
            commit: true
          - id: wait
            needs: [go]
            action: shell
            with: {run: [sleep, "1"]}
            irreversible: true
        """

    // MARK: - Defect 7: a file that is not UTF-8

    @Test func validateGivesThePositionOfTheFirstByteThatIsNotUTF8() throws {
        let scratch = try Scratch()
        let path = scratch.root + "/latin1.yaml"
        let bytes =
            Array("apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: caf".utf8) + [0xE9]
            + Array("}\nsteps: []\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try runbook(scratch, ["validate", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path):3:21: error: the file is not UTF-8 text: 0xE9"), "\(result.stderr)")
    }
}
