import Foundation
import RunbookCore

/// `worker-failures`: every worker of the session shows FAILURES 0 (`status detail`).
public struct WorkerFailuresCheck: PreflightCheck {
    public init() {}
    public let name = "worker-failures"
    public let reason =
        "a worker's FAILURES count is entries it could not apply on the secondary (gfid conflicts, changes made on the secondary): those files are missing or stale there and are never resynced by themselves"
    public let issue = "https://github.com/gluster/glusterfs/issues/1268"
    public let fix =
        "read the worker's gsyncd.log for ENTRY FAILED on the named node, repair those entries on the secondary (or resync them), then check again"
    public let required = ["primary", "secondary"]

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: input.host, cli.geoRepStatus(input.string("primary"), input.string("secondary")))]
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        // A status that could not be read is a finding, never "no worker has failures"; one that
        // says there is no session (the read confirmed it) has no worker with failures.
        guard let answer = answers.first, let result = answer.result else {
            return answers.first?.failure("read the session status").map { [$0] } ?? []
        }
        do {
            let status = try GlusterParse.geoRepStatus(
                GlusterOutput(command: answer.command.command, host: answer.host, result: result))
            return status.workers.compactMap { worker in
                guard let failures = worker.failures, failures > 0 else { return nil }
                return PreflightFinding(worker.primaryNode, "worker of \(worker.brickName) has FAILURES \(failures)")
            }
        } catch {
            return [PreflightFinding(answer.host, "\(error)")]
        }
    }
}
