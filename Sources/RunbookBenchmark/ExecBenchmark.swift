import Foundation
import RunbookCore
import RunbookTestSupport

/// `--exec`: the executor's per-step overhead and SSH multiplexing, measured by running the
/// release `runbook` binary next to this executable (`swift build -c release` first).
enum ExecBenchmark {
    static func time(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (seconds: Double, output: ProcessOutput) {
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        let start = ContinuousClock.now
        let output = try runProgram(URL(fileURLWithPath: executable), arguments, environment: env)
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, output)
    }

    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-exec-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A runbook of `count` serial `/bin/true` steps on `target`.
    static func trueRunbook(count: Int, target: String, depth: Int? = nil) -> String {
        var text = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: bench}\nconcurrency: 32\nroles: {site: {min: 1}}\nsteps:\n"
        for i in 1...(depth ?? count) {
            text += "  - id: s\(i)\n    on: \(target)\n    action: shell\n    with: {run: [/bin/true]}\n    undo: {action: shell, with: {run: [/bin/true]}}\n"
            if i > 1 { text += "    needs: [s\(i - 1)]\n" }
        }
        return text
    }

    static func run() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("runbook").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("no runbook binary next to this benchmark (\(binary)): run `swift build -c release` first")
            exit(1)
        }
        print("runbook binary: \(binary)\n")
        var rows: [String] = []

        // (a) 200 local /bin/true steps, journal on, versus a shell loop.
        let dir = try scratch()
        try trueRunbook(count: 200, target: "localhost").write(toFile: dir + "/r.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: runbook/v1\nkind: Inventory\nmetadata: {name: local}\ndefaults: {transport: local}\nhosts: {here: {roles: [site]}}\n"
            .write(toFile: dir + "/i.yaml", atomically: true, encoding: .utf8)
        var best = Double.infinity
        for round in 0..<3 {
            let (seconds, output) = try time(binary, ["run", dir + "/r.yaml", "-i", dir + "/i.yaml", "--yes"], environment: ["RUNBOOK_STATE_DIR": dir + "/state\(round)"])
            guard output.status == 0 else { print("the 200-step run failed:\n\(output.stderr)"); exit(1) }
            best = min(best, seconds)
        }
        var loop = Double.infinity
        for _ in 0..<3 {
            loop = min(loop, try time("/bin/sh", ["-c", "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"]).seconds)
        }
        let perStep = (best - loop) / 200 * 1000
        rows.append("| 200 local `/bin/true` steps, journal on | \(String(format: "%.2f s", best)) | shell loop \(String(format: "%.3f s", loop)) | \(String(format: "%.1fx", best / loop)); overhead \(String(format: "%.2f ms", perStep))/step (target < 3 ms, < 3x) |")

        // (b) 20 hosts x 10 steps over ssh to a loopback sshd, multiplexed or not.
        if LoopbackSSHD.isAvailable {
            try await LoopbackSSHD.withServer { server in
                let host = server.host
                let options = host.sshOptions.map { "\"\($0)\"" }.joined(separator: ", ")
                let hosts = (1...20).map { "  node\($0): {roles: [site]}" }.joined(separator: "\n")
                let dir = try scratch()
                try """
                    apiVersion: runbook/v1
                    kind: Inventory
                    metadata: {name: loop}
                    defaults: {address: 127.0.0.1, port: \(host.port ?? 22), user: root, identity_file: \(host.identityFile ?? ""), ssh_options: [\(options)], host_concurrency: 4}
                    hosts:
                    \(hosts)
                    """.write(toFile: dir + "/i.yaml", atomically: true, encoding: .utf8)
                try trueRunbook(count: 10, target: "site", depth: 10).write(toFile: dir + "/r.yaml", atomically: true, encoding: .utf8)
                var results: [String: Double] = [:]
                for (label, flag) in [("multiplexed", "1"), ("not multiplexed", "0")] {
                    let (seconds, output) = try time(binary, ["run", dir + "/r.yaml", "-i", dir + "/i.yaml", "--yes"],
                                                     environment: ["RUNBOOK_STATE_DIR": dir + "/state-\(flag)", "RUNBOOK_SSH_MULTIPLEX": flag])
                    guard output.status == 0 else { print("the ssh run (\(label)) failed:\n\(output.stderr)"); exit(1) }
                    results[label] = seconds
                }
                rows.append("| 20 hosts x 10 steps over ssh (loopback sshd), multiplexed | \(String(format: "%.2f s", results["multiplexed"]!)) | not multiplexed \(String(format: "%.2f s", results["not multiplexed"]!)) | \(String(format: "%.1fx", results["not multiplexed"]! / results["multiplexed"]!)) faster with ControlMaster |")
            }
        } else {
            rows.append("| 20 hosts x 10 steps over ssh | skipped | | needs root and /usr/sbin/sshd |")
        }

        // (c) ansible-playbook, where installed.
        let ansible = ["/usr/bin/ansible-playbook", "/usr/local/bin/ansible-playbook"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let ansible {
            let dir = try scratch()
            let tasks = (1...200).map { _ in "    - command: /bin/true" }.joined(separator: "\n")
            try "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n\(tasks)\n".write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
            let (seconds, output) = try time(ansible, [dir + "/p.yaml"])
            rows.append("| ansible-playbook, 200 local `/bin/true` tasks | \(String(format: "%.2f s", seconds)) | runbook \(String(format: "%.2f s", best)) | ratio \(String(format: "%.1fx", seconds / best)) (exit \(output.status)) |")
        } else {
            rows.append("| ansible-playbook | skipped | | not installed on this machine |")
        }

        print("| measurement | runbook | baseline | ratio |")
        print("|---|---:|---:|---|")
        for row in rows { print(row) }
    }
}
