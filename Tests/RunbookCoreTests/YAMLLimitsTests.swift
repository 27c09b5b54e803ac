import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// What a hostile or runaway YAML file cannot do: expand aliases, nest or grow without bound.
@Suite struct YAMLLimitsTests {
    /// Nine levels of nine-fold aliases (387 million nodes from about 1.5 KB), with 1️⃣ at the
    /// alias past the budget: the first `*e` of `f` (aliases have added 74,718 nodes by then,
    /// and each `*e` adds 66,430).
    static let bomb = """
        {a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol], \
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a], c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b], \
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c], e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d], \
        f: &f [1️⃣*e, *e, *e, *e, *e, *e, *e, *e, *e], g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f], \
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g], i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]}
        """

    /// The bomb under keys of a runbook and of an inventory, each refused at the alias, fast.
    @Test(arguments: [
        "metadata: {name: t, labels: BOMB}\nsteps: []\n",
        "metadata: {name: t}\nsteps:\n  - id: a\n    action: shell\n    with: {run: [x], env: BOMB}\n"
            + "    irreversible: true\n",
        "metadata: {name: t}\nparams:\n  p: {type: list, default: BOMB}\nsteps: []\n",
        "metadata: {name: t}\nunknown_key: BOMB\nsteps: []\n",
    ])
    func aliasBombInARunbookIsRefusedAtTheAlias(_ body: String) {
        let marked = MarkedText(
            "apiVersion: runbook/v1\nkind: Runbook\n" + body.replacingOccurrences(of: "BOMB", with: Self.bomb))
        let clock = ContinuousClock()
        var diagnostics = Diagnostics()
        let elapsed = clock.measure {
            _ = RunbookLoader.load(text: marked.text, file: "runbook.yaml", diagnostics: &diagnostics)
        }
        let position = marked.positions["1️⃣"]!
        let error = diagnostics.errors.first { $0.message.contains("alias '*e'") }
        #expect(
            error?.location == SourceLocation(file: "runbook.yaml", line: position.line, column: position.column),
            "\(diagnostics.all)")
        #expect(error?.message.contains("write the values out") == true)
        #expect(elapsed < .seconds(2), "the bomb took \(elapsed) to refuse")
    }

    @Test func aliasBombInInventoryVarsIsRefusedAtTheAlias() {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: i}
            hosts: {h: {transport: local}}
            vars: {x: \(Self.bomb)}
            """)
        var diagnostics = Diagnostics()
        let inventory = InventoryLoader.load(text: marked.text, file: "inventory.yaml", diagnostics: &diagnostics)
        let position = marked.positions["1️⃣"]!
        #expect(inventory == nil)
        #expect(
            diagnostics.errors.map(\.location) == [
                SourceLocation(file: "inventory.yaml", line: position.line, column: position.column)
            ])
    }

    /// Aliases within the budget keep working: an undo written once and used twice.
    @Test func modestAliasesStillLoad() {
        let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            steps:
              - id: a
                action: shell
                with: {run: [mkdir, /tmp/x]}
                undo: &undo {action: shell, with: {run: [rm, -rf, /tmp/x]}}
              - id: b
                action: shell
                with: {run: [mkdir, /tmp/x]}
                undo: *undo
            """
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(text: text, file: "runbook.yaml", diagnostics: &diagnostics)
        #expect(!diagnostics.hasErrors, "\(diagnostics.all)")
        #expect(runbook?.steps.compactMap(\.undo?.action.value) == ["shell", "shell"])
    }

    @Test func anAliasBeforeItsAnchorIsAnErrorAtTheAlias() {
        let marked = MarkedText("a: 1️⃣*nowhere\n")
        var diagnostics = Diagnostics()
        #expect(YAMLParser.parse(marked.text, file: "f.yaml", diagnostics: &diagnostics) == nil)
        #expect(diagnostics.errors.first?.message.contains("names no anchor") == true)
        #expect(diagnostics.errors.first?.location == SourceLocation(file: "f.yaml", line: 1, column: 4))
    }

    @Test func deepNestingIsRefusedWhereItGoesTooDeep() {
        let depth = YAMLParser.Limits.standard.maxDepth
        let text = String(repeating: "[", count: depth + 50) + String(repeating: "]", count: depth + 50)
        var diagnostics = Diagnostics()
        #expect(YAMLParser.parse(text, file: "f.yaml", diagnostics: &diagnostics) == nil)
        #expect(diagnostics.errors.count == 1)
        #expect(diagnostics.errors.first?.location == SourceLocation(file: "f.yaml", line: 1, column: depth + 1))
        #expect(diagnostics.errors.first?.message.contains("nested more than \(depth) levels") == true)
        // As deep as allowed is fine.
        var fine = Diagnostics()
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(YAMLParser.parse(nested, file: "f.yaml", diagnostics: &fine) != nil)
        #expect(!fine.hasErrors)
    }

    @Test func sizeAndNodeCountAreBounded() {
        let limits = YAMLParser.Limits(maxBytes: 100, maxNodes: 20, maxAliasNodes: 10, maxDepth: 8)
        var tooLong = Diagnostics()
        #expect(
            YAMLParser.parse(
                String(repeating: "# comment\n", count: 11), file: "f.yaml", limits: limits,
                diagnostics: &tooLong) == nil)
        #expect(tooLong.errors.first?.message.contains("more than the 100") == true)
        #expect(tooLong.errors.first?.location == SourceLocation(file: "f.yaml", line: 1, column: 1))

        // The list and 19 numbers are 20 values; the 20th number is one too many.
        let marked = MarkedText("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1️⃣20, 21]")
        var tooMany = Diagnostics()
        #expect(YAMLParser.parse(marked.text, file: "f.yaml", limits: limits, diagnostics: &tooMany) == nil)
        #expect(tooMany.errors.first?.message.contains("more than 20 values") == true)
        #expect(
            tooMany.errors.first?.location
                == SourceLocation(file: "f.yaml", line: 1, column: marked.positions["1️⃣"]!.column))
    }

    /// A second document, which Yams refused as a composer error, is refused here too.
    @Test func oneDocumentPerFile() {
        let marked = MarkedText("a: 1\n1️⃣---\nb: 2\n")
        var diagnostics = Diagnostics()
        #expect(YAMLParser.parse(marked.text, file: "f.yaml", diagnostics: &diagnostics) == nil)
        #expect(diagnostics.errors.first?.location == SourceLocation(file: "f.yaml", line: 2, column: 1))
    }
}
