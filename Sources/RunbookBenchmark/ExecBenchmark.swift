import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport

/// `--exec`: the executor's per-step overhead, its journal commits, and ssh, measured by running
/// the release `runbook` binary next to this executable (`swift build -c release` first).
enum ExecBenchmark {
    static let rounds = 5

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// CPU time (user + system) of the children this process has waited for, in seconds: on a
    /// shared machine it is steadier than wall time, which includes waiting for the other work.
    static func childrenCPU() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
            getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        #else
            getrusage(RUSAGE_CHILDREN, &usage)
        #endif
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Wall and CPU seconds of one run of a program (and everything it waited for).
    static func time(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (seconds: Double, cpu: Double, output: ProcessOutput)
    {
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        let cpu = childrenCPU()
        let start = ContinuousClock.now
        let output = try runProgram(URL(fileURLWithPath: executable), arguments, environment: env)
        return (seconds(ContinuousClock.now - start), childrenCPU() - cpu, output)
    }

    /// The least wall and the least CPU time of several runs (each the best of its own).
    struct Best {
        var wall = Double.infinity
        var cpu = Double.infinity
        mutating func add(wall: Double, cpu: Double) {
            self.wall = min(self.wall, wall)
            self.cpu = min(self.cpu, cpu)
        }
        var text: String { "\(ExecBenchmark.format(wall)) (CPU \(ExecBenchmark.format(cpu)))" }
        func ratio(_ other: Best) -> String {
            String(format: "%.2fx (CPU %.2fx)", wall / other.wall, cpu / other.cpu)
        }
    }

    /// A new directory under /tmp with a short path: the state directories inside hold ssh
    /// control sockets, and a control directory over 48 bytes turns multiplexing off.
    static func scratch() throws -> String {
        let path = "/tmp/rbx-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A runbook of `count` serial `/bin/true` steps on `target`.
    static func trueRunbook(count: Int, target: String) -> String {
        var text =
            "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: bench}\nconcurrency: 32\n"
            + "roles: {site: {min: 1}}\nsteps:\n"
        for i in 1...count {
            text +=
                "  - id: s\(i)\n    on: \(target)\n    action: shell\n    with: {run: [/bin/true]}\n"
                + "    undo: {action: shell, with: {run: [/bin/true]}}\n"
            if i > 1 { text += "    needs: [s\(i - 1)]\n" }
        }
        return text
    }

    /// One chain of `depth` serial `/bin/true` steps per host, the chains in parallel.
    static func chainsRunbook(hosts: [String], depth: Int) -> String {
        var text = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: bench-ssh}\nconcurrency: 32\nsteps:\n"
        for host in hosts {
            for i in 1...depth {
                text +=
                    "  - id: \(host)-s\(i)\n    on: \(host)\n    action: shell\n    with: {run: [/bin/true]}\n"
                    + "    undo: {action: shell, with: {run: [/bin/true]}}\n"
                if i > 1 { text += "    needs: [\(host)-s\(i - 1)]\n" }
            }
        }
        return text
    }

    /// Synced commits recorded in a state directory's journal (read only: an older `runbook`
    /// must still be able to open it).
    static func commits(stateDirectory: String) throws -> Int {
        Journal.commitCount(atPath: stateDirectory + "/journal.sqlite")
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f s", seconds) }

    static func run() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("runbook").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("no runbook binary next to this benchmark (\(binary)): run `swift build -c release` first")
            exit(1)
        }
        print("runbook binary: \(binary); best of \(rounds) rounds\n")
        // `--exec local` or `--exec ssh` measures only that part.
        let part = CommandLine.arguments.drop { $0 != "--exec" }.dropFirst().first
        var rows: [String] = []
        if part == nil || part == "local" {
            rows += try local(binary)
        }
        if part == nil || part == "ssh" {
            if LoopbackSSHD.isAvailable {
                rows += try await ssh(binary, ownHome: true)
                rows += try await ssh(binary, ownHome: false, multiplexedOnly: true)
            } else {
                rows.append("| 20 hosts x 10 steps over ssh | skipped | | needs root and /usr/sbin/sshd |")
            }
        }
        if part == nil { rows += try ansible(binary) }
        print("| measurement | runbook | baseline | ratio |")
        print("|---|---:|---:|---|")
        for row in rows { print(row) }
    }

    // MARK: - Local

    /// 200 local `/bin/true` steps with the journal on, against a shell loop of the same commands.
    static func local(_ binary: String) throws -> [String] {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "apiVersion: runbook/v1\nkind: Inventory\nmetadata: {name: local}\ndefaults: {transport: local}\n"
            .appending("hosts: {here: {roles: [site]}}\n")
            .write(toFile: dir + "/i.yaml", atomically: true, encoding: .utf8)
        // Every run but a machine's first finds its journal already there: each measurement gets a
        // state directory whose journal an untimed run has created (and the commits of a run are
        // the counter's growth during it).
        func measure(steps: Int) throws -> (best: Best, commits: Int) {
            let file = dir + "/r\(steps).yaml"
            try trueRunbook(count: steps, target: "localhost").write(toFile: file, atomically: true, encoding: .utf8)
            let state = dir + "/state-\(steps)"
            let arguments = ["run", file, "-i", dir + "/i.yaml", "--yes"]
            _ = try time(binary, arguments, environment: ["RUNBOOK_STATE_DIR": state])
            var best = Best()
            var commits = 0
            for _ in 0..<rounds {
                let before = try Self.commits(stateDirectory: state)
                let (seconds, cpu, output) = try time(binary, arguments, environment: ["RUNBOOK_STATE_DIR": state])
                guard output.status == 0 else {
                    print("the \(steps)-step run failed:\n\(output.stderr)")
                    exit(1)
                }
                best.add(wall: seconds, cpu: cpu)
                commits = try Self.commits(stateDirectory: state) - before
            }
            return (best, commits)
        }
        let (many, commits) = try measure(steps: 200)
        let (one, oneCommits) = try measure(steps: 1)
        var loop = Best()
        for _ in 0..<rounds {
            let script = "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"
            let (seconds, cpu, _) = try time("/bin/sh", ["-c", script])
            loop.add(wall: seconds, cpu: cpu)
        }
        let allocations = try allocationsPerStep(binary, dir: dir)
        let perStep = (many.wall - one.wall) / 199 * 1000
        let loopPerStep = loop.wall / 200 * 1000
        let perChanged = Double(commits - oneCommits) / 199
        return [
            "| 200 local `/bin/true` steps, journal on | \(many.text) | shell loop \(loop.text) |"
                + " \(many.ratio(loop)) (target < 3x) |",
            "| of which a run's fixed cost (1 step) | \(one.text) | | process start, load, plan, journal open |",
            "| each further step | \(String(format: "%.2f ms", perStep)) |"
                + " \(String(format: "%.2f ms", loopPerStep)) per loop command |"
                + " \(String(format: "%.2f ms", perStep - loopPerStep)) over the loop (target < 3 ms) |",
            allocations.map {
                "| heap allocations per further step | \($0.perStep) | | a run of \($0.steps) steps:"
                    + " \($0.many), of 1 step: \($0.one) |"
            } ?? "| heap allocations per step | skipped | | needs cc and glibc (an LD_PRELOAD malloc counter) |",
            commits == 0
                ? "| synced journal commits | n/a | | this runbook's journal has no commit counter |"
                : "| synced journal commits, 200 steps | \(commits) | |"
                    + " \(String(format: "%.2f", Double(commits) / 200)) per step;"
                    + " \(String(format: "%.2f", perChanged)) per changed step, \(oneCommits - 2) per run |",
        ]
    }

    /// A malloc counter preloaded into `runbook`: every allocation call (malloc, calloc, realloc,
    /// the aligned ones) counted, the count appended as `PID COUNT` to `$RUNBOOK_MALLOC_COUNT_FILE`
    /// at exit. It takes itself out of `LD_PRELOAD` at start, so the commands a run starts are not
    /// counted. (valgrind 3.19's memcheck cannot read this toolchain's binaries: it gives up on the
    /// debug info, or crashes on the stripped binary.)
    static let mallocCounter = """
        #include <stddef.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        extern void *__libc_malloc(size_t);
        extern void *__libc_calloc(size_t, size_t);
        extern void *__libc_realloc(void *, size_t);
        extern void *__libc_memalign(size_t, size_t);
        static long count;
        #define COUNT __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED)
        void *malloc(size_t n) { COUNT; return __libc_malloc(n); }
        void *calloc(size_t a, size_t b) { COUNT; return __libc_calloc(a, b); }
        void *realloc(void *p, size_t n) { COUNT; return __libc_realloc(p, n); }
        void *memalign(size_t a, size_t n) { COUNT; return __libc_memalign(a, n); }
        void *aligned_alloc(size_t a, size_t n) { COUNT; return __libc_memalign(a, n); }
        int posix_memalign(void **p, size_t a, size_t n) {
            COUNT;
            void *r = __libc_memalign(a, n);
            if (!r) return 12;
            *p = r;
            return 0;
        }
        __attribute__((constructor)) static void start(void) { unsetenv("LD_PRELOAD"); }
        __attribute__((destructor)) static void report(void) {
            const char *file = getenv("RUNBOOK_MALLOC_COUNT_FILE");
            FILE *out = file ? fopen(file, "a") : NULL;
            if (!out) return;
            fprintf(out, "%d %ld\\n", (int)getpid(), __atomic_load_n(&count, __ATOMIC_RELAXED));
            fclose(out);
        }

        """

    /// Heap allocations of the `runbook` process itself (not of the commands it starts) per further
    /// step: the count of the 200-step run less that of the 1-step run, over 199. Nil without `cc`.
    static func allocationsPerStep(_ binary: String, dir: String) throws -> (
        perStep: Int, steps: Int, many: Int, one: Int
    )? {
        let compilers = ["/usr/bin/cc", "/usr/local/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"]
        guard let cc = compilers.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        try mallocCounter.write(toFile: dir + "/count.c", atomically: true, encoding: .utf8)
        let built = try runProgram(
            URL(fileURLWithPath: cc), ["-O2", "-shared", "-fPIC", "-o", dir + "/count.so", dir + "/count.c"])
        guard built.status == 0 else {
            print("cannot build the malloc counter:\n\(built.stderr)")
            return nil
        }
        func count(steps: Int) throws -> Int? {
            let file = dir + "/r\(steps).yaml"
            let state = dir + "/state-\(steps)"  // its journal exists: the timed runs made it
            let counts = dir + "/count-\(steps).txt"
            try? FileManager.default.removeItem(atPath: counts)
            let (_, _, output) = try time(
                binary, ["run", file, "-i", dir + "/i.yaml", "--yes"],
                environment: [
                    "RUNBOOK_STATE_DIR": state, "LD_PRELOAD": dir + "/count.so", "RUNBOOK_MALLOC_COUNT_FILE": counts,
                ])
            let lines = (try? String(contentsOfFile: counts, encoding: .utf8)) ?? ""
            // One line, the runbook process's (the counter is not inherited by its commands).
            guard output.status == 0,
                let value = lines.split(separator: "\n").compactMap({
                    $0.split(separator: " ").last.flatMap { Int($0) }
                })
                .max()
            else {
                // Where LD_PRELOAD or glibc's __libc_malloc is not there (macOS, musl): no count.
                print("the malloc counter did not count the \(steps)-step run:\n\(output.stderr.suffix(2000))")
                return nil
            }
            return value
        }
        guard let many = try count(steps: 200), let one = try count(steps: 1) else { return nil }
        return ((many - one) / 199, 200, many, one)
    }

    // MARK: - SSH

    /// 20 hosts x 10 `/bin/true` steps over ssh to a loopback sshd, against bare `ssh` with the same
    /// options and parallelism: each host's 10 commands one after another, the hosts in parallel.
    static func ssh(_ binary: String, ownHome: Bool, multiplexedOnly: Bool = false) async throws -> [String] {
        try await LoopbackSSHD.withServer(ownHome: ownHome) { server in
            let host = server.host
            let names = (1...20).map { "node\($0)" }
            let dir = try scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let options = host.sshOptions.map { "\"\($0)\"" }.joined(separator: ", ")
            try """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: loop}
            defaults: {address: 127.0.0.1, port: \(host.port ?? 22), user: root, \
            identity_file: \(host.identityFile ?? ""), ssh_options: [\(options)], host_concurrency: 4}
            hosts:
            \(names.map { "  \($0): {roles: [site]}" }.joined(separator: "\n"))
            """.write(toFile: dir + "/i.yaml", atomically: true, encoding: .utf8)
            try chainsRunbook(hosts: names, depth: 10).write(toFile: dir + "/r.yaml", atomically: true, encoding: .utf8)
            let shell = ownHome ? "sessions with a HOME of their own" : "root's own login shell files"
            var rows: [String] = []
            for multiplex in multiplexedOnly ? [true] : [true, false] {
                var runbook = Best()
                var bare = Best()
                var warm = Best()
                let state = dir + "/s\(multiplex ? 1 : 0)"
                // Round 0 is not timed: it creates the journal and warms sshd and the page cache.
                for round in 0...rounds {
                    let (seconds, cpu, output) = try time(
                        binary, ["run", dir + "/r.yaml", "-i", dir + "/i.yaml", "--yes"],
                        environment: ["RUNBOOK_STATE_DIR": state, "RUNBOOK_SSH_MULTIPLEX": multiplex ? "1" : "0"])
                    guard output.status == 0 else {
                        print("the ssh run (multiplex \(multiplex)) failed:\n\(output.stderr)")
                        exit(1)
                    }
                    let control = dir + "/c\(multiplex ? 1 : 0)\(round)"
                    let direct = try bareSSH(host: host, control: control, multiplex: multiplex, depth: 10)
                    let warmed =
                        multiplex
                        ? try bareSSH(host: host, control: control + "w", multiplex: true, depth: 10, warm: true)
                        : (seconds: 0, cpu: 0)
                    if round > 0 {
                        runbook.add(wall: seconds, cpu: cpu)
                        bare.add(wall: direct.seconds, cpu: direct.cpu)
                        warm.add(wall: warmed.seconds, cpu: warmed.cpu)
                    }
                }
                let label = multiplex ? "multiplexed" : "not multiplexed"
                rows.append(
                    "| 20 hosts x 10 steps over ssh, \(label) (\(shell)) | \(runbook.text) |"
                        + " bare \(multiplex ? "multiplexed " : "")ssh \(bare.text) |"
                        + " \(runbook.ratio(bare))\(multiplex ? " (target < 1.3x)" : "") |")
                if multiplex {
                    rows.append(
                        "| the same, against bare ssh whose master is up before it starts | | \(warm.text) |"
                            + " \(runbook.ratio(warm)) (runbook's includes its start and first login) |")
                }
            }
            return rows
        }
    }

    /// The same commands through `ssh` itself (the transport's options, no remote wrapper), one
    /// shell loop per host, all hosts at once; the seconds until the last loop ends. With `warm`,
    /// a master connection is set up first (not timed), so no loop opens a connection of its own.
    static func bareSSH(host: HostConnection, control: String, multiplex: Bool, depth: Int, warm: Bool = false) throws
        -> (seconds: Double, cpu: Double)
    {
        let transport = SSHTransport(
            host: host, controlDirectory: control, multiplex: multiplex, killRemoteOnDisconnect: false)
        try FileManager.default.createDirectory(
            atPath: control, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let argv = ["ssh"] + transport.sshArguments(for: CommandSpec(argv: ["/bin/true"]))
        let command = argv.map(ShellQuoting.quote).joined(separator: " ")
        let script = "i=0; while [ $i -lt \(depth) ]; do \(command) </dev/null || exit 1; i=$((i+1)); done"
        if warm {
            _ = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", command + " </dev/null"])
        }
        let cpu = childrenCPU()
        let start = ContinuousClock.now
        var processes: [Process] = []
        for _ in 0..<20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
        var failed = 0
        for process in processes {
            process.waitUntilExit()
            if process.terminationStatus != 0 { failed += 1 }
        }
        let elapsed = (seconds(ContinuousClock.now - start), childrenCPU() - cpu)
        if multiplex {
            let exit = transport.sshArguments(for: CommandSpec(argv: ["true"])).dropLast(2) + ["-O", "exit"]
            _ = try? runProgram(URL(fileURLWithPath: "/usr/bin/ssh"), Array(exit))
        }
        guard failed == 0 else {
            print("bare ssh: \(failed) of 20 loops failed")
            exit(1)
        }
        return elapsed
    }

    // MARK: - Ansible

    static func ansible(_ binary: String) throws -> [String] {
        let candidates = ["/usr/bin/ansible-playbook", "/usr/local/bin/ansible-playbook"]
        guard let ansible = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return ["| ansible-playbook | skipped | | not installed on this machine |"]
        }
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tasks = (1...200).map { _ in "    - command: /bin/true" }.joined(separator: "\n")
        try "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n\(tasks)\n"
            .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let (seconds, _, output) = try time(ansible, [dir + "/p.yaml"])
        return ["| ansible-playbook, 200 local `/bin/true` tasks | \(format(seconds)) | | exit \(output.status) |"]
    }
}
