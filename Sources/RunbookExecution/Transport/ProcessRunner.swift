import Foundation
import RunbookCore
import Subprocess
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs one local process the way every transport needs it: own session, bounded
/// capture, timeout, cancellation, and no processes left behind.
///
/// Design:
/// - The child gets its own session and process group (`createSession`), so
///   the teardown sequence (SIGTERM to the group, 2 s grace, then SIGKILL to the
///   group) reaches grandchildren as well. After the child has been reaped the
///   group is sent SIGKILL once more, so a straggler that ignored SIGTERM (or
///   was left running in the background by a command that exited normally)
///   does not survive the step. Daemons that detach properly (`setsid`, as
///   `pg_ctl`, `ssh`'s ControlPersist master or `systemctl` do) are not in the
///   group and are not affected.
/// - Output is read as a stream (`.sequence`) and only the first `outputLimit`
///   bytes of each stream are kept; the rest is read and dropped, so the
///   command never blocks on a full pipe and still runs to completion. This
///   keeps memory bounded and needs no temporary files (which a runaway
///   command could use to fill the disk). `.string(limit:)` is not used because
///   it throws when the limit is exceeded.
/// - `keepStdinOpen` (used by ssh): stdin is a pipe that is not closed after
///   the text has been written, only when the process has exited.
/// - Stdin text is written by a separate task whose write errors are ignored:
///   a command that exits without reading its input is a normal result.
/// - Timeout: the run races a sleep; on timeout the run task is cancelled,
///   which makes swift-subprocess run the teardown sequence.
enum ProcessRunner {
    /// What the runner reports; the caller maps failures to ``TransportError``.
    enum Failure: Error {
        case cancelled
        case launchFailed(String, errno: Int32?)
    }

    /// Executes `executable` (an absolute or relative path, not looked up) and waits.
    static func run(
        executable: String,
        arguments: [String],
        environment: [String: String],
        workingDirectory: String?,
        stdin: String?,
        keepStdinOpen: Bool = false,
        timeout: Double?,
        outputLimit: Int
    ) async throws(Failure) -> CommandResult {
        ignoreSIGPIPE
        if Task.isCancelled {
            throw .cancelled
        }
        let clock = ContinuousClock()
        let start = clock.now
        let limit = max(0, outputLimit)
        let stdoutBox = CaptureBox(limit: limit)
        let stderrBox = CaptureBox(limit: limit)
        let pidBox = PidBox()

        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [
            .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))
        ]
        let configuration = Configuration(
            executable: .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: InheritedEnvironment.with(environment),
            workingDirectory: workingDirectory.map { FilePath($0) },
            platformOptions: options
        )

        enum Race: Sendable {
            case finished(TerminationStatus)
            case timedOut
        }

        let race: Result<(status: TerminationStatus?, timedOut: Bool), any Error> = await withTaskGroup(
            of: Result<Race, any Error>.self
        ) { group in
            group.addTask {
                do {
                    let status = try await execute(
                        configuration,
                        stdin: stdin,
                        keepStdinOpen: keepStdinOpen,
                        stdoutBox: stdoutBox,
                        stderrBox: stderrBox,
                        pidBox: pidBox
                    )
                    return .success(.finished(status))
                } catch {
                    return .failure(error)
                }
            }
            if let timeout {
                group.addTask {
                    do {
                        try await Task.sleep(for: .milliseconds(Int64(min(max(0, timeout), 1e9) * 1000)))
                        return .success(.timedOut)
                    } catch {
                        return .failure(CancellationError())
                    }
                }
            }
            guard let first = await group.next() else {
                return .failure(CancellationError())
            }
            switch first {
            case .success(.finished(let status)):
                group.cancelAll()
                return .success((status, false))
            case .success(.timedOut):
                group.cancelAll()
                // Wait for the run task: cancellation makes it tear the group down.
                var status: TerminationStatus? = nil
                while let next = await group.next() {
                    if case .success(.finished(let s)) = next {
                        status = s
                    }
                }
                return .success((status, true))
            case .failure(let error):
                group.cancelAll()
                // Either the run failed to launch, or the caller was cancelled
                // (the sleeper or the run saw it).
                var failure: any Error = error
                while let next = await group.next() {
                    if case .failure(let e) = next, failure is CancellationError {
                        failure = e
                    }
                }
                return .failure(failure)
            }
        }

        // Never leave anything from this command's process group behind.
        if let pid = pidBox.get() {
            _ = kill(-pid, SIGKILL)
        }

        let duration = (clock.now - start).seconds
        switch race {
        case .success(let outcome):
            if Task.isCancelled && !outcome.timedOut {
                // The caller was cancelled (and the command killed if it was still running).
                throw .cancelled
            }
            var result = CommandResult(exitCode: nil, duration: duration, timedOut: outcome.timedOut)
            switch outcome.status {
            case .exited(let code):
                result.exitCode = Int32(truncatingIfNeeded: code)
            case .signaled(let sig):
                result.signal = Int32(truncatingIfNeeded: sig)
            case nil:
                result.signal = SIGKILL
            }
            (result.stdout, result.stdoutTruncated) = stdoutBox.take()
            (result.stderr, result.stderrTruncated) = stderrBox.take()
            return result
        case .failure(let error):
            if Task.isCancelled || error is CancellationError {
                throw .cancelled
            }
            if let sub = error as? SubprocessError {
                let code = sub.underlyingError.map { $0.rawValue }
                let reason = code.map { String(cString: strerror($0)) } ?? "\(sub)"
                throw .launchFailed("\(executable): \(reason)", errno: code)
            }
            throw .launchFailed("\(executable): \(error)", errno: nil)
        }
    }

    private static func execute(
        _ configuration: Configuration,
        stdin: String?,
        keepStdinOpen: Bool,
        stdoutBox: CaptureBox,
        stderrBox: CaptureBox,
        pidBox: PidBox
    ) async throws -> TerminationStatus {
        if stdin != nil || keepStdinOpen {
            let result = try await Subprocess.run(
                configuration,
                input: .inputWriter,
                output: .sequence,
                error: .sequence
            ) { execution in
                pidBox.set(execution.processIdentifier.value)
                let writer = execution.standardInputWriter
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        if let stdin, !stdin.isEmpty {
                            _ = try? await writer.write(stdin)
                        }
                        // With keepStdinOpen the pipe stays open until the
                        // process has exited (run closes it then): the remote
                        // side reads its EOF as "the client went away".
                        if !keepStdinOpen {
                            try? await writer.finish()
                        }
                    }
                    group.addTask { await drain(execution.standardOutput, into: stdoutBox) }
                    group.addTask { await drain(execution.standardError, into: stderrBox) }
                }
            }
            return result.terminationStatus
        } else {
            let result = try await Subprocess.run(
                configuration,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                pidBox.set(execution.processIdentifier.value)
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await drain(execution.standardOutput, into: stdoutBox) }
                    group.addTask { await drain(execution.standardError, into: stderrBox) }
                }
            }
            return result.terminationStatus
        }
    }

    private static func drain(_ sequence: SubprocessOutputSequence, into box: CaptureBox) async {
        do {
            for try await buffer in sequence {
                buffer.withUnsafeBytes { box.append($0) }
            }
        } catch {
            // The stream ends with an error when the run is torn down; what was read is kept.
        }
    }

    private static let ignoreSIGPIPE: Void = {
        // Writing stdin to a command that has exited must be an EPIPE, not a crash.
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}

/// The child's pid (which is also its process group id), once spawned.
final class PidBox: Sendable {
    private let value = Mutex<pid_t?>(nil)

    func set(_ pid: pid_t) {
        value.withLock { $0 = pid }
    }

    func get() -> pid_t? {
        value.withLock { $0 }
    }
}

/// Keeps the first `limit` bytes written to it and remembers whether more came.
final class CaptureBox: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var truncated = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    func append(_ chunk: UnsafeRawBufferPointer) {
        guard !chunk.isEmpty else { return }
        state.withLock { s in
            let room = limit - s.bytes.count
            if room >= chunk.count {
                s.bytes.append(contentsOf: chunk)
            } else {
                if room > 0 {
                    s.bytes.append(contentsOf: chunk.prefix(room))
                }
                s.truncated = true
            }
        }
    }

    func take() -> (String, Bool) {
        state.withLock { s in
            (String(decoding: s.bytes, as: UTF8.self), s.truncated)
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}

/// This process's environment as the `NAME=value` rows a child inherits, read once and kept:
/// swift-subprocess's `.inherit` parses the environment into a dictionary and back for every
/// command, a quarter of what starting a local command cost. The one change `runbook` makes to
/// its own environment (`LeftoverCommands.mark`) calls `reload()`.
enum InheritedEnvironment {
    private static let rows = Mutex<[[UInt8]]?>(nil)

    /// Forgets the kept rows: the next command reads the environment again.
    static func reload() {
        rows.withLock { $0 = nil }
    }

    /// The environment a child gets: this process's, with `updates` added or replaced.
    static func with(_ updates: [String: String]) -> Environment {
        // Names swift-subprocess would refuse take its own path, so they fail as they did.
        if updates.keys.contains(where: { $0.isEmpty || $0.contains("=") || $0.contains("\0") }) {
            var keyed: [Environment.Key: String?] = [:]
            for (key, value) in updates { if let key = Environment.Key(rawValue: key) { keyed[key] = value } }
            return .inherit.updating(keyed)
        }
        let base = rows.withLock { kept -> [[UInt8]] in
            if let kept { return kept }
            let read = ProcessInfo.processInfo.environment.map { Array("\($0.key)=\($0.value)\0".utf8) }
            kept = read
            return read
        }
        guard !updates.isEmpty else { return .custom(base) }
        let replaced = updates.keys.map { Array("\($0)=".utf8) }
        var result = base.filter { row in !replaced.contains { row.starts(with: $0) } }
        for (key, value) in updates { result.append(Array("\(key)=\(value)\0".utf8)) }
        return .custom(result)
    }
}
