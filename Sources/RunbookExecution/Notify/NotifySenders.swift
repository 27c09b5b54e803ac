import Crypto
import Foundation
import RunbookCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One attempt to tell a sink: what answered, or why it failed.
public enum NotifyAttempt: Sendable, Equatable {
    case delivered(String)
    case failed(String)
    /// Failed in a way another attempt cannot mend (no such program): not retried.
    case cannotSend(String)
}

/// How a delivery attempt reaches a sink; the real ones are ``WebhookSender`` and
/// ``CommandSender``.
public protocol NotifySending: Sendable {
    /// Tries once, giving up after `timeout` seconds. `body` is the notification's JSON (secrets
    /// masked), `key` the sink's HMAC key when it has one.
    func attempt(
        _ notification: RunNotification, body: String, environment: [String: String], to sink: NotifySink,
        key: String?, timeout: Double
    ) async -> NotifyAttempt
}

/// The senders of the two sink kinds.
public struct NotifySenders: NotifySending {
    public init() {}

    public func attempt(
        _ notification: RunNotification, body: String, environment: [String: String], to sink: NotifySink,
        key: String?, timeout: Double
    ) async -> NotifyAttempt {
        switch sink.kind {
        case .webhook(let webhook):
            return await WebhookSender.post(
                body, event: notification.event.rawValue, to: webhook.url, key: key, timeout: timeout)
        case .command(let argv):
            return await CommandSender.run(argv, stdin: body, environment: environment, timeout: timeout)
        }
    }
}

/// Resolves with whichever comes first: `work`'s answer, or `timedOut` after `seconds`. The work
/// is then left to end on its own (each sender has its own timeout: a command is killed at it, a
/// request gives up), its answer dropped. It is not cancelled: cancelling an async
/// `URLSession.data(for:)` of swift-corelibs-foundation while the session fails that request
/// deadlocks (the task's status lock against the session's queue), which hung a test here.
func firstOf(seconds: Double, timedOut: NotifyAttempt, _ work: @escaping @Sendable () async -> NotifyAttempt) async
    -> NotifyAttempt
{
    await withCheckedContinuation { (continuation: CheckedContinuation<NotifyAttempt, Never>) in
        let once = Mutex(false)
        let resume: @Sendable (NotifyAttempt) -> Void = { answer in
            let first = once.withLock { done -> Bool in
                defer { done = true }
                return !done
            }
            if first { continuation.resume(returning: answer) }
        }
        Task { resume(await work()) }
        Task {
            try? await Task.sleep(for: .milliseconds(Int64(max(0, seconds) * 1000)))
            resume(timedOut)
        }
    }
}

/// A webhook: an HTTP POST of the JSON body, signed with HMAC-SHA256 when the sink has a key.
public enum WebhookSender {
    /// The header that carries `sha256=HEX`, the HMAC-SHA256 of the body under the sink's key.
    public static let signatureHeader = "X-Runbook-Signature"

    /// `sha256=` and the hex HMAC-SHA256 of `body` under `key`.
    public static func signature(of body: String, key: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        return URLSession(configuration: configuration)
    }()

    public static func post(_ body: String, event: String, to url: String, key: String?, timeout: Double) async
        -> NotifyAttempt
    {
        guard let target = URL(string: url) else { return .cannotSend("'\(url)' is not a URL") }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        // The caller's deadline answers first ("no answer within"); this only frees the connection.
        request.timeoutInterval = max(1, timeout) + 1
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("runbook", forHTTPHeaderField: "User-Agent")
        request.setValue(event, forHTTPHeaderField: "X-Runbook-Event")
        if let key { request.setValue(signature(of: body, key: key), forHTTPHeaderField: signatureHeader) }
        let sending = request
        return await firstOf(seconds: timeout, timedOut: .failed("no answer within \(Self.seconds(timeout))")) {
            do {
                let (data, response) = try await session.data(for: sending)
                guard let http = response as? HTTPURLResponse else { return .failed("not an HTTP answer") }
                if (200..<300).contains(http.statusCode) { return .delivered("HTTP \(http.statusCode)") }
                let text = String(decoding: data.prefix(200), as: UTF8.self)
                    .split(whereSeparator: \.isNewline).joined(separator: " ")
                return .failed("HTTP \(http.statusCode)\(text.isEmpty ? "" : ": \(text)")")
            } catch let error as URLError {
                return .failed(Self.describe(error))
            } catch {
                return .failed("\(error)")
            }
        }
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: return "connection refused"
        case .timedOut: return "timed out"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "TLS: the server's certificate was not accepted (\(error.localizedDescription))"
        case .cancelled: return "cancelled"
        default:
            // libcurl's own words, which FoundationNetworking maps to no specific code here.
            let said = error.localizedDescription
            if said.contains("SSL") || said.contains("certificate") {
                return "TLS: the server's certificate was not accepted (\(said))"
            }
            return said
        }
    }

    static func seconds(_ value: Double) -> String { Value.formatDuration(max(0, value.rounded())) }
}

/// A command: the program with the JSON body on its standard input and `RUNBOOK_*` variables
/// in its environment; exit 0 means delivered.
public enum CommandSender {
    public static func run(_ argv: [String], stdin: String, environment: [String: String], timeout: Double) async
        -> NotifyAttempt
    {
        guard let program = argv.first, let executable = resolve(program) else {
            return .cannotSend("\(argv.first ?? "(none)"): no such program (in PATH or as a path)")
        }
        do throws(ProcessRunner.Failure) {
            let result = try await ProcessRunner.run(
                executable: executable, arguments: Array(argv.dropFirst()), environment: environment,
                workingDirectory: nil, stdin: stdin, timeout: timeout, outputLimit: 4096)
            if result.timedOut { return .failed("no exit within \(WebhookSender.seconds(timeout)), killed") }
            if result.exitCode == 0 { return .delivered("exit 0") }
            let why = result.exitCode.map { "exit \($0)" } ?? "killed by signal \(result.signal ?? 0)"
            let said = result.stderr.split(whereSeparator: \.isNewline).suffix(2).joined(separator: " ")
            return .failed(said.isEmpty ? why : "\(why): \(String(said.prefix(300)))")
        } catch {
            switch error {
            case .cancelled: return .failed("cancelled")
            case .launchFailed(let message, _): return .cannotSend(message)
            }
        }
    }

    /// A program by path (absolute or relative to the working directory), else looked up in PATH.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
