import Foundation

extension RunbookChecker {
    /// The signature settings of an approval gate (`allowed_signers`, `quorum`, `not_by_launcher`):
    /// a quorum of at least 1 and no more than the approvers listed, and an allowed-signers file
    /// whenever a quorum or the launcher rule is asked for (only a signature proves who approved).
    func checkSignedApproval(_ approval: ApprovalGateSpec, stepID: String, diagnostics: inout Diagnostics) {
        if let signers = approval.allowedSigners, signers.value.trimmingCharacters(in: .whitespaces).isEmpty {
            diagnostics.error(
                "gate '\(stepID)': allowed_signers must name an OpenSSH allowed-signers file "
                    + "(`allowed_signers: approvers.allowed_signers`, read against the runbook's directory)",
                at: signers.location)
        }
        if let quorum = approval.quorum {
            if quorum.value < 1 {
                diagnostics.error(
                    "gate '\(stepID)': quorum must be at least 1 (how many distinct allowed keys must approve), got \(quorum.value)",
                    at: quorum.location)
            } else if !approval.approvers.isEmpty, quorum.value > approval.approvers.count {
                diagnostics.error(
                    "gate '\(stepID)': quorum \(quorum.value) can never be reached: only \(approval.approvers.count) "
                        + "approver\(approval.approvers.count == 1 ? " is" : "s are") listed "
                        + "(\(approval.approvers.joined(separator: ", "))); lower the quorum or list more approvers",
                    at: quorum.location)
            }
            if approval.allowedSigners == nil {
                diagnostics.error(
                    "gate '\(stepID)': quorum needs signed approvals: add `allowed_signers: FILE` "
                        + "(an OpenSSH allowed-signers file) to the approval gate",
                    at: quorum.location)
            }
        }
        if let flag = approval.notByLauncher, flag.value, approval.allowedSigners == nil {
            diagnostics.error(
                "gate '\(stepID)': not_by_launcher needs signed approvals (a name given with --by proves nothing): "
                    + "add `allowed_signers: FILE` (an OpenSSH allowed-signers file) to the approval gate",
                at: flag.location)
        }
    }
}
