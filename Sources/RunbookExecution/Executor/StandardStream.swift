import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes to standard output or standard error where the reader may be gone: a closed pipe
/// (`runbook run ... | head -1`) or a terminal that hung up (a dropped SSH session).
///
/// Foundation's `FileHandle.write(_: Data)` ends the process (a `try!` inside it, SIGILL) when
/// the write fails; here a failed write means the output is gone, and the run goes on to its
/// end, journaled. SIGPIPE is ignored once, before the first write, so the write fails with
/// EPIPE instead of killing the process.
public enum StandardStream {
    case standardOutput
    case standardError

    var descriptor: Int32 { self == .standardOutput ? STDOUT_FILENO : STDERR_FILENO }

    /// Ignores SIGPIPE for the whole process (idempotent).
    public static func ignoreSIGPIPE() { _ = ignored }
    private static let ignored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Writes all of `text`, or as much as the reader takes; false when the output is gone.
    @discardableResult
    public func write(_ text: String) -> Bool { write(Data(text.utf8)) }

    @discardableResult
    public func write(_ data: Data) -> Bool {
        Self.ignoreSIGPIPE()
        return Self.write(data, to: descriptor)
    }

    /// Writes all of `data` to `descriptor`, retrying on EINTR and short writes; false when the
    /// descriptor refuses (EPIPE, EIO, EBADF ...).
    @discardableResult
    public static func write(_ data: Data, to descriptor: Int32) -> Bool {
        ignoreSIGPIPE()
        return data.withUnsafeBytes { buffer -> Bool in
            guard var pointer = buffer.baseAddress else { return true }
            var left = buffer.count
            while left > 0 {
                let written = systemWrite(descriptor, pointer, left)
                if written < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return false
                }
                left -= written
                pointer = pointer.advanced(by: written)
            }
            return true
        }
    }
}

/// `write(2)` (the method names above hide it).
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(descriptor, buffer, count)
    #else
        return Darwin.write(descriptor, buffer, count)
    #endif
}
