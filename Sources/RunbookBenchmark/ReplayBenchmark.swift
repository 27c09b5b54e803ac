import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `--replay`: the commit phase of a failback fed by the change list (tree.replay, then tree.diff)
/// against a full `rsync -a --delete --checksum` of the same trees (issue 12, "Performance").
///
/// Builds, in plain directories: a source of FILES files (50 x 10 directories, sizes drawn between
/// MIN and MAX KiB, seeded), a pristine copy of it (`base`, the original primary before the window)
/// and a working target. Then changes CHANGE% of the source's files, a quarter each modified
/// (appended to), deleted, renamed (half within their directory, half into another) and created,
/// and writes the change list in glusterfind's format. Each round restores the target from
/// `base` (not timed) and times, through the real types and the local transport:
///   index-fed   tree.replay of the list, then tree.diff (a full walk of both trees comparing
///               metadata, contents of the listed paths), which must report 0 differences;
///   full crawl  `rsync -a --delete --checksum SRC/ DST/`.
/// The index-fed figure is the best round's replay + diff; the full crawl's is its best round.
/// With `--cold`, the page cache of both trees' files is dropped before each timed phase
/// (`posix_fadvise(DONTNEED)` per file after a `sync`; metadata stays cached).
enum ReplayBenchmark {
    struct Options {
        var files = 50_000
        var changePercent = 1.0
        var minKiB = 1
        var maxKiB = 16
        var repeats = 3
        var cold = false
        var directory: String?
        var keep = false
    }

    static let usage = """
        USAGE: RunbookBenchmark --replay [--files N] [--change PCT] [--min-kib N] [--max-kib N] [--repeat N]
                                         [--cold] [--dir DIR] [--keep]
          --files N     files in the source tree (default 50000, in 50 x 10 directories)
          --change PCT  percent of them changed: modified, deleted, renamed, created (default 1)
          --min-kib N, --max-kib N   file sizes, drawn uniformly (default 1 and 16)
          --repeat N    timed rounds; the best of each phase is reported (default 3)
          --cold        drop the trees' file pages from the page cache before each timed phase
          --dir DIR     where to build the trees (default a new directory in $TMPDIR); --keep leaves them

        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        func number(_ flag: String) -> Double {
            guard let text = rest.popFirst(), let value = Double(text), value >= 0 else {
                fail("\(flag) needs a number")
            }
            return value
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--files": options.files = Int(number(flag))
            case "--change": options.changePercent = number(flag)
            case "--min-kib": options.minKiB = Int(number(flag))
            case "--max-kib": options.maxKiB = Int(number(flag))
            case "--repeat": options.repeats = max(1, Int(number(flag)))
            case "--cold": options.cold = true
            case "--keep": options.keep = true
            case "--dir":
                guard let directory = rest.popFirst() else { fail("--dir needs a directory") }
                options.directory = directory
            case "-h", "--help":
                print(usage, terminator: "")
                exit(0)
            default: fail("unknown --replay argument '\(flag)'\n\n\(usage)")
            }
        }
        guard options.files >= 500, options.minKiB >= 0, options.maxKiB >= options.minKiB else {
            fail("--files must be at least 500 and --min-kib at most --max-kib")
        }
        return options
    }

    // MARK: The trees

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func shell(_ argv: [String]) throws -> ProcessOutput {
        try runProgram(URL(fileURLWithPath: "/usr/bin/env"), argv)
    }

    static func require(_ output: ProcessOutput, _ what: String) {
        if output.status != 0 { fail("\(what) failed (exit \(output.status)): \(output.stderr.prefix(500))") }
    }

    /// Writes the source tree; returns its files' relative paths.
    static func build(_ source: String, _ options: Options, _ rng: inout SeededGenerator) throws -> [String] {
        let files = FileManager.default
        let perDirectory = (options.files + 499) / 500
        var paths: [String] = []
        paths.reserveCapacity(options.files)
        var buffer = [UInt8](repeating: 0, count: options.maxKiB * 1024)
        let old = Date().addingTimeInterval(-3600)
        outer: for top in 0..<50 {
            for sub in 0..<10 {
                let directory = String(format: "d%02d/e%02d", top, sub)
                try files.createDirectory(atPath: source + "/" + directory, withIntermediateDirectories: true)
                for index in 0..<perDirectory {
                    if paths.count == options.files { break outer }
                    let range = options.maxKiB - options.minKiB + 1
                    let size = (options.minKiB + Int(rng.next() % UInt64(range))) * 1024
                    for offset in stride(from: 0, to: size, by: 8) {
                        withUnsafeBytes(of: rng.next()) { bytes in
                            for byte in 0..<min(8, size - offset) { buffer[offset + byte] = bytes[byte] }
                        }
                    }
                    let path = directory + String(format: "/f%04d.dat", index)
                    guard files.createFile(atPath: source + "/" + path, contents: Data(buffer[0..<size])) else {
                        fail("cannot write \(source)/\(path)")
                    }
                    try files.setAttributes([.modificationDate: old], ofItemAtPath: source + "/" + path)
                    paths.append(path)
                }
            }
        }
        // Directories an hour back too, deepest first, as a tree that was written long ago.
        var directories: [String] = [source]
        for top in 0..<50 {
            directories.append(source + String(format: "/d%02d", top))
            for sub in 0..<10 { directories.append(source + String(format: "/d%02d/e%02d", top, sub)) }
        }
        for directory in directories.reversed() where files.fileExists(atPath: directory) {
            try files.setAttributes([.modificationDate: old], ofItemAtPath: directory)
        }
        return paths
    }

    /// Changes the source as a failover window would; returns the list glusterfind would write.
    static func change(_ source: String, _ paths: [String], _ options: Options, _ rng: inout SeededGenerator) throws
        -> [ChangeList.Change]
    {
        let files = FileManager.default
        let count = max(4, Int((Double(paths.count) * options.changePercent / 100).rounded()))
        var pool = paths
        for index in stride(from: pool.count - 1, to: 0, by: -1) {
            pool.swapAt(index, Int(rng.next() % UInt64(index + 1)))
        }
        var changes: [ChangeList.Change] = []
        let quarter = count / 4
        for path in pool[0..<quarter] {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: source + "/" + path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(repeating: 0x61, count: 100))
            try handle.close()
            changes.append(.init(.modify, path))
        }
        for path in pool[quarter..<(2 * quarter)] {
            try files.removeItem(atPath: source + "/" + path)
            changes.append(.init(.delete, path))
        }
        for (offset, path) in pool[(2 * quarter)..<(3 * quarter)].enumerated() {
            let directory = (path as NSString).deletingLastPathComponent
            let name = (path as NSString).lastPathComponent
            // Half within the directory, half into another one (a neighbour's, which exists).
            let into = offset % 2 == 0 ? directory : (pool[offset] as NSString).deletingLastPathComponent
            let renamed = into + "/renamed-\(offset)-" + name
            try files.moveItem(atPath: source + "/" + path, toPath: source + "/" + renamed)
            changes.append(.init(.rename, path, to: renamed))
        }
        for (offset, path) in pool[(3 * quarter)..<count].enumerated() {
            let created = (path as NSString).deletingLastPathComponent + "/new \(offset)%.dat"
            guard files.createFile(atPath: source + "/" + created, contents: Data(repeating: 0x62, count: 4096)) else {
                fail("cannot write \(created)")
            }
            changes.append(.init(.new, created))
        }
        // glusterfind's order is not causal: shuffle the lines.
        for index in stride(from: changes.count - 1, to: 0, by: -1) {
            changes.swapAt(index, Int(rng.next() % UInt64(index + 1)))
        }
        return changes
    }

    /// Drops the file pages of a tree from the page cache (after `sync`): reads then come from disk.
    static func evict(_ root: String) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        while let relative = walker.nextObject() as? String {
            let descriptor = open(root + "/" + relative, O_RDONLY | O_NOFOLLOW)
            guard descriptor >= 0 else { continue }
            _ = posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_DONTNEED))
            close(descriptor)
        }
    }

    // MARK: The steps, through the real types

    static func node(_ step: String) -> PlanNode {
        let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: replay-bench}
            steps:
              - id: go
                gate: {approval: {prompt: ok}}
                commit: true
              - id: s
                on: localhost
                needs: [go]
            \(step.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        var diagnostics = Diagnostics()
        let inventory = "apiVersion: runbook/v1\nkind: Inventory\nmetadata: {name: i}\nhosts: {}\n"
        guard let runbook = RunbookLoader.load(text: text, file: "bench.yaml", diagnostics: &diagnostics),
            let loaded = InventoryLoader.load(text: inventory, file: "i.yaml", diagnostics: &diagnostics),
            let plan = Compiler(registry: .builtIn).compile(
                Compiler.Request(runbook: runbook, inventory: loaded, mode: nil, params: [], environment: [:]),
                diagnostics: &diagnostics),
            let node = plan.nodes.first(where: { $0.stepID == "s" })
        else { fail("cannot compile the benchmark step: \(diagnostics.all)") }
        return node
    }

    static func context(_ node: PlanNode, _ phase: PlannedCommand.Purpose) -> ActionContext {
        let transport = LocalTransport()
        return ActionContext(
            node: node, host: node.host, phase: phase, timeout: 3600,
            runner: { _, command, timeout, limit in
                try await transport.run(command, timeout: timeout, outputLimit: limit)
            }
        )
    }

    static func quoted(_ text: String) -> String { "\"\(text)\"" }

    // MARK: Run

    static func run(_ arguments: [String]) async throws {
        let options = parse(arguments)
        #if DEBUG
            FileHandle.standardError.write(Data("RunbookBenchmark: warning: a debug build; use -c release\n".utf8))
        #endif
        for tool in ["/usr/bin/python3", "/usr/bin/rsync"] where !FileManager.default.isExecutableFile(atPath: tool) {
            fail("--replay needs \(tool)")
        }
        let root =
            options.directory
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("runbook-replay-bench-\(UUID().uuidString)").path
        let source = root + "/src"
        let base = root + "/base"
        let target = root + "/dst"
        let list = root + "/changes.txt"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        defer { if !options.keep && options.directory == nil { try? FileManager.default.removeItem(atPath: root) } }

        var rng = SeededGenerator(seed: 0x5EED_0012)
        var clock = ContinuousClock.now
        let paths = try build(source, options, &rng)
        require(try shell(["rsync", "-aHAX", source + "/", base + "/"]), "the baseline copy")
        print(
            "built \(grouped(paths.count)) files in \(source) and a copy in \(base)"
                + " (\(String(format: "%.1f", seconds(ContinuousClock.now - clock))) s)")
        let changes = try change(source, paths, options, &rng)
        try Data(ChangeList.encode(changes).utf8).write(to: URL(fileURLWithPath: list))
        let counts = ChangeList.counts(changes)
        print(
            "changed \(changes.count) of them: "
                + ChangeList.Kind.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
                + "; list \(list)")

        let replay = node(
            "action: tree.replay\nirreversible: true\n"
                + "with: {source: \(quoted(source)), target: \(quoted(target)), list: \(quoted(list))}")
        let diff = node(
            "probe: tree.diff\nwith: {source: \(quoted(source)), target: \(quoted(target)), "
                + "checksum_list: \(quoted(list))}")
        // The best round of the index-fed phase (its two parts from the same round), the best full crawl.
        var best = (replay: Double.infinity, diff: Double.infinity, full: Double.infinity)
        var entries = 0
        for round in 1...options.repeats {
            require(try shell(["rsync", "-aHAX", "--delete", base + "/", target + "/"]), "restoring the target")
            if options.cold {
                _ = try shell(["sync"])
                evict(source)
                evict(target)
            }
            clock = ContinuousClock.now
            let effect = try await TreeReplayAction().apply(
                context(replay, .apply), observation: Observation(done: false, summary: ""))
            let replayed = seconds(ContinuousClock.now - clock)
            guard effect.succeeded else { fail("tree.replay: \(effect.summary)") }
            if options.cold {
                _ = try shell(["sync"])
                evict(source)
                evict(target)
            }
            clock = ContinuousClock.now
            let observation = try await TreeDiffProbe().probe(context(diff, .probe))
            let diffed = seconds(ContinuousClock.now - clock)
            guard observation.outputs["differences"] == .int(0) else {
                fail("tree.diff after the replay: \(observation.summary)")
            }
            if case .int(let count)? = observation.outputs["entries"] { entries = count }

            require(try shell(["rsync", "-aHAX", "--delete", base + "/", target + "/"]), "restoring the target")
            if options.cold {
                _ = try shell(["sync"])
                evict(source)
                evict(target)
            }
            clock = ContinuousClock.now
            require(try shell(["rsync", "-a", "--delete", "--checksum", source + "/", target + "/"]), "the full rsync")
            let full = seconds(ContinuousClock.now - clock)
            if replayed + diffed < best.replay + best.diff { (best.replay, best.diff) = (replayed, diffed) }
            best.full = min(best.full, full)
            let text = String(
                format: "replay %.3f s + diff %.3f s = %.3f s; full rsync %.3f s", replayed, diffed,
                replayed + diffed, full)
            FileHandle.standardError.write(Data("round \(round): \(text)\n".utf8))
        }
        let indexed = best.replay + best.diff
        print("")
        print(
            "| \(grouped(paths.count)) files, \(changes.count) changed"
                + "\(options.cold ? ", cold page cache" : "") | seconds |"
        )
        print("|---|---:|")
        let listed = (counts[.new] ?? 0) + (counts[.modify] ?? 0) + (counts[.rename] ?? 0)
        print(
            "| tree.replay of the list (renames, deletes, reconcile by name, one rsync of \(listed) paths) | "
                + String(format: "%.3f |", best.replay))
        print(
            "| tree.diff (walk of \(grouped(entries)) entries, contents of the listed paths) | "
                + String(format: "%.3f |", best.diff))
        print(String(format: "| **index-fed commit phase** | **%.3f** |", indexed))
        print(String(format: "| `rsync -a --delete --checksum` (full crawl) | %.3f |", best.full))
        print(
            String(format: "| ratio full / index-fed | %.1fx", best.full / indexed)
                + " (target >= 10x: \(best.full / indexed >= 10 ? "met" : "NOT met")) |")
        print("")
        print(
            "best round of \(options.repeats) for each side (ContinuousClock around the real types and the local"
                + " transport); file sizes \(options.minKiB)-\(options.maxKiB) KiB; tree.diff reported 0 differences"
                + " after every replay"
        )
    }
}
