import Foundation
import RunbookCore

/// Something that happened in a run: journaled (hash-chained) and shown to observers.
public struct RunEvent: Sendable {
    public var type: String
    public var step: String?
    public var host: String?
    public var fields: [String: String]
    public var ts: Date

    public init(_ type: String, step: String? = nil, host: String? = nil, fields: [String: String] = [:], ts: Date = Date()) {
        self.type = type
        self.step = step
        self.host = host
        self.fields = fields
        self.ts = ts
    }
}

/// Receives a run's events as they happen: progress display, `--events`, tests.
public protocol RunObserver: Sendable {
    func record(_ event: RunEvent, runID: String)
}

/// Several observers as one.
public struct ObserverList: RunObserver {
    public var observers: [any RunObserver]
    public init(_ observers: [any RunObserver]) { self.observers = observers }
    public func record(_ event: RunEvent, runID: String) {
        for observer in observers { observer.record(event, runID: runID) }
    }
}

/// Writes events as JSON lines: `{"v":1,"ts":...,"run":...,"type":...,"step":...,"host":...}`.
public final class JSONLinesEventWriter: RunObserver, @unchecked Sendable {
    private let handle: FileHandle
    private let redactor: Redactor
    private let lock = NSLock()
    private let closeOnDeinit: Bool

    /// `path` "-" is standard output.
    public init(path: String, redactor: Redactor) throws {
        self.redactor = redactor
        if path == "-" {
            handle = FileHandle.standardOutput
            closeOnDeinit = false
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let opened = FileHandle(forWritingAtPath: path) else {
                throw ExecutionError("cannot open the events file '\(path)' for writing; check the directory exists and is writable")
            }
            opened.seekToEndOfFile()
            handle = opened
            closeOnDeinit = true
        }
    }

    deinit { if closeOnDeinit { try? handle.close() } }

    public func record(_ event: RunEvent, runID: String) {
        var object: [String: Any] = ["v": 1, "ts": JournalTimestamp.format(event.ts), "run": runID, "type": event.type]
        if let step = event.step { object["step"] = step }
        if let host = event.host { object["host"] = host }
        for (key, value) in event.fields where object[key] == nil { object[key] = value }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        let line = redactor.redact(String(decoding: data, as: UTF8.self)) + "\n"
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data(line.utf8))
    }
}

/// An error of the execution layer that already says what to do.
public struct ExecutionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
