import Foundation
import RunbookCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who holds (or held) a run lock, as written into the lock file.
public struct LockHolder: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The run this belongs to.
    public var runID: String
    /// The host name of the machine.
    public var hostname: String
    /// The process id.
    public var pid: Int32
    /// When it started.
    public var startedAt: Date
    /// The runbook of the run (nil in a lock file written before the lock was per inventory).
    public var runbook: String?

    /// Creates a holder description.
    public init(runID: String, hostname: String, pid: Int32, startedAt: Date, runbook: String? = nil) {
        self.runID = runID
        self.hostname = hostname
        self.pid = pid
        self.startedAt = startedAt
        self.runbook = runbook
    }

    /// Whether a process with this pid exists on this machine (it may be a reused pid).
    public var processExists: Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// `run <id> (runbook <r>), host <h>, pid <n>, started <ISO-8601>`.
    public var description: String {
        "run \(runID)\(runbook.map { " (runbook \($0))" } ?? ""), host \(hostname), pid \(pid), started \(LockHolder.formatDate(startedAt))"
    }

    static func formatDate(_ date: Date) -> String {
        JournalTimestamp.seconds(date)
    }

    static func encode(_ holder: LockHolder) -> Data {
        var text = "{"
        text += "\"runID\":" + JSONString.quoted(holder.runID) + ","
        text += "\"hostname\":" + JSONString.quoted(holder.hostname) + ","
        text += "\"pid\":" + String(holder.pid) + ","
        text += "\"startedAt\":" + JSONString.quoted(JournalTimestamp.format(holder.startedAt))
        if let runbook = holder.runbook { text += ",\"runbook\":" + JSONString.quoted(runbook) }
        text += "}\n"
        return Data(text.utf8)
    }

    static func decode(_ data: Data) -> LockHolder? {
        struct Raw: Decodable {
            var runID: String
            var hostname: String
            var pid: Int32
            var startedAt: String
            var runbook: String?
        }
        guard let raw = try? JSONDecoder().decode(Raw.self, from: data),
            let date = JournalTimestamp.parse(raw.startedAt)
        else { return nil }
        return LockHolder(runID: raw.runID, hostname: raw.hostname, pid: raw.pid, startedAt: date, runbook: raw.runbook)
    }
}

/// Thrown by `RunLock.acquire` when another live process holds the lock.
public struct LockHeldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The holder named in the lock file; nil if the holder has not written it (yet).
    public var holder: LockHolder?
    /// The runbook name.
    public var runbook: String
    /// The inventory name.
    public var inventory: String
    /// The lock file.
    public var path: String
    /// The holder's process is gone, but its run is parked or interrupted: it keeps the lock
    /// until it is resumed to its end or rolled back.
    public var kept: Bool

    /// Creates the error.
    public init(holder: LockHolder?, runbook: String, inventory: String, path: String, kept: Bool = false) {
        self.holder = holder
        self.runbook = runbook
        self.inventory = inventory
        self.path = path
        self.kept = kept
    }

    /// `another run holds the lock of inventory <inventory>: run … (runbook …), host …, pid …, started …`
    /// (`a parked or interrupted run holds ...` when `kept`).
    public var description: String {
        let who = holder.map(\.description) ?? "holder unknown (see \(path))"
        return
            "\(kept ? "a parked or interrupted run" : "another run") holds the lock of inventory \(inventory): \(who)"
    }
}

/// One run at a time per inventory (a site pair), whatever the runbook: an exclusive `flock` on a
/// file in `locks/`, so a failback cannot start while a failover of the same sites runs or waits.
///
/// The lock lives on an open file descriptor kept for the life of the run, so the kernel drops it
/// when the process dies, even by SIGKILL. The file names the holder (JSON), for error messages
/// and to notice a holder that died without releasing. A run that parks or is interrupted leaves
/// its name in the file (`keep`): `acquire` refuses another run while `stillHeld` says that run
/// is still parked or interrupted, and lets that run itself (its resume or rollback) take it.
public final class RunLock: Sendable {
    /// The lock file.
    public let path: String
    /// The runbook name.
    public let runbook: String
    /// The inventory name.
    public let inventory: String
    /// The previous holder named in the file when the lock was taken: it died without releasing
    /// (its pid is gone, or was reused by another process). The caller should warn.
    public let tookOverFrom: LockHolder?

    private struct State {
        var fd: Int32
        var holder: LockHolder
        /// Leave the holder in the file on release (the run parked or was interrupted).
        var keep = false
    }

    private let state: Mutex<State?>

    private init(
        path: String, runbook: String, inventory: String, fd: Int32, holder: LockHolder, tookOverFrom: LockHolder?
    ) {
        self.path = path
        self.runbook = runbook
        self.inventory = inventory
        self.tookOverFrom = tookOverFrom
        self.state = Mutex(State(fd: fd, holder: holder))
    }

    deinit {
        release()
    }

    /// Errors other than contention.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The lock file could not be opened, locked or written.
        case io(path: String, operation: String, errno: Int32)

        /// A one-line human-readable explanation.
        public var description: String {
            switch self {
            case .io(let path, let operation, let code):
                return "run lock \(path): \(operation) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The lock file path for an inventory: `<dir>/<inventory>.lock`.
    public static func lockPath(directory: String, inventory: String) -> String {
        StateDirectory.join(directory, StateDirectory.sanitize(inventory) + ".lock")
    }

    /// Takes the lock for the inventory without waiting, and writes the holder into the file.
    ///
    /// Throws `LockHeldError` if another open file description (another process, or another
    /// `RunLock` in this process) holds it, or if the file names another run for which
    /// `stillHeld` is true (a parked or interrupted run: `kept`); the file is left as it was.
    public static func acquire(
        directory: String,
        runbook: String,
        inventory: String,
        runID: String,
        now: Date = Date(),
        pid: Int32 = getpid(),
        hostname: String = RunLock.currentHostname(),
        stillHeld: (LockHolder) -> Bool = { _ in false }
    ) throws -> RunLock {
        try StateDirectory.makePrivateDirectory(directory, createParents: true)
        let path = lockPath(directory: directory, inventory: inventory)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.io(path: path, operation: "open", errno: errno) }
        var locked = false
        defer { if !locked { closeDescriptor(fd) } }

        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK || code == EAGAIN {
                throw LockHeldError(
                    holder: readHolderOfHeldLock(fd: fd),
                    runbook: runbook,
                    inventory: inventory,
                    path: path
                )
            }
            throw Failure.io(path: path, operation: "flock", errno: code)
        }
        // A holder still named in the file released nothing: it died (SIGKILL, crash, reboot), or
        // it parked or was interrupted and keeps the lock until it is resumed or rolled back.
        let previous = readHolder(fd: fd)
        if let previous, previous.runID != runID, stillHeld(previous) {
            _ = flock(fd, LOCK_UN)
            throw LockHeldError(holder: previous, runbook: runbook, inventory: inventory, path: path, kept: true)
        }
        locked = true
        let holder = LockHolder(runID: runID, hostname: hostname, pid: pid, startedAt: now, runbook: runbook)
        do {
            try writeHolder(holder, fd: fd, path: path)
        } catch {
            locked = false
            _ = flock(fd, LOCK_UN)
            throw error
        }
        return RunLock(
            path: path, runbook: runbook, inventory: inventory, fd: fd, holder: holder,
            tookOverFrom: previous
        )
    }

    /// The holder as currently written in the file, or nil once released.
    public var holder: LockHolder? {
        state.withLock { $0?.holder }
    }

    /// Whether this lock is still held.
    public var isHeld: Bool {
        state.withLock { $0 != nil }
    }

    /// Rewrites the holder with another run id (a resume continues an existing run).
    public func updateRunID(_ runID: String) throws {
        try state.withLock { current in
            guard var held = current else { return }
            held.holder.runID = runID
            try RunLock.writeHolder(held.holder, fd: held.fd, path: path)
            current = held
        }
    }

    /// Whether `release` (and the process's end) leaves the holder named in the file: true for a
    /// run that parked or was interrupted, so no other run starts on the inventory meanwhile.
    public func keep(_ keep: Bool) {
        state.withLock { $0?.keep = keep }
    }

    /// Clears the holder from the file (unless `keep`) and releases the lock. Safe to call more than once.
    public func release() {
        state.withLock { current in
            guard let held = current else { return }
            if !held.keep { _ = ftruncate(held.fd, 0) }
            _ = flock(held.fd, LOCK_UN)
            closeDescriptor(held.fd)
            current = nil
        }
    }

    /// This machine's host name.
    public static func currentHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - File contents

    static func readAll(fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
            offset += off_t(count)
            if data.count > 64 * 1024 { break }
        }
        return data
    }

    private static func readHolder(fd: Int32) -> LockHolder? {
        let data = readAll(fd: fd)
        return data.isEmpty ? nil : LockHolder.decode(data)
    }

    /// The holder of a lock held elsewhere; it writes the file just after locking, so allow it a moment.
    private static func readHolderOfHeldLock(fd: Int32) -> LockHolder? {
        for _ in 0..<20 {
            if let holder = readHolder(fd: fd) { return holder }
            usleep(10_000)
        }
        return nil
    }

    private static func writeHolder(_ holder: LockHolder, fd: Int32, path: String) throws {
        let data = LockHolder.encode(holder)
        guard ftruncate(fd, 0) == 0 else { throw Failure.io(path: path, operation: "truncate", errno: errno) }
        var written = 0
        try data.withUnsafeBytes { raw in
            while written < raw.count {
                let count = pwrite(fd, raw.baseAddress! + written, raw.count - written, off_t(written))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw Failure.io(path: path, operation: "write", errno: errno)
                }
                written += count
            }
        }
        _ = fsync(fd)
    }
}
