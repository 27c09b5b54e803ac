import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension RunLock {
    /// Whether the process driving run `runID` still holds its lock, read without writing or
    /// locking anything: true when a lock file in `directory` names the run and its `flock` is
    /// held, false when one names it and nobody holds it (the process died: the kernel dropped
    /// the lock, the file still names it), nil when no lock file names the run (it released
    /// its lock, or another run took the lock over) or the files cannot be read.
    ///
    /// A pid alone can mislead: after a crash or reboot it may belong to another process.
    public static func isHeld(directory: String, runID: String) -> Bool? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        for name in names.sorted() where name.hasSuffix(".lock") {
            let path = StateDirectory.join(directory, name)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { closeDescriptor(fd) }
            guard let holder = LockHolder.decode(readAll(fd: fd)), holder.runID == runID else { continue }
            return flockHeld(fd: fd)
        }
        return nil
    }

    /// Whether some process holds a `flock` on the file open as `fd`. On Linux `/proc/locks`
    /// says so without touching the lock; elsewhere a shared lock is tried (and let go at once).
    static func flockHeld(fd: Int32) -> Bool {
        var info = stat()
        if fstat(fd, &info) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) {
            let device = UInt64(info.st_dev)
            let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
            let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
            let file = String(format: "%02llx:%02llx:%llu", major, minor, UInt64(info.st_ino))
            // `3: FLOCK  ADVISORY  WRITE 13144 fe:00:16221214 0 EOF` (a waiter's line has `->`).
            return locks.split(separator: "\n").contains { line in
                let fields = line.split(separator: " ")
                return fields.count >= 6 && fields[1] == "FLOCK" && fields[5] == file
            }
        }
        while flock(fd, LOCK_SH | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            return errno == EWOULDBLOCK || errno == EAGAIN
        }
        _ = flock(fd, LOCK_UN)
        return false
    }
}
