import Foundation

/// Paths of the package's own files, for tests that read examples or run the built binary.
public enum PackagePaths {
    /// The package root, found from this source file's path.
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The `runbook` executable next to the running test bundle.
    public static var runbookExecutable: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // macOS runs tests from inside an .xctest bundle.
        while directory.path.contains(".xctest") { directory = directory.deletingLastPathComponent() }
        return directory.appendingPathComponent("runbook")
    }
}

/// The result of running a program to completion.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a program with arguments and captures its output (for CLI tests).
public func runProgram(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil
) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let stdoutPipe = Pipe()
    let stderrPipe = Pipe()
    process.standardOutput = stdoutPipe
    process.standardError = stderrPipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes before waiting so a large output cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var out = Data()
    nonisolated(unsafe) var err = Data()
    group.enter()
    DispatchQueue.global().async {
        out = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        err = stderrPipe.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    group.wait()
    return ProcessOutput(
        status: exitStatus(of: process), stdout: String(decoding: out, as: UTF8.self),
        stderr: String(decoding: err, as: UTF8.self))
}

/// The exit status of a child whose output was read to its end. Foundation's `waitUntilExit`
/// waits for its own SIGCHLD monitor, which on Linux sometimes never sees the exit: the lab test
/// suite hung for 9 minutes on an `up.sh` that was a zombie (exited, never reaped). So the child
/// is reaped here with `waitpid`, unless Foundation already did (ECHILD), in which case its
/// status is read as before.
func exitStatus(of process: Process) -> Int32 {
    let pid = process.processIdentifier
    while true {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid {
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : signal
        }
        if reaped == -1 && errno != EINTR {
            process.waitUntilExit()
            return process.terminationStatus
        }
        usleep(10_000)
    }
}
