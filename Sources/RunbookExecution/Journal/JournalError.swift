import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Errors raised by the journal itself (SQLite errors surface as GRDB's `DatabaseError`).
public enum JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No run has this id.
    case runNotFound(String)
    /// No run id starts with this prefix.
    case noRunMatches(prefix: String)
    /// Several run ids start with this prefix.
    case ambiguousRunID(prefix: String, candidates: [String])
    /// The attempt does not exist or was already finished.
    case attemptNotInFlight(Int64)
    /// A `JournalTransaction` was used after its `write` closure returned.
    case transactionEnded
    /// The file was written by a newer version of runbook (unknown migrations).
    case newerSchema(path: String)
    /// Stored data could not be interpreted.
    case corrupt(String)
    /// There is no journal file to open read-only.
    case missing(path: String)
    /// The lock that serializes creating the journal could not be taken.
    case cannotLock(path: String, errno: Int32)

    /// A one-line human-readable explanation.
    public var description: String {
        switch self {
        case .runNotFound(let id):
            return "no run with id \(id)"
        case .noRunMatches(let prefix):
            return prefix == "last" ? "no run yet" : "no run id starts with \"\(prefix)\""
        case .ambiguousRunID(let prefix, let candidates):
            return "run id prefix \"\(prefix)\" is ambiguous; it matches: " + candidates.joined(separator: ", ")
        case .attemptNotInFlight(let id):
            return "attempt \(id) does not exist or is already finished"
        case .transactionEnded:
            return "journal transaction used after its write closure returned"
        case .newerSchema(let path):
            return "journal \(path) was written by a newer version of runbook; refusing to use it"
        case .corrupt(let why):
            return "journal data is corrupt: \(why)"
        case .missing(let path):
            return "there is no journal at \(path)"
        case .cannotLock(let path, let code):
            return "cannot lock \(path) to set up the journal: \(String(cString: strerror(code)))"
        }
    }
}

extension Journal {
    /// What a failure to open or write the journal comes down to, for a message that says what
    /// to do (SQLite's codes stay inside this module).
    public enum FailureKind: Sendable, Equatable {
        /// No space left on the disk (SQLite's `SQLITE_FULL`).
        case diskFull
        /// The file, its directory or the file system is read-only, or not ours to write.
        case readOnly
        /// Another process held the database locked for longer than the busy timeout.
        case busy
        /// Anything else (not a database, corrupt, an I/O error).
        case other
    }

    /// The kind of `error`, thrown by `Journal.init` or a write.
    public static func failureKind(of error: any Error) -> FailureKind {
        guard let database = error as? DatabaseError else { return .other }
        switch database.resultCode {
        case .SQLITE_FULL: return .diskFull
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH: return .readOnly
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy
        default: return .other
        }
    }
}
