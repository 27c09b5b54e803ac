import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Commands a runbook process left running when it died.
///
/// Every command runs in its own session (so SIGINT/SIGTERM handling can stop its whole process
/// group), which also means a SIGKILL of `runbook` leaves the command it was running alive, and
/// still changing the world. A resume that re-probed the step at that moment would see "not done"
/// and apply it a second time. So the holder of a run lock marks its process environment with
/// ``variable`` = its run id (inherited by every command, their children, and the local `ssh`
/// client of a remote command, which lives as long as the remote command), and whoever takes the
/// lock over from a dead holder waits for the processes so marked to end before probing anything.
public enum LeftoverCommands {
    /// The environment variable naming the run a command belongs to.
    public static let variable = "RUNBOOK_RUN_ID"

    /// A live process of an earlier runbook process.
    public struct Leftover: Sendable, Equatable, CustomStringConvertible {
        public var pid: Int32
        public var command: String
        public var description: String { "pid \(pid): \(command)" }
    }

    /// Marks this process (and so every command it starts from now on) as belonging to `runID`.
    public static func mark(runID: String) {
        setenv(variable, runID, 1)
        InheritedEnvironment.reload()
    }

    /// Live processes, other than this one, marked as belonging to `runID`. An ssh ControlMaster
    /// (which renames itself `ssh: PATH [mux]`) is not a command and is not listed. Linux only
    /// (reads /proc); elsewhere always empty.
    public static func find(runID: String) -> [Leftover] {
        #if os(Linux)
            let marker = Array("\(variable)=\(runID)".utf8)
            let me = getpid()
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
            var found: [Leftover] = []
            for entry in entries {
                guard let pid = Int32(entry), pid != me,
                    let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                    environ.split(separator: 0, omittingEmptySubsequences: true).contains(where: {
                        $0.elementsEqual(marker)
                    })
                else { continue }
                let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") ?? Data()
                let command = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                if command.hasSuffix("[mux]") { continue }
                found.append(Leftover(pid: pid, command: command))
            }
            return found.sorted { $0.pid < $1.pid }
        #else
            return []
        #endif
    }

    /// Waits until no process is marked with `runID` (polling), at most `timeout` seconds.
    /// Returns what is still running then (empty when they all ended).
    public static func waitForExit(runID: String, timeout: Double, waiting: ([Leftover]) -> Void) -> [Leftover] {
        var left = find(runID: runID)
        if left.isEmpty { return [] }
        waiting(left)
        let deadline = Date().addingTimeInterval(timeout)
        while !left.isEmpty, Date() < deadline {
            usleep(20_000)
            left = find(runID: runID)
        }
        return left
    }
}
