// RunbookBenchmark: generates large, realistic runbooks in memory and times `validate`,
// `plan --offline` and `plan --offline --format json` in-process, with each cell's peak memory
// measured in its own child process.
//
// Run it (always in release; debug numbers are meaningless):
//
//   swift run -c release RunbookBenchmark
//   swift run -c release RunbookBenchmark --sizes 1000,5000 --repeat 5
//   swift run -c release RunbookBenchmark --dump 1000 /tmp/bench   # writes bench.yaml + bench-inventory.yaml
//   swift run -c release RunbookBenchmark --replay                   # tree.replay + tree.diff vs a full rsync
//
// Targets: 10,000 steps validate and plan in < 0.5 s and < 200 MB, time growing linearly; the JSON
// plan within 1.5x of the text plan in time and peak memory at 10,000 and 50,000 steps.

import Foundation
import RunbookCore

// MARK: - Options

struct Options {
    var sizes = [1_000, 10_000, 50_000]
    var repeats = 3
    var inProcess = false
    var compareFoundation = false
}

let usage = """
    USAGE: RunbookBenchmark [--sizes N,N,...] [--repeat N] [--in-process] [--compare-foundation]
           RunbookBenchmark --dump STEPS PREFIX

    Generates runbooks of 1,000, 10,000 and 50,000 steps (YAML text, in memory, seeded so every
    run is the same) with an inventory of 2 primary and 3 secondary hosts, and measures in-process:
      validate        RunbookLoader.load + RunbookChecker.check
      plan (offline)  load runbook + inventory, Compiler.compile, PlanTextRenderer.render, written
                      to /dev/null
      plan JSON       the same with the JSON plan (`plan --offline --format json`) instead of the
                      text, written to /dev/null as the CLI writes it to stdout
    Each (size, phase) runs in a fresh child process of this executable, which reports the best
    of N wall times (ContinuousClock) and its peak RSS (VmHWM from /proc/self/status).
    Prints a Markdown table, the time growth between sizes, and JSON/text ratios of time (wall and
    CPU) and memory.

    OPTIONS:
      --sizes N,N,...   step counts to measure (default 1000,10000,50000)
      --repeat N        timed repetitions per measurement; the best is reported (default 3)
      --in-process      run every measurement in this process (peak RSS is then cumulative)
      --compare-foundation
                        also write the same JSON plan with Foundation's JSONEncoder (what the
                        streaming encoder is measured against), and time reading the journal's
                        (compact) plan back with PlanDocument.decode (JSONDecoder)
      --dump STEPS PREFIX
                        write PREFIX.yaml and PREFIX-inventory.yaml for STEPS steps and exit, e.g.
                        to check them with `runbook validate PREFIX.yaml` and
                        `runbook plan PREFIX.yaml -i PREFIX-inventory.yaml --offline -p ticket=CHG-1`
      --exec            measure the executor instead: 200 local /bin/true steps vs a shell loop
                        and the journal's synced commits per step; 20 hosts x 10 steps over ssh
                        to a loopback sshd vs bare `ssh` with the same parallelism (each host's
                        commands in turn, the hosts at once), with and without multiplexing;
                        ansible-playbook where installed (needs the release `runbook` binary:
                        `swift build -c release` first); `--exec local` or `--exec ssh` for one part
      --replay [...]    measure the index-fed commit phase of a failback instead: tree.replay of a
                        change list plus tree.diff against a full rsync --checksum, on a generated
                        tree of 50,000 files (`--replay --help` for its options)
      --for-each [N,N,...]
                        measure a 50-step runbook whose steps iterate a `for_each` of N items
                        (default 25,50,100,200; a third of the steps fan out over 3 hosts, every
                        tenth does not iterate and waits for all items): validate (with the
                        inventory, so the list and its keys are checked) and the offline plan
      -h, --help        show this help

    Build and run in release: swift run -c release RunbookBenchmark

    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RunbookBenchmark: \(message)\n".utf8))
    exit(64)
}

// MARK: - Generator

/// SplitMix64: small, fast and the same on every platform, so generated runbooks are stable.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct Generated {
    var runbook: String
    var inventory: String
    /// Step instances the offline plan must have (fan-out over roles counted).
    var instances: Int
    var steps: Int
    /// Whether `validate` checks against the inventory too (a `for_each` list is only known then).
    var validateWithInventory = false
}

enum RunbookGenerator {
    static let primaryHosts = ["db-a1", "db-a2"]
    static let secondaryHosts = ["db-b1", "db-b2", "db-b3"]
    /// Params a plan needs on the command line (no default).
    static let requiredParams: [(name: String, value: String)] = [("ticket", "CHG-4711")]

    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: bench-sites}
        defaults: {user: root, port: 22, connect_timeout: 10s}
        hosts:
          db-a1: {address: 10.0.0.11, roles: [primary]}
          db-a2: {address: 10.0.0.12, roles: [primary]}
          db-b1: {address: 10.0.1.11, roles: [secondary], user: dr, sudo: true}
          db-b2: {address: 10.0.1.12, roles: [secondary], user: dr, sudo: true}
          db-b3: {address: 10.0.1.13, roles: [secondary], user: dr, sudo: true}
        vars: {site: b, replicas: 3}

        """

    static func id(_ index: Int) -> String {
        let digits = String(index)
        return "s" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static func generate(steps count: Int, seed: UInt64 = 0x5EED_2024) -> Generated {
        var rng = SeededGenerator(seed: seed ^ UInt64(count))
        var out = """
            # Generated by RunbookBenchmark: \(count) steps.
            apiVersion: runbook/v1
            kind: Runbook
            metadata:
              name: bench-\(count)
              description: Synthetic failover of many volumes from the primary site to the secondary.
            modes: [planned, drill]
            on_failure: rollback

            params:
              workdir:     {type: string, default: /srv/dr, description: where the volumes live}
              volume:      {type: string, default: gv0}
              sync_method: {type: string, enum: [auto, rsync, tar], default: auto}
              count:       {type: int, default: 3, description: replicas to keep}
              batch:       {type: int, default: 100}
              settle:      {type: duration, default: 30s}
              ticket:      {type: string, description: the change ticket (no default; pass -p ticket=...)}

            roles:
              primary:   {min: 2}
              secondary: {min: 3, max: 5}

            steps:

            """
        out.reserveCapacity(count * 420)
        var instances = 0
        // Kind of each step, to pick `steps.X.outputs` references only from shell steps.
        var isShell = [Bool](repeating: false, count: count)

        for index in 0..<count {
            let stepID = id(index)
            // needs: 1-3 earlier steps, mostly recent ones (deep and wide), sometimes far back.
            var needs: [Int] = []
            if index > 0 {
                let wanted = min(index, 1 + Int(rng.next() % 3))
                while needs.count < wanted {
                    let back: Int
                    if rng.next() % 10 < 8 {
                        back = 1 + Int(rng.next() % UInt64(min(index, 24)))
                    } else {
                        back = 1 + Int(rng.next() % UInt64(index))
                    }
                    if !needs.contains(index - back) { needs.append(index - back) }
                }
                needs.sort()
            }
            out += "  - id: \(stepID)\n"
            if !needs.isEmpty {
                out += "    needs: [\(needs.map(id).joined(separator: ", "))]\n"
            }

            if index % 500 == 499 {
                // Approval gate, commit point.
                out += """
                        gate:
                          approval: {prompt: "Continue after batch \(index / 500) of ${{ params.volume }} (${{ params.ticket }})?", timeout: 30m, on_timeout: rollback}
                        commit: true

                    """
                instances += 1
                continue
            }

            // when: ~12% of steps.
            let roll = rng.next() % 100
            if roll < 5 {
                out += "    when: params.count > 2 && mode == 'planned'\n"
            } else if roll < 8 {
                out += "    when: params.sync_method != 'tar' || params.batch >= 50\n"
            } else if roll < 10 {
                out += "    when: mode == 'drill'\n"
            } else if roll < 12, let shellNeed = needs.last(where: { isShell[$0] }) {
                out += "    when: steps.\(id(shellNeed)).outputs.exit_code == 0\n"
            }

            if index % 97 == 13 {
                // choose: rsync or tar, on one host.
                out += """
                        on: primary[0]
                        description: Copy part \(index) with the chosen method.
                        choose:
                          - when: params.sync_method == 'tar'
                            step:
                              action: shell
                              with:
                                script: 'tar -C "$SRC" -cf - . | ssh db-b1 tar -C "$SRC" -xf -'
                                env: {SRC: "${{ params.workdir }}/part-\(index)"}
                                check: [test, -f, "${{ params.workdir }}/part-\(index)/.synced"]
                              undo: {action: shell, with: {run: [rm, -f, "${{ params.workdir }}/part-\(index)/.synced"]}}
                          - otherwise:
                              action: shell
                              with:
                                run: [rsync, -a, --delete, "${{ params.workdir }}/part-\(index)/", "db-b1:${{ params.workdir }}/part-\(index)/"]
                                check: [test, -f, "${{ params.workdir }}/part-\(index)/.synced"]
                              undo: {action: shell, with: {run: [rm, -f, "${{ params.workdir }}/part-\(index)/.synced"]}}

                    """
                instances += 1
                continue
            }

            if index % 41 == 7 {
                // Reachability probe, on every secondary or on any one of them.
                let fanOut = rng.next() % 2 == 0
                out += """
                        on: \(fanOut ? "secondary" : "any(secondary)")
                        probe: ssh.reachable

                    """
                instances += fanOut ? secondaryHosts.count : 1
                continue
            }

            // A shell action with check and undo, on a role (fan-out) or one host.
            isShell[index] = true
            let target = rng.next() % 100
            let on: String
            let hostRef: String
            switch target {
            case ..<30:
                on = "primary"
                hostRef = "${{ host.name }}"
                instances += primaryHosts.count
            case ..<55:
                on = "secondary"
                hostRef = "${{ host.name }}"
                instances += secondaryHosts.count
            case ..<75:
                on = "any(secondary)"
                hostRef = "${{ host.name }}"
                instances += 1
            case ..<90:
                on = "primary[0]"
                hostRef = "${{ hosts.primary[0] }}"
                instances += 1
            default:
                on = "secondary[2]"
                hostRef = "${{ hosts.secondary[2] }}"
                instances += 1
            }
            let part = "${{ params.workdir }}/\(hostRef)/part-\(index)"
            out += "    on: \(on)\n"
            if index % 7 == 0 {
                out += "    description: Prepare part \(index) of ${{ params.volume }} on \(on).\n"
            }
            out += "    action: shell\n    with:\n"
            switch rng.next() % 4 {
            case 0:
                out += """
                          script: 'for i in $(seq 1 "$COUNT"); do touch "$DIR/replica-$i"; done'
                          env: {COUNT: "${{ params.count }}", DIR: "\(part)", TICKET: "${{ params.ticket }}"}
                          check: [test, -f, "\(part)/replica-${{ params.count }}"]
                        undo: {action: shell, with: {script: 'rm -f "$DIR"/replica-*', env: {DIR: "\(part)"}}}

                    """
            case 1:
                out += """
                          run: [gluster, volume, set, "${{ params.volume }}-\(index)", performance.batch, "${{ params.batch }}"]
                          check: [sh, -c, "gluster volume get ${{ params.volume }}-\(index) performance.batch | grep -q ${{ params.batch }}"]
                          cwd: "${{ params.workdir }}"
                        undo: {action: shell, with: {run: [gluster, volume, reset, "${{ params.volume }}-\(index)", performance.batch]}}

                    """
            default:
                out += """
                          run: [mkdir, -p, "\(part)"]
                          check: [test, -d, "\(part)"]
                        undo: {action: shell, with: {run: [rm, -rf, "\(part)"]}}

                    """
            }
        }
        return Generated(runbook: out, inventory: inventory, instances: instances, steps: count)
    }
}

// MARK: - Phases

enum Phase: String, CaseIterable {
    case validate, plan
    case planJSON = "plan-json"
    case planJSONFoundation = "plan-json-foundation"
    /// Only the reading: `PlanDocument.decode` of the compact document (as the journal keeps it).
    case planJSONRead = "plan-json-read"
}

/// Keeps results observable so the optimiser cannot drop the work.
nonisolated(unsafe) var sink = 0

func runValidate(_ generated: Generated) {
    var diagnostics = Diagnostics()
    let runbook = RunbookLoader.load(text: generated.runbook, file: "bench.yaml", diagnostics: &diagnostics)
    precondition(runbook != nil && !diagnostics.hasErrors, "load failed: \(diagnostics.errors.prefix(3))")
    var inventory: Inventory?
    if generated.validateWithInventory {
        inventory = InventoryLoader.load(
            text: generated.inventory, file: "bench-inventory.yaml", diagnostics: &diagnostics)
    }
    diagnostics.append(contentsOf: RunbookChecker(registry: .builtIn, inventory: inventory).check(runbook!))
    precondition(!diagnostics.hasErrors, "check failed: \(diagnostics.errors.prefix(3))")
    precondition(
        runbook!.steps.count == generated.steps, "expected \(generated.steps) steps, loaded \(runbook!.steps.count)")
    sink &+= diagnostics.all.count &+ runbook!.steps.count
}

/// Where both plan phases write what they render, as `runbook plan` writes to stdout.
let devNull = FileHandle(forWritingAtPath: "/dev/null")!

/// The JSON plan as `runbook plan --format json` writes it; returns the bytes written.
func writePlanJSON(_ plan: Plan, to handle: FileHandle) -> Int {
    var bytes = 0
    PlanJSONRenderer(plan: plan).write { chunk in
        handle.write(Data(chunk))
        bytes += chunk.count
    }
    return bytes
}

/// The same document through Foundation's JSONEncoder, masked afterwards as a whole text.
func writePlanJSONWithFoundation(_ plan: Plan, to handle: FileHandle) -> Int {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(PlanDocument(plan: plan)) else { fail("JSONEncoder failed") }
    let text = plan.redactor.redact(String(decoding: data, as: UTF8.self)) + "\n"
    handle.write(Data(text.utf8))
    return text.utf8.count
}

/// Loads and compiles the generated runbook, as `plan --offline` does before it renders.
func compilePlan(_ generated: Generated) -> Plan {
    var diagnostics = Diagnostics()
    let runbook = RunbookLoader.load(text: generated.runbook, file: "bench.yaml", diagnostics: &diagnostics)
    let inventory = InventoryLoader.load(
        text: generated.inventory, file: "bench-inventory.yaml", diagnostics: &diagnostics)
    precondition(
        runbook != nil && inventory != nil && !diagnostics.hasErrors, "load failed: \(diagnostics.errors.prefix(3))")
    let request = Compiler.Request(
        runbook: runbook!, inventory: inventory!, mode: nil, params: RunbookGenerator.requiredParams, environment: [:])
    let plan = Compiler(registry: .builtIn).compile(request, diagnostics: &diagnostics)
    precondition(plan != nil && !diagnostics.hasErrors, "compile failed: \(diagnostics.errors.prefix(3))")
    precondition(
        plan!.nodes.count == generated.instances,
        "expected \(generated.instances) step instances, the plan has \(plan!.nodes.count)")
    return plan!
}

@discardableResult
func runPlan(_ generated: Generated, phase: Phase = .plan) -> Int {
    let plan = compilePlan(generated)
    let bytes: Int
    switch phase {
    case .planJSON: bytes = writePlanJSON(plan, to: devNull)
    case .planJSONFoundation: bytes = writePlanJSONWithFoundation(plan, to: devNull)
    default:
        let text = PlanTextRenderer(plan: plan).render()
        devNull.write(Data(text.utf8))
        bytes = text.utf8.count
    }
    precondition(bytes > generated.instances, "the rendered plan is suspiciously short")
    sink &+= bytes
    return plan.nodes.count
}

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1_000 + Double(attoseconds) / 1e15
}

/// Peak resident set size of this process so far, in KiB (VmHWM).
func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.dropFirst("VmHWM:".count).filter(\.isNumber)
        return Int(digits) ?? -1
    }
    return -1
}

struct Measurement {
    var bestMS: Double
    var peakKiB: Int
    var instances: Int
    /// CPU time (user + system), the least of the repetitions: steadier than wall time when other
    /// work shares the machine's two cores.
    var cpuMS: Double
}

/// CPU time this process used so far, user and system, in milliseconds.
func cpuMilliseconds() -> Double {
    var usage = rusage()
    #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    func ms(_ time: timeval) -> Double { Double(time.tv_sec) * 1_000 + Double(time.tv_usec) / 1_000 }
    return ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// Best of `repeats` timings of one phase, in this process.
func measure(_ generated: Generated, _ phase: Phase, repeats: Int) -> Measurement {
    let clock = ContinuousClock()
    var best = Double.infinity
    var bestCPU = Double.infinity
    var journaled: Data?
    if phase == .planJSONRead {
        let plan = compilePlan(generated)
        journaled = Data(PlanDocument(plan: plan).encoded(redactor: plan.redactor, pretty: false))
    }
    for _ in 0..<repeats {
        let cpuBefore = cpuMilliseconds()
        let elapsed = clock.measure {
            switch phase {
            case .validate: runValidate(generated)
            case .plan, .planJSON, .planJSONFoundation: runPlan(generated, phase: phase)
            case .planJSONRead:
                guard let document = try? PlanDocument.decode(journaled!) else { fail("cannot read the plan back") }
                precondition(document.steps.count == generated.instances, "the plan read back has other steps")
                sink &+= document.steps.count
            }
        }
        best = min(best, milliseconds(elapsed))
        bestCPU = min(bestCPU, cpuMilliseconds() - cpuBefore)
    }
    return Measurement(bestMS: best, peakKiB: peakRSSKiB(), instances: generated.instances, cpuMS: bestCPU)
}

// MARK: - Child processes

func executablePath() -> String {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
    return CommandLine.arguments[0]
}

/// Runs `--child STEPS PHASE REPEATS` in a fresh process and parses its one-line report.
func measureInChild(steps: Int, phase: Phase, repeats: Int, mode: String = "--child") -> Measurement {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executablePath())
    process.arguments = [mode, String(steps), phase.rawValue, String(repeats)]
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch { fail("cannot start the child process: \(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0,
        let line = output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") })
    else {
        fail(
            "the child for \(steps) steps / \(phase.rawValue) failed (status \(process.terminationStatus)):\n\(output)")
    }
    let fields = line.split(separator: " ")
    guard fields.count == 5, let ms = Double(fields[1]), let kib = Int(fields[2]), let instances = Int(fields[3]),
        let cpu = Double(fields[4])
    else {
        fail("cannot read the child's report: \(line)")
    }
    return Measurement(bestMS: ms, peakKiB: kib, instances: instances, cpuMS: cpu)
}

// MARK: - Main

func format(_ value: Double, decimals: Int = 1) -> String {
    String(format: "%.\(decimals)f", value)
}

func grouped(_ value: Int) -> String {
    let digits = String(value)
    var result = ""
    for (offset, character) in digits.enumerated() {
        if offset > 0, (digits.count - offset) % 3 == 0 { result += "," }
        result.append(character)
    }
    return result
}

func short(_ steps: Int) -> String {
    steps % 1_000 == 0 ? "\(steps / 1_000)k" : String(steps)
}

var options = Options()
var arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == "--replay" {
    do { try await ReplayBenchmark.run(Array(arguments.dropFirst())) } catch { fail("replay benchmark: \(error)") }
    exit(0)
}

if arguments.first == "--exec" {
    do { try await ExecBenchmark.run() } catch { fail("exec benchmark: \(error)") }
    exit(0)
}

if arguments.first == "--for-each" {
    ForEachBenchmark.run(Array(arguments.dropFirst()))
    exit(0)
}

if arguments.first == "--child-for-each" {
    guard arguments.count == 4, let items = Int(arguments[1]), let phase = Phase(rawValue: arguments[2]),
        let repeats = Int(arguments[3])
    else { fail("usage: --child-for-each ITEMS validate|plan|plan-json REPEATS") }
    let result = measure(ForEachBenchmark.generate(items: items), phase, repeats: repeats)
    print("RESULT \(result.bestMS) \(result.peakKiB) \(result.instances) \(result.cpuMS)")
    exit(0)
}

if arguments.first == "--child" {
    guard arguments.count == 4, let steps = Int(arguments[1]), let phase = Phase(rawValue: arguments[2]),
        let repeats = Int(arguments[3])
    else { fail("usage: --child STEPS validate|plan|plan-json|plan-json-foundation|plan-json-read REPEATS") }
    let generated = RunbookGenerator.generate(steps: steps)
    let result = measure(generated, phase, repeats: repeats)
    print("RESULT \(result.bestMS) \(result.peakKiB) \(result.instances) \(result.cpuMS)")
    exit(0)
}

while let argument = arguments.first {
    arguments.removeFirst()
    switch argument {
    case "-h", "--help":
        print(usage, terminator: "")
        exit(0)
    case "--sizes":
        guard let value = arguments.first else { fail("--sizes needs a value like 1000,5000") }
        arguments.removeFirst()
        let sizes = value.split(separator: ",").map { Int($0.replacingOccurrences(of: "_", with: "")) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
            fail("--sizes expects positive numbers, got '\(value)'")
        }
        options.sizes = sizes.map { $0! }
    case "--repeat":
        guard let value = arguments.first, let repeats = Int(value), repeats > 0 else {
            fail("--repeat needs a positive number")
        }
        arguments.removeFirst()
        options.repeats = repeats
    case "--in-process":
        options.inProcess = true
    case "--compare-foundation":
        options.compareFoundation = true
    case "--dump":
        guard arguments.count >= 2, let steps = Int(arguments[0]), steps > 0 else { fail("--dump needs STEPS PREFIX") }
        let prefix = arguments[1]
        let generated = RunbookGenerator.generate(steps: steps)
        do {
            try generated.runbook.write(toFile: prefix + ".yaml", atomically: true, encoding: .utf8)
            try generated.inventory.write(toFile: prefix + "-inventory.yaml", atomically: true, encoding: .utf8)
        } catch {
            fail("cannot write \(prefix).yaml: \(error)")
        }
        print(
            "wrote \(prefix).yaml (\(steps) steps, \(generated.instances) instances, \(generated.runbook.utf8.count) bytes) and \(prefix)-inventory.yaml"
        )
        exit(0)
    default:
        fail("unknown argument '\(argument)'\n\n\(usage)")
    }
}

#if DEBUG
    FileHandle.standardError.write(
        Data("RunbookBenchmark: warning: this is a debug build; use `swift run -c release RunbookBenchmark`\n".utf8))
#endif

struct Row {
    var steps: Int
    var validate: Measurement
    var plan: Measurement
    var json: Measurement
    var foundation: Measurement?
    var read: Measurement?
}

var rows: [Row] = []
for steps in options.sizes {
    var measured: [Phase: Measurement] = [:]
    let generated = options.inProcess ? RunbookGenerator.generate(steps: steps) : nil
    let comparisons: [Phase] = [.planJSONFoundation, .planJSONRead]
    for phase in Phase.allCases where !comparisons.contains(phase) || options.compareFoundation {
        if let generated {
            measured[phase] = measure(generated, phase, repeats: options.repeats)
        } else {
            measured[phase] = measureInChild(steps: steps, phase: phase, repeats: options.repeats)
        }
    }
    rows.append(
        Row(
            steps: steps, validate: measured[.validate]!, plan: measured[.plan]!, json: measured[.planJSON]!,
            foundation: measured[.planJSONFoundation], read: measured[.planJSONRead]))
    FileHandle.standardError.write(Data("measured \(grouped(steps)) steps\n".utf8))
}

func mb(_ kib: Int) -> String { kib < 0 ? "n/a" : format(Double(kib) / 1024) }

print("")
print(
    "| steps | instances | validate | plan (offline) | plan JSON | peak RSS validate | peak RSS plan | peak RSS plan JSON |"
)
print(
    "|------:|----------:|---------:|---------------:|----------:|------------------:|--------------:|-------------------:|"
)
for row in rows {
    let times = [row.validate, row.plan, row.json].map { "\(format($0.bestMS)) ms" }
    let memory = [row.validate, row.plan, row.json].map { "\(mb($0.peakKiB)) MB" }
    print(
        "| \(grouped(row.steps)) | \(grouped(row.plan.instances)) | " + (times + memory).joined(separator: " | ") + " |"
    )
}
print("")
print(
    "best of \(options.repeats); times in-process with ContinuousClock; peak RSS = VmHWM of \(options.inProcess ? "this process (cumulative)" : "a fresh child per cell"), including the generated YAML text"
)
if rows.count > 1 {
    var ratios: [String] = []
    for (previous, next) in zip(rows, rows.dropFirst()) {
        let size = Double(next.steps) / Double(previous.steps)
        let validate = next.validate.bestMS / previous.validate.bestMS
        let plan = next.plan.bestMS / previous.plan.bestMS
        ratios.append(
            "\(short(next.steps))/\(short(previous.steps)) (size \(format(size))x): validate \(format(validate))x, plan \(format(plan))x"
        )
    }
    print("time growth: " + ratios.joined(separator: "; ") + " (linear = same as size)")
}
let jsonRatios = rows.map { row in
    let time = row.json.bestMS / row.plan.bestMS
    let cpu = row.json.cpuMS / row.plan.cpuMS
    let memory = Double(row.json.peakKiB) / Double(row.plan.peakKiB)
    return (steps: row.steps, time: time, cpu: cpu, memory: memory)
}
print(
    "JSON/text plan: "
        + jsonRatios.map {
            "\(short($0.steps)) time \(format($0.time, decimals: 2))x (CPU \(format($0.cpu, decimals: 2))x), "
                + "peak RSS \(format($0.memory, decimals: 2))x"
        }.joined(separator: "; "))
print(
    "CPU time (user + system) of the plans: "
        + rows.map {
            "\(short($0.steps)) text \(format($0.plan.cpuMS)) ms, JSON \(format($0.json.cpuMS)) ms"
        }.joined(separator: "; "))
let jsonTarget = jsonRatios.filter { $0.steps >= 10_000 }
if !jsonTarget.isEmpty {
    let ok = jsonTarget.allSatisfy { $0.time <= 1.5 && $0.memory <= 1.5 }
    print(
        "JSON plan within 1.5x of the text plan (time and peak RSS, 10,000 steps and more): \(ok ? "MEETS" : "MISSES")")
}
if options.compareFoundation {
    print("")
    print(
        "| steps | plan JSON, streaming | plan JSON, JSONEncoder | peak RSS streaming | peak RSS JSONEncoder "
            + "| reading the journal's plan back |")
    print(
        "|------:|---------------------:|-----------------------:|-------------------:|---------------------:"
            + "|--------------------------------:|")
    for row in rows {
        guard let foundation = row.foundation, let read = row.read else { continue }
        print(
            "| \(grouped(row.steps)) | \(format(row.json.bestMS)) ms | \(format(foundation.bestMS)) ms | "
                + "\(mb(row.json.peakKiB)) MB | \(mb(foundation.peakKiB)) MB | \(format(read.bestMS)) ms |")
    }
}
print("target: 10,000 steps < 0.5 s and < 200 MB")
if let row = rows.first(where: { $0.steps == 10_000 }) {
    let slowest = max(row.validate.bestMS, row.plan.bestMS)
    let largest = max(row.validate.peakKiB, row.plan.peakKiB)
    let ok = slowest < 500 && largest < 200 * 1024
    print(
        "10,000 steps: \(ok ? "MEETS" : "MISSES") the target (slowest \(format(slowest)) ms, largest \(mb(largest)) MB)"
    )
}
