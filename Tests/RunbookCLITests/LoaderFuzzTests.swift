import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

@testable import RunbookCLI

/// Mutates the shipped runbooks and inventories (Runbooks/*.yaml, Examples/**/*.yaml) and runs
/// each mutant through what `validate -i` and `plan --offline` run, in this process: decoding,
/// loading, checking, compiling. Nothing may crash or hang, memory stays bounded, and every
/// refusal carries at least one diagnostic with a file:line:col position inside the file.
///
/// Deterministic: the same seed gives the same mutants (a failure prints the case number and
/// the mutant's first bytes; `RUNBOOK_FUZZ_CASE=N` reruns one case, `RUNBOOK_FUZZ_CASES=N` runs
/// more than the suite's 400 to look for trouble).
@Suite struct LoaderFuzzTests {
    static let seed: UInt64 = 0x0009_F022_5EED_2026
    static let cases = ProcessInfo.processInfo.environment["RUNBOOK_FUZZ_CASES"].flatMap(Int.init) ?? 400
    /// Per mutant; the whole run takes a few seconds.
    static let caseLimit: Duration = .seconds(2)
    /// Growth of the process's peak resident memory over the whole run.
    static let memoryLimitBytes = 512 << 20

    struct Corpus {
        var runbooks: [(path: String, bytes: [UInt8])] = []
        var inventories: [(path: String, bytes: [UInt8])] = []
    }

    static func corpus() throws -> Corpus {
        let root = PackagePaths.root.path
        var paths = try FileManager.default.contentsOfDirectory(atPath: root + "/Runbooks").filter {
            $0.hasSuffix(".yaml")
        }
        .map { "Runbooks/" + $0 }
        let examples = FileManager.default.enumerator(atPath: root + "/Examples")
        while let entry = examples?.nextObject() as? String {
            if entry.hasSuffix(".yaml"), !entry.contains(".generated.") { paths.append("Examples/" + entry) }
        }
        var corpus = Corpus()
        for path in paths.sorted() {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/" + path)))
            if Documents.declaredKind(String(decoding: bytes, as: UTF8.self)) == "Inventory" {
                corpus.inventories.append((path, bytes))
            } else {
                corpus.runbooks.append((path, bytes))
            }
        }
        return corpus
    }

    @Test func mutatedRunbooksAndInventoriesAreRefusedWithPositionsNeverCrashOrHang() throws {
        let corpus = try Self.corpus()
        try #require(corpus.runbooks.count >= 3 && corpus.inventories.count >= 3, "the shipped files: \(corpus)")
        let only = ProcessInfo.processInfo.environment["RUNBOOK_FUZZ_CASE"].flatMap(Int.init)
        var random = SplitMix64(seed: Self.seed)
        let peakBefore = Self.peakResidentBytes()
        let clock = ContinuousClock()
        let started = clock.now
        var refused = 0
        var accepted = 0
        var slowest: Duration = .zero
        for index in 0..<Self.cases {
            // Each case draws from its own generator, so one case can be rerun alone.
            var caseRandom = SplitMix64(seed: random.next())
            if let only, only != index { continue }
            let mutatesInventory = caseRandom.below(3) == 0
            let runbook = corpus.runbooks[caseRandom.below(corpus.runbooks.count)]
            let inventory = corpus.inventories[caseRandom.below(corpus.inventories.count)]
            let target = mutatesInventory ? inventory : runbook
            let donor = (corpus.runbooks + corpus.inventories)[
                caseRandom.below(corpus.runbooks.count + corpus.inventories.count)]
            var mutant = target.bytes
            for _ in 0...caseRandom.below(3) { Mutator.mutate(&mutant, donor: donor.bytes, random: &caseRandom) }
            let file = "fuzz/" + target.path

            let caseStart = clock.now
            let diagnostics = Self.validateAndPlan(
                runbook: mutatesInventory ? runbook.bytes : mutant, runbookPath: mutatesInventory ? runbook.path : file,
                inventory: mutatesInventory ? mutant : inventory.bytes,
                inventoryPath: mutatesInventory ? file : inventory.path)
            let took = clock.now - caseStart
            slowest = max(slowest, took)
            let preview = String(decoding: mutant.prefix(300), as: UTF8.self)
            #expect(took < Self.caseLimit, "case \(index) took \(took): \(file)\n\(preview)")

            guard diagnostics.hasErrors else {
                accepted += 1
                continue
            }
            refused += 1
            let lineCount = mutant.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
            let positioned = diagnostics.errors.filter { error in
                guard let location = error.location else { return false }
                return location.line >= 1 && location.column >= 1
                    && (location.file != file || location.line <= lineCount + 1)
            }
            let errors = diagnostics.errors
            #expect(
                !positioned.isEmpty, "case \(index): refused without a file:line:col inside it: \(errors)\n\(preview)")
            for error in diagnostics.errors where error.location != nil {
                #expect(
                    error.description.hasPrefix(
                        "\(error.location!.file):\(error.location!.line):\(error.location!.column): error: "))
            }
        }
        let peakGrowth = Self.peakResidentBytes() - peakBefore
        #expect(peakGrowth < Self.memoryLimitBytes, "peak memory grew by \(peakGrowth >> 20) MiB")
        print(
            "fuzz: seed \(String(Self.seed, radix: 16)), \(Self.cases) cases in \(clock.now - started): "
                + "\(refused) refused, \(accepted) accepted; slowest \(slowest); peak memory +\(peakGrowth >> 20) MiB")
    }

    /// What `validate -i INV` and then `plan --offline` do with two files' bytes.
    static func validateAndPlan(runbook: [UInt8], runbookPath: String, inventory: [UInt8], inventoryPath: String)
        -> Diagnostics
    {
        var diagnostics = Diagnostics()
        let registry = ActionRegistry.standard
        guard let inventoryText = SourceText.decode(inventory, file: inventoryPath, diagnostics: &diagnostics),
            let runbookText = SourceText.decode(runbook, file: runbookPath, diagnostics: &diagnostics)
        else { return diagnostics }
        let loadedInventory = InventoryLoader.load(
            text: inventoryText, file: inventoryPath, hostKeys: registry.hostKeys, diagnostics: &diagnostics)
        guard let loaded = RunbookLoader.load(text: runbookText, file: runbookPath, diagnostics: &diagnostics) else {
            return diagnostics
        }
        diagnostics.append(contentsOf: RunbookChecker(registry: registry, inventory: loadedInventory).check(loaded))
        guard !diagnostics.hasErrors, let loadedInventory else { return diagnostics }
        // No -p: a param the inventory does not give is an error at its declaration.
        let request = Compiler.Request(runbook: loaded, inventory: loadedInventory)
        if let compiled = Compiler(registry: registry).compile(request, diagnostics: &diagnostics) {
            _ = PlanTextRenderer(plan: compiled, color: false).render()
            _ = PlanJSONRenderer(plan: compiled).render()
        }
        return diagnostics
    }

    /// VmHWM: the most memory this process has held.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
}

/// SplitMix64: small and the same on every platform, so a seed always gives the same mutants.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound (bound > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}

/// Mutations of YAML text, from byte noise to plausible operator mistakes and hostile values.
enum Mutator {
    /// Values an operator or an attacker might put anywhere.
    static let tokens: [String] = [
        "*a", "&a", "&a [1, 2]", "*undefined", "[", "]", "{", "}", "'", "\"", ": ", "- ", "? ", "#", "|", ">", "---",
        "...",
        "${{", "}}", "${{ }}", "${{ params.nope }}", "${{ 1 + 'a' }}", "${{ steps.x.outputs.y }}", "${{ (((((((( }}",
        "99999999999999999h", "99999999999999999999", "-1", "0s", "1.5h", "30d", "31d", "-oProxyCommand=touch /tmp/x",
        "\"\"", "~", "null", "true", "yes", "!!binary", "!!str", "<<: *a", "%YAML 1.1", "\t", "\u{0}", "\u{7}",
        "\u{FEFF}",
        "\u{1F600}", "é", "$(touch /tmp/x)", "`id`", "; rm -rf /", "'it''s'", "\\", "\n", "\n  ", "\n- ",
        "on: nowhere",
        "needs: [missing]", "when: \"'yes'\"", "retries: 1000", "concurrency: 0", "address: ''", "roles: [secondary]",
        "action: shell", "probe: command", "gate: {approval: {}}", "choose: []", "undo: {action: shell}",
        String(repeating: "[", count: 300), String(repeating: "{a: ", count: 200), String(repeating: "x", count: 5_000),
        "{a: &b [x, x, x, x, x, x, x, x], c: &d [*b, *b, *b, *b, *b, *b, *b, *b], "
            + "e: &f [*d, *d, *d, *d, *d, *d, *d, *d], "
            + "g: &h [*f, *f, *f, *f, *f, *f, *f, *f], i: [*h, *h, *h, *h, *h, *h, *h, *h]}",
    ]

    static func mutate(_ bytes: inout [UInt8], donor: [UInt8], random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : random.below(bytes.count + 1)
        switch random.below(10) {
        case 0:  // flip a byte
            if !bytes.isEmpty { bytes[min(position, bytes.count - 1)] ^= UInt8(1 << random.below(8)) }
        case 1:  // a random byte
            bytes.insert(UInt8(random.below(256)), at: position)
        case 2:  // delete a run of bytes
            let count = min(random.below(40) + 1, bytes.count - position)
            if count > 0 { bytes.removeSubrange(position..<position + count) }
        case 3, 4:  // a token, at a random place or at the start of a value
            var at = position
            if random.below(2) == 0, let colon = bytes[position...].firstIndex(of: UInt8(ascii: ":")) { at = colon + 1 }
            bytes.insert(contentsOf: Array(tokens[random.below(tokens.count)].utf8), at: min(at, bytes.count))
        case 5:  // replace the rest of a line with a token
            let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            bytes.replaceSubrange(position..<end, with: Array(tokens[random.below(tokens.count)].utf8))
        case 6:  // duplicate, delete or swap lines
            var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
            guard !lines.isEmpty else { return }
            let a = random.below(lines.count)
            let b = random.below(lines.count)
            switch random.below(3) {
            case 0: lines.insert(lines[a], at: b)
            case 1: lines.remove(at: a)
            default: lines.swapAt(a, b)
            }
            bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
        case 7:  // indent or dedent a line
            let start = bytes[..<position].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            if random.below(2) == 0 {
                bytes.insert(contentsOf: Array(repeating: UInt8(ascii: " "), count: random.below(4) + 1), at: start)
            } else if start < bytes.count, bytes[start] == UInt8(ascii: " ") {
                bytes.remove(at: start)
            }
        case 8:  // truncate
            bytes.removeSubrange(position...)
        default:  // splice a piece of another shipped file
            guard !donor.isEmpty else { return }
            let from = random.below(donor.count)
            let count = min(random.below(400) + 1, donor.count - from)
            bytes.insert(contentsOf: donor[from..<from + count], at: position)
        }
    }
}
