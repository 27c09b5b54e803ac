import Foundation
import RunbookCore

/// Signs and verifies approval statements with OpenSSH's own `ssh-keygen -Y` (namespace
/// `runbook-approval`, ``ApprovalStatement/namespace``): the one place that runs it.
///
/// Verifying is two calls: `-Y find-principals` names the principal of the allowed-signers file
/// whose key made the signature (none: the key is not allowed), then `-Y verify -I PRINCIPAL`
/// checks the signature over the statement's bytes and prints the key's fingerprint
/// (`SHA256:...`, as `ssh-keygen -l` prints it).
public struct SSHSignatures: Sendable {
    /// The `ssh-keygen` to run.
    public var executable: String

    public init(executable: String = SSHSignatures.defaultExecutable) {
        self.executable = executable
    }

    /// `/usr/bin/ssh-keygen` where it is, otherwise the first `ssh-keygen` on `$PATH`.
    public static var defaultExecutable: String {
        CommandSender.resolve("/usr/bin/ssh-keygen") ?? CommandSender.resolve("ssh-keygen") ?? "/usr/bin/ssh-keygen"
    }

    /// Why signing failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Signs `statement` with the private key `keyFile` (or a public key whose private half is in
    /// the ssh-agent); returns the armored signature.
    public func sign(_ statement: ApprovalStatement, keyFile: String) async throws -> String {
        guard FileManager.default.fileExists(atPath: keyFile) else {
            throw Failure(
                message: "no key file \(keyFile): give the private key (or its .pub with the key in ssh-agent)")
        }
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/statement"
        try Data(statement.text.utf8).write(to: URL(fileURLWithPath: file))
        let result = try await run(["-Y", "sign", "-f", keyFile, "-n", ApprovalStatement.namespace, file], stdin: nil)
        guard result.exitCode == 0, let signature = try? String(contentsOfFile: file + ".sig", encoding: .utf8) else {
            throw Failure(
                message:
                    "ssh-keygen -Y sign with \(keyFile) failed (exit \(result.exitCode.map(String.init) ?? "signal")): \(Self.firstLine(result.stderr)); a key with a passphrase must be in ssh-agent"
            )
        }
        return signature
    }

    /// Checks `approval`'s signature against the allowed-signers file `allowedSigners`.
    public func verify(_ approval: SignedApproval, allowedSigners: String) async -> SignedApprovalRules.Verification {
        guard FileManager.default.isReadableFile(atPath: allowedSigners) else {
            return .badSignature("the allowed_signers file \(allowedSigners) cannot be read")
        }
        do {
            let directory = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let signature = directory + "/statement.sig"
            try Data(approval.signature.utf8).write(to: URL(fileURLWithPath: signature))
            let found = try await run(["-Y", "find-principals", "-s", signature, "-f", allowedSigners], stdin: nil)
            guard found.exitCode == 0,
                let principal = found.stdout.split(whereSeparator: \.isNewline).first.map(String.init)
            else {
                let key = try await fingerprint(signature: signature, statement: approval.statementText)
                return .badSignature(
                    "the signing key\(key.map { " \($0)" } ?? "") is not in the allowed signers \(allowedSigners)")
            }
            let verified = try await run(
                [
                    "-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", ApprovalStatement.namespace, "-s",
                    signature,
                ], stdin: approval.statementText)
            guard verified.exitCode == 0, let key = Self.fingerprint(in: verified.stdout + verified.stderr) else {
                return .badSignature(
                    "the signature of \(principal) does not match the statement (was it altered after signing?): \(Self.firstLine(verified.stderr + verified.stdout))"
                )
            }
            return .verified(principal: principal, fingerprint: key)
        } catch {
            return .badSignature("ssh-keygen could not check it: \(error)")
        }
    }

    /// The fingerprint of the key that made `signature` over `statement`, whoever it is.
    func fingerprint(signature: String, statement: String) async throws -> String? {
        let result = try await run(
            ["-Y", "check-novalidate", "-n", ApprovalStatement.namespace, "-s", signature], stdin: statement)
        return result.exitCode == 0 ? Self.fingerprint(in: result.stdout + result.stderr) : nil
    }

    /// `SHA256:...` in ssh-keygen's `Good "..." signature ... with ED25519 key SHA256:...`.
    static func fingerprint(in output: String) -> String? {
        guard let range = output.range(of: "SHA256:") else { return nil }
        return String(output[range.lowerBound...].prefix { !$0.isWhitespace })
    }

    static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "(no output)"
    }

    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "runbook-approval-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return directory
    }

    func run(_ arguments: [String], stdin: String?) async throws -> CommandResult {
        do {
            return try await ProcessRunner.run(
                executable: executable, arguments: arguments, environment: [:], workingDirectory: nil, stdin: stdin,
                timeout: 30, outputLimit: 64 * 1024)
        } catch {
            throw Failure(message: "cannot run \(executable): \(error)")
        }
    }
}
