import RunbookCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs commands on this machine, each in its own session and process group.
///
/// Behaviour a runbook step relies on:
/// - `argv[0]` without a `/` is looked up in `PATH` (the command's own `PATH`
///   if its environment sets one, else the inherited one). A program that is
///   not found gives exit code 127 and `runbook: NAME: command not found` on
///   stderr; one that is not executable gives 126, as a shell would. A
///   working directory that does not exist gives exit code 1 and
///   `runbook: cd: DIR: No such file or directory`. These are results, not
///   thrown errors, so the step fails with a readable reason.
/// - A timeout kills the whole process group (SIGTERM, 2 s, SIGKILL) and
///   returns a result with `timedOut == true`.
/// - Cancelling the calling task kills the group and throws
///   ``TransportError`` `.cancelled`.
/// - Output beyond `outputLimit` bytes per stream is dropped and flagged.
/// - When the command exits, anything it left running in its process group is
///   killed (see `ProcessRunner`).
public struct LocalTransport: Transport {
    /// The host this transport stands for (kind `.local`).
    public let host: HostConnection

    /// Creates a local transport; `host` is used for its name in messages.
    public init(host: HostConnection = .local()) {
        self.host = host
    }

    /// Runs `command` locally; see the type's documentation for the rules.
    public func run(_ command: CommandSpec, timeout: Double?, outputLimit: Int) async throws -> CommandResult {
        do {
            try Task.checkCancellation()
        } catch {
            throw TransportError(kind: .cancelled, host: host.name, message: "cancelled before start")
        }
        guard let program = command.argv.first, !program.isEmpty else {
            throw TransportError(kind: .launchFailed, host: host.name, message: "empty command")
        }
        if let dir = command.workingDirectory, !Self.isDirectory(dir) {
            return CommandResult(exitCode: 1, stderr: "runbook: cd: \(dir): No such file or directory\n")
        }
        let executable: String
        switch Self.resolve(program, environment: command.environment, workingDirectory: command.workingDirectory) {
        case .found(let path):
            executable = path
        case .notFound(let message):
            return CommandResult(exitCode: 127, stderr: "runbook: \(message)\n")
        case .notExecutable(let message):
            return CommandResult(exitCode: 126, stderr: "runbook: \(message)\n")
        }
        do {
            return try await ProcessRunner.run(
                executable: executable,
                arguments: Array(command.argv.dropFirst()),
                environment: command.environment,
                workingDirectory: command.workingDirectory,
                stdin: command.stdin,
                timeout: timeout,
                outputLimit: outputLimit
            )
        } catch {
            switch error {
            case .cancelled:
                throw TransportError(kind: .cancelled, host: host.name, message: "cancelled: \(program) was killed")
            case .launchFailed(let message, let code):
                // As a shell would: exec failures are exit 126/127 results, not errors.
                if code == ENOENT {
                    return CommandResult(exitCode: 127, stderr: "runbook: \(message)\n")
                }
                if code == EACCES || code == ENOEXEC || code == EISDIR || code == ETXTBSY {
                    return CommandResult(exitCode: 126, stderr: "runbook: \(message)\n")
                }
                if code == E2BIG {
                    let size = command.argv.reduce(0) { $0 + $1.utf8.count + 1 }
                    throw TransportError(
                        kind: .launchFailed, host: host.name,
                        message: "\(message): its \(command.argv.count) arguments are \(size) bytes, "
                            + "over the system's limit (128 KiB for one argument, ARG_MAX for all with the "
                            + "environment); "
                            + "pass a large value in a file instead")
                }
                throw TransportError(kind: .launchFailed, host: host.name, message: message)
            }
        }
    }

    /// Always reachable, latency 0.
    public func checkConnection() async -> ConnectionCheck {
        ConnectionCheck(reachable: true, latencyMs: 0, error: nil)
    }

    /// Nothing to close.
    public func close() async {}

    // MARK: - Executable lookup

    enum Resolution: Equatable {
        case found(String)
        case notFound(String)
        case notExecutable(String)
    }

    /// Finds the program the way `execvp` (and a shell) would.
    static func resolve(_ program: String, environment: [String: String], workingDirectory: String?) -> Resolution {
        if program.contains("/") {
            var path = program
            if !program.hasPrefix("/"), let dir = workingDirectory {
                path = dir.hasSuffix("/") ? dir + program : dir + "/" + program
            }
            if !path.hasPrefix("/"), let cwd = currentDirectory() {
                path = cwd + "/" + path
            }
            if !exists(path) {
                return .notFound("\(program): No such file or directory")
            }
            if isDirectory(path) || access(path, X_OK) != 0 {
                return .notExecutable("\(program): Permission denied")
            }
            return .found(path)
        }
        let searchPath =
            environment["PATH"] ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        var sawNonExecutable = false
        for var dir in searchPath.split(separator: ":", omittingEmptySubsequences: false).map(String.init) {
            if dir.isEmpty {
                dir = "."
            }
            let candidate = dir.hasSuffix("/") ? dir + program : dir + "/" + program
            guard exists(candidate), !isDirectory(candidate) else { continue }
            if access(candidate, X_OK) == 0 {
                if candidate.hasPrefix("/") {
                    return .found(candidate)
                }
                // A relative PATH entry: make it absolute against the current directory.
                if let cwd = currentDirectory() {
                    return .found(cwd + "/" + candidate)
                }
                return .found(candidate)
            }
            sawNonExecutable = true
        }
        if sawNonExecutable {
            return .notExecutable("\(program): Permission denied")
        }
        return .notFound("\(program): command not found")
    }

    private static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
