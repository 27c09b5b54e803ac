import RunbookCore
import RunbookTestSupport
import Testing

/// `validate` refuses every expression that `plan --offline` refuses without run-time values
/// (a step's outputs, the run id): each case is put where a runbook would have it, then loaded
/// and checked as `validate -i` does, and compiled as `plan --offline` does. Both must refuse
/// it, and validate's error must be on the case's line. (Before, validate passed all of these.)
@Suite struct StaticExpressionTests {
    /// Where the expression goes: `when`, a `run` argument, a `with` value, a gate prompt, or
    /// the `when` of a choose alternative. `EXPR` is replaced by the case.
    enum Slot: String, Sendable, CaseIterable {
        case when, argument, cwd, run, prompt, choose

        /// The step's lines after `on:`, with `EXPR` where the case goes.
        var text: String {
            let undo = "    undo: {action: shell, with: {run: [\"true\"]}}"
            switch self {
            case .when: return "    when: EXPR\n    action: shell\n    with: {run: [\"true\"]}\n" + undo
            case .argument: return "    action: shell\n    with: {run: [echo, \"x${{ EXPR }}\"]}\n" + undo
            case .cwd: return "    action: shell\n    with: {run: [\"true\"], cwd: \"${{ EXPR }}\"}\n" + undo
            case .run: return "    action: shell\n    with: {run: \"${{ EXPR }}\"}\n" + undo
            case .prompt: return "    gate: {approval: {prompt: \"go ${{ EXPR }}?\"}}"
            case .choose:
                return "    choose:\n      - when: EXPR\n        step: {action: shell, with: {run: [\"true\"]}, undo: {"
                    + "action: shell, with: {run: [\"true\"]}}}"
            }
        }

        /// The line of the slot that holds the expression, counted from its first.
        var expressionLine: Int {
            switch self {
            case .when, .prompt: return 0
            case .argument, .cwd, .run, .choose: return 1
            }
        }
    }

    static let runbook = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: t}
        modes: [planned, drill]
        params:
          n: {type: int, default: 3}
          s: {type: string, default: abc}
          flag: {type: bool, default: true}
          d: {type: duration, default: 15m}
          l: {type: list, default: [a, b]}
          given: {type: string}
        roles: {site: {min: 1}}
        steps:
          - id: first
            on: site
            action: shell
            with: {run: ["true"]}
            undo: {action: shell, with: {run: ["true"]}}
          - id: target
            needs: [first]
            on: here

        """

    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: i}
        defaults: {transport: local}
        hosts:
          here: {roles: [site]}
        vars: {x: 1, volume: gv0}
        """

    /// The line the slot starts on.
    static let slotLine = 22

    /// Refused by `plan --offline` (checked on the base commit with the CLI too).
    static let refused: [(Slot, String)] = [
        (.when, "\"'yes'\""),  // a quoted string as a condition
        (.when, "params.s"),
        (.when, "params.n"),
        (.when, "params.d"),
        (.when, "params.n + 'x' == 'y'"),
        (.when, "1 + 'a' == 2"),
        (.when, "\"!'x'\""),  // quoted for YAML, where a leading ! is a tag
        (.when, "\"!params.n\""),
        (.when, "-params.s == 1"),
        (.when, "params.s < 1"),
        (.when, "params.flag && 'x'"),
        (.when, "\"'x' || params.flag\""),
        (.when, "len(5) > 0"),
        (.when, "len(params.n) == 1"),
        (.when, "contains(params.n, 1)"),
        (.when, "contains('abc', 1)"),
        (.when, "startsWith(params.n, 'a')"),
        (.when, "all(params.s)"),
        (.when, "count(5) == 0"),
        (.when, "min(1, 'a') == 1"),
        (.when, "since(5) > 1m"),
        (.when, "params.d + 1 > 0"),
        (.when, "params.d > 5"),
        (.when, "now() - 5 > now()"),
        (.when, "params.s.x == 1"),
        (.when, "params.l['a'] == 'b'"),
        (.when, "params.n[0] == 1"),
        (.when, "len(params.l[*].x) == 2"),
        (.when, "hosts.site + 1 == 2"),
        (.when, "mode + 1 == 2"),
        (.when, "vars.x + 'a' == 'b'"),
        (.when, "host.name + 1 == 2"),
        (.when, "9223372036854775807 + 1 > 0"),  // no name read: known now, though not a type error
        (.argument, "params.l"),  // a list put into text
        (.argument, "1 + 'a'"),
        (.argument, "params.n - 'a'"),
        (.run, "params.s"),  // `run` is an argv list
        (.cwd, "params.l"),
        (.prompt, "params.n + 'x'"),
        (.choose, "params.s"),
        (.choose, "1 < 'a'"),
    ]

    /// Accepted by both (values known at run time stay unknown; a value error waits for plan).
    static let accepted: [(Slot, String)] = [
        (.when, "params.flag"),
        (.when, "params.n > 2 && params.s == 'abc'"),
        (.when, "steps.first.outputs.exit_code == 0"),
        (.when, "steps.first.outputs.stdout + 1 == 2"),  // unknown until run
        (.when, "len(params.l) == 2 && contains(params.l, 'a')"),
        (.when, "params.d > 10m && mode == 'drill'"),
        (.when, "since('2024-01-02T10:00:00Z') > 1h"),
        (.when, "hosts.site[0] == 'here' && vars.volume == 'gv0'"),
        (.argument, "params.n + 1"),
        (.argument, "params.given"),
        (.run, "params.l"),
        (.cwd, "params.s"),
        (.prompt, "hosts.site[0]"),
        (.choose, "run.id == 'x'"),
    ]

    struct Outcome {
        /// What loading found: nothing, so that what validate refuses is the expression.
        var load: Diagnostics
        var validate: Diagnostics
        var plan: Diagnostics
    }

    func outcome(_ slot: Slot, _ expression: String) -> (text: String, outcome: Outcome) {
        let text = Self.runbook + slot.text.replacingEvery("EXPR", with: expression) + "\n"
        // validate -i inventory: load both, check the runbook against the inventory.
        var load = Diagnostics()
        let inventory = InventoryLoader.load(text: Self.inventory, file: "i.yaml", diagnostics: &load)
        let loaded = RunbookLoader.load(text: text, file: "r.yaml", diagnostics: &load)
        var validate = load
        if let loaded {
            validate.append(contentsOf: RunbookChecker(registry: .builtIn, inventory: inventory).check(loaded))
        }
        // plan --offline -p given=value.
        var plan = Diagnostics()
        if let runbook = RunbookLoader.load(text: text, file: "r.yaml", diagnostics: &plan), let inventory {
            let request = Compiler.Request(runbook: runbook, inventory: inventory, params: [("given", "value")])
            _ = Compiler(registry: .builtIn).compile(request, diagnostics: &plan)
        }
        return (text, Outcome(load: load, validate: validate, plan: plan))
    }

    @Test(arguments: refused.indices)
    func validateRefusesWhatPlanRefuses(_ index: Int) {
        let (slot, expression) = Self.refused[index]
        let (text, outcome) = outcome(slot, expression)
        #expect(outcome.load.all.isEmpty, "\(slot) \(expression) does not load: \(outcome.load.all)")
        #expect(outcome.plan.hasErrors, "plan --offline accepts \(slot) \(expression):\n\(text)")
        let errors = outcome.validate.errors
        #expect(!errors.isEmpty, "validate accepts \(slot) \(expression); plan says: \(outcome.plan.errors)")
        #expect(errors.allSatisfy { $0.location?.line == Self.slotLine + slot.expressionLine }, "\(errors)")
    }

    @Test(arguments: accepted.indices)
    func bothAcceptWhatDependsOnRunTimeValues(_ index: Int) {
        let (slot, expression) = Self.accepted[index]
        let (_, outcome) = outcome(slot, expression)
        #expect(!outcome.validate.hasErrors, "validate refuses \(slot) \(expression): \(outcome.validate.errors)")
        #expect(!outcome.plan.hasErrors, "plan refuses \(slot) \(expression): \(outcome.plan.errors)")
    }
}

extension String {
    fileprivate func replacingEvery(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
