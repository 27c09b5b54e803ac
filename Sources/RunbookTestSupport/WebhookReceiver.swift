import Foundation

/// A real HTTP server on loopback (Python's `http.server`) that records every POST it receives:
/// for the tests of webhook sinks. By path: `/hang...` never answers (it sleeps 60 s), `/fail...`
/// answers 500, anything else 200. Each request is recorded when it arrives, before the answer.
public final class WebhookReceiver: @unchecked Sendable {
    /// One request as it arrived.
    public struct Request: Sendable {
        public var path: String
        /// When it arrived (the receiver's clock: this machine's).
        public var at: Date
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: String

        /// The body's JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    static let script = """
        import http.server, json, sys, time
        log = open(sys.argv[1], "a")
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                record = {"path": self.path, "at": time.time(), "body": body,
                          "headers": {k.lower(): v for k, v in self.headers.items()}}
                log.write(json.dumps(record) + "\\n")
                log.flush()
                if self.path.startswith("/hang"):
                    time.sleep(60)
                    return
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if len(sys.argv) > 3:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    let process = Process()
    let log: String
    /// `http://127.0.0.1:PORT`.
    public let base: String

    /// Whether `python3` is there to serve (the tests skip saying so where it is not).
    public static var available: Bool {
        ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/python3")
        } ?? false
    }

    /// Starts the server with its script and log in `directory`; with `selfSignedTLS`, it speaks
    /// HTTPS with a certificate nobody signed (made with `openssl`), which a client that verifies
    /// must refuse.
    public init(directory: String, selfSignedTLS: Bool = false) throws {
        let script = directory + "/webhook_receiver.py"
        log = directory + "/webhooks.jsonl"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: log, contents: nil)
        var tls: [String] = []
        if selfSignedTLS {
            let (cert, key) = (directory + "/self-signed.crt", directory + "/self-signed.key")
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            openssl.arguments = [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
            ]
            openssl.standardOutput = FileHandle.nullDevice
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            while openssl.isRunning { usleep(20_000) }
            guard openssl.terminationStatus == 0 else {
                throw CocoaError(
                    .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl could not make a certificate"])
            }
            tls = [cert, key]
        }
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, log] + tls
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "the receiver did not start"])
        }
        base = (selfSignedTLS ? "https" : "http") + "://127.0.0.1:\(port)"
    }

    deinit { stop() }

    /// Kills the server (not waited for: Foundation reaps it; `waitUntilExit` would spin a test
    /// thread on its run loop).
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Every request received so far, in order.
    public var requests: [Request] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Request(
                path: object["path"] as? String ?? "", at: Date(timeIntervalSince1970: object["at"] as? Double ?? 0),
                headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "")
        }
    }

    /// A port on loopback where nothing listens (a sink that refuses).
    public static func refusingURL() -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        close(fd)
        return "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/refused"
    }
}
