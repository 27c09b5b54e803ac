import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The per-user directory holding runbook's journal, locks, ssh control sockets and run files.
///
/// Resolved from `$RUNBOOK_STATE_DIR`, else `$XDG_STATE_HOME/runbook`, else
/// `$HOME/.local/state/runbook`. The directory and its `locks/`, `ssh/` and `runs/`
/// subdirectories are created with mode 0700 (and tightened to 0700 if they exist).
public struct StateDirectory: Sendable, Equatable {
    /// The state directory itself (absolute or as given by `$RUNBOOK_STATE_DIR`).
    public let root: String

    /// Errors resolving or creating the state directory.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Neither RUNBOOK_STATE_DIR, XDG_STATE_HOME nor HOME is set.
        case noLocation
        /// A directory could not be created or secured.
        case cannotCreate(path: String, errno: Int32)
        /// The path exists but is not a directory.
        case notADirectory(path: String)

        /// A one-line human-readable explanation.
        public var description: String {
            switch self {
            case .noLocation:
                return "cannot locate the state directory: set RUNBOOK_STATE_DIR or HOME"
            case .cannotCreate(let path, let code):
                return "cannot create state directory \(path): \(String(cString: strerror(code)))"
            case .notADirectory(let path):
                return "state path \(path) exists and is not a directory"
            }
        }
    }

    /// Resolves the state directory from `environment` and creates it with its subdirectories.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let root = StateDirectory.resolve(environment: environment) else {
            throw Failure.noLocation
        }
        try self.init(root: root)
    }

    /// Uses `root` as the state directory, creating it and its subdirectories.
    public init(root: String) throws {
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        try StateDirectory.makePrivateDirectory(self.root, createParents: true)
        for sub in [lockDirectory, sshControlDirectory, runsDirectory] {
            try StateDirectory.makePrivateDirectory(sub, createParents: false)
        }
    }

    /// The state directory the environment selects, without creating or changing anything: for
    /// commands that only read (it may not exist; `journalPath` then names no file).
    public static func resolved(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> StateDirectory {
        guard let root = StateDirectory.resolve(environment: environment) else { throw Failure.noLocation }
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        var info = stat()
        if stat(trimmed, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR { throw Failure.notADirectory(path: trimmed) }
        return StateDirectory(unchecked: trimmed)
    }

    private init(unchecked root: String) {
        self.root = root
    }

    /// Bytes this user may still write on the file system holding the state directory (or its
    /// nearest existing parent); nil when that cannot be told.
    public var availableBytes: Int64? {
        var path = root
        var info = statvfs()
        while statvfs(path, &info) != 0 {
            let parent = (path as NSString).deletingLastPathComponent
            if parent == path || parent.isEmpty { return nil }
            path = parent
        }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Whether the file system holding the state directory is full: under 64 KiB left, less
    /// than SQLite needs to open its journal for writing.
    public var diskIsFull: Bool {
        (availableBytes ?? .max) < 64 * 1024
    }

    /// Says that the disk is full, where the state directory is, and what to free.
    public var diskFullMessage: String {
        let free = availableBytes.map { "\($0) bytes free" } ?? "no space left"
        return "the disk holding the state directory \(root) is full (\(free)); free space on it "
            + "(`df -h \(root)` shows the file system, `du -sh \(root)/*` what the journal and the runs' files take), "
            + "then try again"
    }

    /// The location the environment selects, without touching the file system; nil if none.
    public static func resolve(environment: [String: String]) -> String? {
        if let explicit = environment["RUNBOOK_STATE_DIR"], !explicit.isEmpty {
            return explicit
        }
        // The XDG spec says relative values are invalid and must be ignored.
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            return join(xdg, "runbook")
        }
        if let home = environment["HOME"], !home.isEmpty {
            return join(join(home, ".local/state"), "runbook")
        }
        return nil
    }

    /// The journal database: `journal.sqlite`.
    public var journalPath: String { Self.join(root, "journal.sqlite") }

    /// Where run locks live: `locks/`.
    public var lockDirectory: String { Self.join(root, "locks") }

    /// Where ssh control sockets live: `ssh/` (keep it short: socket paths are limited to 107 bytes).
    public var sshControlDirectory: String { Self.join(root, "ssh") }

    /// The parent of the per-run directories: `runs/`.
    public var runsDirectory: String { Self.join(root, "runs") }

    /// The directory for one run's files, `runs/<runID>` (not created; see `ensureRunDirectory`).
    public func runDirectory(_ runID: String) -> String {
        Self.join(runsDirectory, Self.sanitize(runID))
    }

    /// Creates (mode 0700) and returns the directory for one run's files.
    @discardableResult
    public func ensureRunDirectory(_ runID: String) throws -> String {
        let path = runDirectory(runID)
        try Self.makePrivateDirectory(path, createParents: false)
        return path
    }

    /// Replaces every character outside `[A-Za-z0-9._-]` with `_` (and a leading `.` too).
    public static func sanitize(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-":
                out.unicodeScalars.append(scalar)
            default:
                out += "_"
            }
        }
        if out.isEmpty { return "_" }
        if out.hasPrefix(".") { out = "_" + out.dropFirst() }
        return out
    }

    static func join(_ base: String, _ component: String) -> String {
        base.hasSuffix("/") ? base + component : base + "/" + component
    }

    static func makePrivateDirectory(_ path: String, createParents: Bool) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Failure.notADirectory(path: path) }
        } else {
            if createParents {
                let parent = (path as NSString).deletingLastPathComponent
                if !parent.isEmpty, parent != path {
                    do {
                        try FileManager.default.createDirectory(
                            atPath: parent, withIntermediateDirectories: true
                        )
                    } catch {
                        throw Failure.cannotCreate(path: parent, errno: errno == 0 ? EIO : errno)
                    }
                }
            }
            if mkdir(path, 0o700) != 0, errno != EEXIST {
                throw Failure.cannotCreate(path: path, errno: errno)
            }
        }
        if chmod(path, 0o700) != 0 {
            throw Failure.cannotCreate(path: path, errno: errno)
        }
    }
}
