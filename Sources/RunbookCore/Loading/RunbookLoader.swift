/// Turns runbook YAML into a `Runbook`, reporting every problem in the text it can find.
///
/// Loading checks shape: keys, types, durations, ids. Cross-references (needs, targets, types,
/// expressions) are checked afterwards by `RunbookChecker`, which has the whole runbook.
public enum RunbookLoader {
    static let topLevelKeys = [
        "apiVersion", "kind", "metadata", "modes", "on_failure", "on_item_failure", "concurrency", "max_concurrency",
        "max_failed", "params", "roles", "preconditions", "steps", "objectives", "notify",
    ]
    static let stepKeys = [
        "id", "needs", "on", "when", "modes", "action", "probe", "gate", "choose", "with", "check",
        "verify", "undo", "irreversible", "commit", "retries", "retry_delay", "timeout", "on_failure",
        "expect", "message", "description", "for_each", "key", "max_concurrency", "max_failed",
    ]
    static let alternativeStepKeys = stepKeys.filter {
        !["id", "needs", "modes", "when", "choose", "for_each", "key", "max_concurrency", "max_failed"].contains($0)
    }
    static let paramKeys = ["type", "default", "enum", "pattern", "secret", "from_env", "description"]

    /// Loads a runbook from its text; nil only when the text is not a YAML mapping at all.
    public static func load(text: String, file: String, diagnostics: inout Diagnostics) -> Runbook? {
        guard let root = YAMLParser.parse(text, file: file, diagnostics: &diagnostics) else { return nil }
        var reader = NodeReader()
        let runbook = load(root: root, file: file, reader: &reader)
        diagnostics.append(contentsOf: reader.diagnostics)
        return runbook
    }

    static func load(root: YAMLNode, file: String, reader: inout NodeReader) -> Runbook? {
        guard let top = reader.mapping(root, allowed: topLevelKeys, what: "the runbook") else { return nil }
        var runbook = Runbook(file: file, location: root.location)

        if let pair = top["apiVersion"] {
            if let version = reader.string(pair.value, what: "apiVersion"), version != "runbook/v1" {
                reader.diagnostics.error(
                    "unsupported apiVersion '\(version)': this runbook understands runbook/v1", at: pair.value.location)
            }
        } else {
            reader.diagnostics.error(
                "missing required key 'apiVersion' (add `apiVersion: runbook/v1`)", at: root.location)
        }
        if let pair = top["kind"], let kind = reader.string(pair.value, what: "kind"), kind != "Runbook" {
            reader.diagnostics.error("kind must be Runbook here, got '\(kind)'", at: pair.value.location)
        }
        if let pair = top["metadata"],
            let meta = reader.mapping(pair.value, allowed: ["name", "description", "labels"], what: "metadata")
        {
            if let name = meta["name"] {
                if let text = reader.string(name.value, what: "metadata.name") {
                    runbook.name = Located(text, at: name.value.location)
                    if !isValidName(text) {
                        reader.diagnostics.error(
                            "metadata.name '\(text)' must be letters, digits, '.', '_' or '-'", at: name.value.location)
                    }
                }
            } else {
                reader.diagnostics.error("missing required key 'name' in metadata", at: pair.value.location)
            }
            if let description = meta["description"] {
                runbook.description = reader.string(description.value, what: "metadata.description")
            }
        } else if top["metadata"] == nil {
            reader.diagnostics.error("missing required key 'metadata' (with a `name`)", at: root.location)
        }
        if let pair = top["modes"], let modes = reader.stringList(pair.value, what: "modes") {
            var seen = Set<String>()
            for mode in modes {
                if !isValidID(mode.value) {
                    reader.diagnostics.error("mode '\(mode.value)' must match [a-z0-9][a-z0-9-]*", at: mode.location)
                } else if !seen.insert(mode.value).inserted {
                    reader.diagnostics.error("mode '\(mode.value)' is listed twice", at: mode.location)
                }
            }
            runbook.modes = modes
        }
        if let pair = top["on_failure"],
            let policy = reader.enumValue(pair.value, what: "on_failure", as: FailurePolicy.self)
        {
            runbook.onFailure = policy
        }
        if let pair = top["on_item_failure"],
            let policy = reader.enumValue(pair.value, what: "on_item_failure", as: ItemFailurePolicy.self)
        {
            runbook.onItemFailure = policy
        }
        if let pair = top["concurrency"], let value = reader.int(pair.value, what: "concurrency", range: 1...10_000) {
            runbook.concurrency = value
        }
        if let pair = top["max_concurrency"] {
            runbook.maxConcurrency = reader.budget(pair.value, what: "max_concurrency")
        }
        if let pair = top["max_failed"] { runbook.maxFailed = reader.budget(pair.value, what: "max_failed") }
        if let pair = top["params"] {
            runbook.params = loadParams(pair.value, reader: &reader)
        }
        if let pair = top["roles"] {
            runbook.roles = loadRoles(pair.value, reader: &reader)
        }
        if let pair = top["preconditions"] {
            runbook.preconditions = loadSteps(pair.value, what: "preconditions", reader: &reader).map {
                var step = $0
                step.isPrecondition = true
                return step
            }
            for step in runbook.preconditions {
                if case .probe = step.body { continue }
                reader.diagnostics.error(
                    "precondition '\(step.id)' must be a probe (preconditions only read)", at: step.location)
            }
        }
        if let pair = top["steps"] {
            runbook.steps = loadSteps(pair.value, what: "steps", reader: &reader)
        } else {
            reader.diagnostics.error("missing required key 'steps'", at: root.location)
        }
        if let pair = top["notify"] { runbook.notify = NotifyLoader.load(pair.value, reader: &reader) }
        if let pair = top["objectives"] {
            runbook.objectives = loadObjectives(pair.value, reader: &reader)
        }
        return runbook
    }

    // MARK: - Params and roles

    static func loadParams(_ node: YAMLNode, reader: inout NodeReader) -> [ParamSpec] {
        guard let pairs = node.pairs else {
            reader.diagnostics.error(
                "params must be a mapping of name to {type, default, ...}, got \(node.kindDescription)",
                at: node.location)
            return []
        }
        var result: [ParamSpec] = []
        for pair in pairs where !YAMLParser.isDuplicateSentinel(pair.key) {
            if !isValidParamName(pair.key) {
                reader.diagnostics.error(
                    "param name '\(pair.key)' must match [A-Za-z_][A-Za-z0-9_]*", at: pair.keyLocation)
            }
            var spec = ParamSpec(
                name: pair.key, location: pair.keyLocation, type: .string, defaultValue: nil, allowed: nil,
                pattern: nil, secret: false, fromEnv: nil, description: nil)
            if pair.value.isNull {
                result.append(spec)
                continue
            }
            guard let fields = reader.mapping(pair.value, allowed: paramKeys, what: "param '\(pair.key)'") else {
                continue
            }
            if let type = fields["type"],
                let value = reader.enumValue(
                    type.value, what: "the type of param '\(pair.key)'", as: ParamSpec.ParamType.self)
            {
                spec.type = value
            }
            spec.defaultValue = fields["default"]?.value
            if let values = fields["enum"],
                let list = reader.stringList(values.value, what: "enum of param '\(pair.key)'")
            {
                spec.allowed = list.map(\.value)
            }
            if let pattern = fields["pattern"],
                let text = reader.string(pattern.value, what: "pattern of param '\(pair.key)'")
            {
                if (try? Regex(text)) == nil {
                    reader.diagnostics.error(
                        "pattern of param '\(pair.key)' is not a valid regular expression", at: pattern.value.location)
                } else {
                    spec.pattern = Located(text, at: pattern.value.location)
                }
            }
            if let secret = fields["secret"], let value = reader.bool(secret.value, what: "secret") {
                spec.secret = value
            }
            if let env = fields["from_env"], let name = reader.string(env.value, what: "from_env") {
                if !isValidParamName(name) {
                    reader.diagnostics.error(
                        "from_env '\(name)' is not an environment variable name", at: env.value.location)
                }
                spec.fromEnv = name
            }
            if let description = fields["description"] {
                spec.description = reader.string(description.value, what: "description")
            }
            result.append(spec)
        }
        return result
    }

    static func loadRoles(_ node: YAMLNode, reader: inout NodeReader) -> [RoleSpec] {
        guard let pairs = node.pairs else {
            reader.diagnostics.error(
                "roles must be a mapping of role name to {min, max}, got \(node.kindDescription)", at: node.location)
            return []
        }
        var result: [RoleSpec] = []
        for pair in pairs where !YAMLParser.isDuplicateSentinel(pair.key) {
            if !isValidName(pair.key) {
                reader.diagnostics.error(
                    "role name '\(pair.key)' must be letters, digits, '_' or '-'", at: pair.keyLocation)
            }
            var role = RoleSpec(name: pair.key, location: pair.keyLocation, min: 1, max: nil, description: nil)
            if !pair.value.isNull,
                let fields = reader.mapping(
                    pair.value, allowed: ["min", "max", "description"], what: "role '\(pair.key)'")
            {
                if let min = fields["min"], let value = reader.int(min.value, what: "min", range: 0...10_000) {
                    role.min = value
                }
                if let max = fields["max"], let value = reader.int(max.value, what: "max", range: 1...10_000) {
                    role.max = value
                }
                if let description = fields["description"] {
                    role.description = reader.string(description.value, what: "description")
                }
            }
            result.append(role)
        }
        return result
    }

    // MARK: - Steps

    static func loadSteps(_ node: YAMLNode, what: String, reader: inout NodeReader) -> [Step] {
        guard let items = node.items else {
            reader.diagnostics.error("\(what) must be a list of steps, got \(node.kindDescription)", at: node.location)
            return []
        }
        return items.compactMap { loadStep($0, allowed: stepKeys, parentID: nil, reader: &reader) }
    }

    static func loadStep(_ node: YAMLNode, allowed: [String], parentID: String?, reader: inout NodeReader) -> Step? {
        let what = parentID.map { "an alternative of '\($0)'" } ?? "a step"
        guard let fields = reader.mapping(node, allowed: allowed, what: what) else { return nil }

        var id = parentID ?? ""
        var idLocation = node.location
        if parentID == nil {
            if let pair = fields["id"] {
                idLocation = pair.value.location
                if let text = reader.string(pair.value, what: "id") {
                    id = text
                    if !isValidID(text) {
                        reader.diagnostics.error(
                            "step id '\(text)' must match [a-z0-9][a-z0-9-]* (lower-case letters, digits, '-')",
                            at: pair.value.location)
                    }
                }
            } else {
                reader.diagnostics.error("missing required key 'id' in this step", at: node.location)
            }
        }

        // Exactly one body.
        let bodyKeys = ["action", "probe", "gate", "choose"].filter { fields[$0] != nil }
        var body: StepBody?
        if bodyKeys.count > 1 {
            reader.diagnostics.error(
                "step '\(id)' has both \(bodyKeys.map { "'\($0)'" }.joined(separator: " and ")): a step is exactly one of action, probe, gate or choose",
                at: fields[bodyKeys[1]]!.keyLocation)
        }
        if let key = bodyKeys.first {
            let pair = fields[key]!
            switch key {
            case "action":
                if let name = reader.string(pair.value, what: "action") {
                    body = .action(Located(name, at: pair.value.location))
                }
            case "probe":
                if let name = reader.string(pair.value, what: "probe") {
                    body = .probe(Located(name, at: pair.value.location))
                }
            case "gate":
                if let gate = loadGate(pair.value, stepID: id, reader: &reader) { body = .gate(gate) }
            default:
                if let alternatives = loadChoose(pair.value, stepID: id, reader: &reader) {
                    body = .choose(alternatives)
                }
            }
        } else {
            reader.diagnostics.error("step '\(id)' needs one of 'action', 'probe', 'gate' or 'choose'", at: idLocation)
        }

        var step = Step(id: id, location: idLocation, body: body ?? .action(Located("", at: idLocation)))
        if let pair = fields["description"] { step.description = reader.string(pair.value, what: "description") }
        if let pair = fields["needs"] {
            if let single = pair.value.scalar, !pair.value.isNull {
                step.needs = [Located(single, at: pair.value.location)]
            } else if let list = reader.stringList(pair.value, what: "needs") {
                step.needs = list
            }
        }
        if let pair = fields["on"], let target = loadTarget(pair.value, reader: &reader) {
            step.target = Located(target, at: pair.value.location)
        }
        if let pair = fields["when"] { step.when = reader.expression(pair.value, what: "when") }
        if let pair = fields["modes"] { step.modes = reader.stringList(pair.value, what: "modes") }
        step.with = fields["with"]?.value
        if let with = step.with, with.pairs == nil, !with.isNull {
            reader.diagnostics.error(
                "with must be a mapping of parameter names to values, got \(with.kindDescription)", at: with.location)
            step.with = nil
        }
        step.check = fields["check"]?.value
        step.verify = fields["verify"]?.value
        if let pair = fields["undo"] {
            if pair.value.isPlainScalar, pair.value.scalar == "none" {
                step.undoNone = Located(true, at: pair.value.location)
            } else {
                step.undo = loadUndo(pair.value, reader: &reader)
            }
        }
        if let pair = fields["irreversible"], let value = reader.bool(pair.value, what: "irreversible") {
            step.irreversible = value
            step.irreversibleLocation = pair.value.location
        }
        if let pair = fields["commit"], let value = reader.bool(pair.value, what: "commit") { step.commit = value }
        if let pair = fields["retries"], let value = reader.int(pair.value, what: "retries", range: 0...100) {
            step.retries = value
        }
        if let pair = fields["retry_delay"] { step.retryDelay = reader.duration(pair.value, what: "retry_delay") }
        if let pair = fields["timeout"] { step.timeout = reader.duration(pair.value, what: "timeout") }
        if let pair = fields["on_failure"] {
            step.onFailure = reader.enumValue(pair.value, what: "on_failure", as: FailurePolicy.self)
        }
        if let pair = fields["expect"] { step.expect = reader.expression(pair.value, what: "expect") }
        if let pair = fields["message"] { step.message = reader.string(pair.value, what: "message") }
        if let pair = fields["for_each"] { step.forEach = reader.expression(pair.value, what: "for_each") }
        if let pair = fields["max_concurrency"] {
            step.maxConcurrency = reader.budget(pair.value, what: "max_concurrency")
        }
        if let pair = fields["max_failed"] { step.maxFailed = reader.budget(pair.value, what: "max_failed") }
        if let pair = fields["key"] {
            step.keyLocation = pair.value.location
            if let text = pair.value.scalar, text.contains("${{"), NodeReader.unwrapInterpolation(text) == nil {
                // `key: "${{ item.a }}:${{ item.b }}"`: a text with interpolations, where an
                // expression is wanted.
                reader.diagnostics.error(
                    "key is an expression, not a text with ${{ }} in it: write it bare, joining parts with +, e.g. `key: item.a + ':' + item.b`",
                    at: pair.value.location)
            } else {
                step.key = reader.expression(pair.value, what: "key")
            }
        }
        return step
    }

    /// `on:` (a step's or an until gate's): one target.
    static func loadTarget(_ node: YAMLNode, reader: inout NodeReader) -> String? {
        if node.items != nil {
            reader.diagnostics.error(
                "on takes one target, got a list: a role (every host of it), role[N], any(role), a host name or localhost; "
                    + "to run on the hosts of two roles, give those hosts a common role in the inventory "
                    + "(`roles: [primary, storage]`) and write `on: storage`, or write one step per role",
                at: node.location)
            return nil
        }
        return reader.string(node, what: "on")
    }

    static func loadUndo(_ node: YAMLNode, reader: inout NodeReader) -> UndoSpec? {
        if node.scalar != nil {
            reader.diagnostics.error(
                "undo must be a mapping (`undo: {action: shell, with: {run: [...]}}`) or `none` (nothing to undo), got \(node.kindDescription)",
                at: node.location)
            return nil
        }
        guard let fields = reader.mapping(node, allowed: ["action", "with"], what: "undo") else { return nil }
        guard let action = fields["action"], let name = reader.string(action.value, what: "undo action") else {
            reader.diagnostics.error("undo needs an 'action' (for example `action: shell`)", at: node.location)
            return nil
        }
        return UndoSpec(
            action: Located(name, at: action.value.location), with: fields["with"]?.value, location: node.location)
    }

    static func loadGate(_ node: YAMLNode, stepID: String, reader: inout NodeReader) -> Gate? {
        guard let pairs = node.pairs, pairs.count >= 1 else {
            reader.diagnostics.error(
                "gate must be a mapping with 'approval' or 'until', got \(node.kindDescription): write "
                    + "\(Gate.approvalForm) or \(Gate.untilForm)", at: node.location)
            return nil
        }
        let known = Gate.Kind.Name.allCases.map(\.rawValue)
        let pair = pairs[0]
        if pairs.count > 1 {
            reader.diagnostics.error("a gate has exactly one type (approval or until)", at: pairs[1].keyLocation)
        }
        switch pair.key {
        case "approval":
            var gate = ApprovalGateSpec(prompt: nil, approvers: [], timeout: nil, onTimeout: .abort)
            if !pair.value.isNull,
                let fields = reader.mapping(
                    pair.value,
                    allowed: [
                        "prompt", "approvers", "timeout", "on_timeout", "allowed_signers", "quorum", "not_by_launcher",
                    ],
                    what: "approval gate", listAllowed: "directly under `approval:`, with no `with`")
            {
                gate.location = pair.value.location
                gate.prompt = fields["prompt"]?.value
                if let signers = fields["allowed_signers"],
                    let path = reader.string(signers.value, what: "allowed_signers")
                {
                    gate.allowedSigners = Located(path, at: signers.value.location)
                }
                if let quorum = fields["quorum"], let value = reader.int(quorum.value, what: "quorum") {
                    gate.quorum = Located(value, at: quorum.value.location)
                }
                if let flag = fields["not_by_launcher"], let value = reader.bool(flag.value, what: "not_by_launcher") {
                    gate.notByLauncher = Located(value, at: flag.value.location)
                }
                if let approvers = fields["approvers"], let list = reader.stringList(approvers.value, what: "approvers")
                {
                    gate.approvers = list.map(\.value)
                }
                if let timeout = fields["timeout"] {
                    (gate.timeout, gate.timeoutExpression) = gateTimeout(timeout.value, reader: &reader)
                }
                if let policy = fields["on_timeout"],
                    let value = reader.enumValue(policy.value, what: "on_timeout", as: GateTimeoutPolicy.self)
                {
                    gate.onTimeout = value
                }
            }
            return Gate(kind: .approval(gate), location: pair.keyLocation)
        case "until":
            let allowed = ["probe", "with", "on", "condition", "every", "timeout", "on_timeout"]
            guard
                let fields = reader.mapping(
                    pair.value, allowed: allowed, what: "until gate", listAllowed: "directly under `until:`")
            else { return nil }
            guard let probe = fields["probe"], let probeName = reader.string(probe.value, what: "probe") else {
                reader.diagnostics.error("an until gate needs a 'probe' to poll", at: pair.value.location)
                return nil
            }
            guard let conditionPair = fields["condition"],
                let condition = reader.expression(conditionPair.value, what: "condition")
            else {
                if fields["condition"] == nil {
                    reader.diagnostics.error(
                        "an until gate needs a 'condition' that says when to stop waiting", at: pair.value.location)
                }
                return nil
            }
            var gate = UntilGateSpec(
                probe: Located(probeName, at: probe.value.location), with: fields["with"]?.value, target: nil,
                condition: condition, every: 30, timeout: nil, onTimeout: .abort)
            if let target = fields["on"], let text = loadTarget(target.value, reader: &reader) {
                gate.target = Located(text, at: target.value.location)
            }
            if let every = fields["every"], let value = reader.duration(every.value, what: "every", minimum: 1) {
                gate.every = value
            }
            if let timeout = fields["timeout"] {
                (gate.timeout, gate.timeoutExpression) = gateTimeout(timeout.value, reader: &reader)
            }
            if let policy = fields["on_timeout"],
                let value = reader.enumValue(policy.value, what: "on_timeout", as: GateTimeoutPolicy.self)
            {
                gate.onTimeout = value
            }
            return Gate(kind: .until(gate), location: pair.keyLocation)
        default:
            reader.diagnostics.error(
                "unknown gate type '\(pair.key)'\(Suggestions.hint(for: pair.key, in: known)); gates are approval or until",
                at: pair.keyLocation)
            return nil
        }
    }

    /// A gate's `timeout`: a duration (`10m`), or an expression that gives one when the plan is
    /// made (`params.t` or `${{ params.t }}`, a param of type duration); the checker and the
    /// compiler check the expression's value.
    static func gateTimeout(_ node: YAMLNode, reader: inout NodeReader) -> (Double?, LocatedExpression?) {
        if let text = node.scalar, Value.parseDuration(text) == nil {
            let source = NodeReader.unwrapInterpolation(text)?.text ?? text
            if let expression = try? Expression(parsing: source), !expression.references.isEmpty {
                return (nil, reader.expression(node, what: "timeout"))
            }
        }
        return (reader.duration(node, what: "timeout"), nil)
    }

    static func loadChoose(_ node: YAMLNode, stepID: String, reader: inout NodeReader) -> [ChooseAlternative]? {
        guard let items = node.items, !items.isEmpty else {
            reader.diagnostics.error(
                "choose must be a list of {when, step} entries and an optional {otherwise}", at: node.location)
            return nil
        }
        var result: [ChooseAlternative] = []
        for (index, item) in items.enumerated() {
            guard
                let fields = reader.mapping(item, allowed: ["when", "step", "otherwise"], what: "a choose alternative")
            else { continue }
            if let otherwise = fields["otherwise"] {
                if fields["when"] != nil || fields["step"] != nil {
                    reader.diagnostics.error(
                        "'otherwise' stands alone: it takes no 'when' or 'step'", at: otherwise.keyLocation)
                }
                if index != items.count - 1 {
                    reader.diagnostics.error(
                        "'otherwise' must be the last alternative of '\(stepID)'", at: otherwise.keyLocation)
                }
                if let step = loadStep(otherwise.value, allowed: alternativeStepKeys, parentID: stepID, reader: &reader)
                {
                    result.append(ChooseAlternative(when: nil, step: step, location: otherwise.keyLocation))
                }
                continue
            }
            guard let whenPair = fields["when"] else {
                reader.diagnostics.error("a choose alternative needs 'when' (or use 'otherwise')", at: item.location)
                continue
            }
            guard let stepPair = fields["step"] else {
                reader.diagnostics.error("a choose alternative needs 'step'", at: item.location)
                continue
            }
            let condition = reader.expression(whenPair.value, what: "when")
            if let condition,
                let step = loadStep(stepPair.value, allowed: alternativeStepKeys, parentID: stepID, reader: &reader)
            {
                result.append(ChooseAlternative(when: condition, step: step, location: whenPair.keyLocation))
            }
        }
        return result
    }

    // MARK: - Names

    /// Step ids and modes: `[a-z0-9][a-z0-9-]*`.
    public static func isValidID(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isLowerOrDigit(first) else { return false }
        return text.unicodeScalars.allSatisfy { isLowerOrDigit($0) || $0 == "-" }
    }

    static func isValidParamName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || first.properties.isASCIIHexDigit || isLetter(first)
        else { return false }
        if first.properties.numericType != nil { return false }
        return text.unicodeScalars.allSatisfy { isLetter($0) || $0 == "_" || ("0"..."9").contains($0) }
    }

    static func isValidName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                isLetter($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
            }
    }

    private static func isLowerOrDigit(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }
    private static func isLetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
}
