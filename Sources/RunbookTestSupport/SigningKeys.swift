import Foundation
import RunbookCore
import RunbookExecution

/// Real OpenSSH ed25519 keys in a scratch directory, and an allowed-signers file naming some of
/// them, for tests of signed approvals (`/usr/bin/ssh-keygen`).
public struct SigningKeys: Sendable {
    public let scratch: Scratch
    /// The allowed-signers file.
    public let allowedSigners: String

    /// Generates a key for each of `allowed` (listed in the allowed-signers file as
    /// `NAME@example.org`) and of `others` (keys that exist but are not allowed).
    public init(allowed: [String], others: [String] = []) throws {
        scratch = try Scratch("keys")
        var lines: [String] = []
        for name in allowed + others {
            let output = try runProgram(
                URL(fileURLWithPath: "/usr/bin/ssh-keygen"),
                ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", scratch.path + "/" + name])
            guard output.status == 0 else { throw KeyError(message: "ssh-keygen for \(name): \(output.stderr)") }
            if allowed.contains(name) {
                let publicKey = try String(contentsOfFile: scratch.path + "/\(name).pub", encoding: .utf8)
                    .split(separator: " ").prefix(2).joined(separator: " ")
                lines.append("\(name)@example.org \(publicKey)")
            }
        }
        allowedSigners = try scratch.write("allowed_signers", lines.joined(separator: "\n") + "\n")
    }

    public struct KeyError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The private key file of `name`.
    public func key(_ name: String) -> String { scratch.path + "/" + name }

    /// The fingerprint of `name`'s key (`SHA256:...`), as `ssh-keygen -l` prints it.
    public func fingerprint(_ name: String) throws -> String {
        let output = try runProgram(URL(fileURLWithPath: "/usr/bin/ssh-keygen"), ["-l", "-f", key(name) + ".pub"])
        return String(output.stdout.split(separator: " ")[1])
    }

    /// `statement` signed by `name`'s key.
    public func sign(_ statement: ApprovalStatement, as name: String) async throws -> SignedApproval {
        let signature = try await SSHSignatures().sign(statement, keyFile: key(name))
        return SignedApproval(statementText: statement.text, signature: signature)
    }
}
