import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// The plan as one Codable document: what `plan --format json`, `plan -o` and the journal write.
@Suite struct PlanDocumentTests {
    static func compile(
        runbook path: String, inventory inventoryPath: String, mode: String? = nil,
        params: [(name: String, value: String)] = [], environment: [String: String] = [:],
        registry: ActionRegistry = .builtIn
    ) throws -> Plan {
        let root = PackagePaths.root
        let runbookText = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        let inventoryText = try String(contentsOf: root.appendingPathComponent(inventoryPath), encoding: .utf8)
        return try compile(
            runbookText: runbookText, file: path, inventoryText: inventoryText, inventoryFile: inventoryPath,
            mode: mode, params: params, environment: environment, registry: registry)
    }

    static func compile(
        runbookText: String, file: String = "r.yaml", inventoryText: String = PlannerTests.inventory,
        inventoryFile: String = "i.yaml", mode: String? = nil, params: [(name: String, value: String)] = [],
        environment: [String: String] = [:], registry: ActionRegistry = .builtIn
    ) throws -> Plan {
        var diagnostics = Diagnostics()
        let runbook = RunbookLoader.load(text: runbookText, file: file, diagnostics: &diagnostics)
        let inventory = InventoryLoader.load(text: inventoryText, file: inventoryFile, diagnostics: &diagnostics)
        let request = try Compiler.Request(
            runbook: #require(runbook, "\(diagnostics.all)"), inventory: #require(inventory, "\(diagnostics.all)"),
            mode: mode, params: params, environment: environment)
        return try #require(
            Compiler(registry: registry).compile(request, diagnostics: &diagnostics), "\(diagnostics.all)")
    }

    /// Encodes, decodes and encodes again: the same document and the same text both times.
    static func expectRoundTrip(_ plan: Plan, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        var document = PlanDocument(plan: plan)
        document.planHash = String(repeating: "ab", count: 32)
        document.facts = ["step:x": "+ will change", "host:a1": "reachable"]
        document.inputs = PlanDocument.Inputs(runbookSHA256: "r", inventorySHA256: "i")
        document.createdAt = "2026-01-02T03:04:05Z"
        for pretty in [false, true] {
            let text = document.encoded(redactor: plan.redactor, pretty: pretty)
            let decoded = try PlanDocument.decode(Data(text))
            #expect(decoded == document, sourceLocation: sourceLocation)
            #expect(decoded.steps == plan.nodes, sourceLocation: sourceLocation)
            #expect(decoded.preconditions == plan.preconditions, sourceLocation: sourceLocation)
            #expect(decoded.rollback == plan.rollback, sourceLocation: sourceLocation)
            #expect(decoded.counts == plan.counts, sourceLocation: sourceLocation)
            #expect(decoded.encoded(redactor: plan.redactor, pretty: pretty) == text, sourceLocation: sourceLocation)
        }
    }

    // MARK: - Round trips

    @Test func theQuickstartRoundTrips() throws {
        for mode in ["planned", "drill"] {
            for method in ["auto", "tar"] {
                let plan = try Self.compile(
                    runbook: "Examples/quickstart/failover.yaml", inventory: "Examples/quickstart/inventory.yaml",
                    mode: mode, params: [("sync_method", method)])
                #expect(!plan.nodes.isEmpty)
                try Self.expectRoundTrip(plan)
            }
        }
    }

    @Test func everyKindOfNodeRoundTrips() throws {
        let text =
            PlannerTests.header + """
                modes: [planned, drill]
                params:
                  settle: {type: duration, default: 90s}
                  hosts: {type: list, default: [a, b]}
                  count: {type: int, default: 3}
                  fast: {type: bool, default: true}
                preconditions:
                  - id: reachable
                    on: secondary
                    probe: ssh.reachable
                steps:
                  - id: prepare
                    on: any(secondary)
                    action: shell
                    retries: 2
                    retry_delay: 5s
                    timeout: 1m
                    on_failure: continue
                    description: "Prepare: with \\"quotes\\", a tab\\t, a newline\\n and ünïcödé"
                    with:
                      run: [mkdir, -p, "/srv/${{ params.count }}"]
                      env: {B: "2", A: "1", "$odd": x}
                      cwd: /tmp
                      check: [test, -d, /srv]
                    undo: {action: shell, with: {run: [rmdir, /srv]}}
                  - id: sync
                    needs: [prepare]
                    on: primary
                    when: mode == 'planned'
                    choose:
                      - when: params.fast
                        step: {action: shell, with: {run: [cp, -a, x, y]}, undo: {action: shell, with: {run: [rm, y]}}}
                      - otherwise: {action: shell, with: {run: [cp, x, y]}, undo: {action: shell, with: {run: [rm]}}}
                  - id: later
                    needs: [sync]
                    action: shell
                    with: {run: [echo, "${{ steps.prepare.outputs.exit_code }}"]}
                    undo: {action: shell, with: {run: [echo, undo]}}
                  - id: go
                    needs: [later]
                    gate: {approval: {prompt: "Go?", approvers: [alice, bob], timeout: 10m, on_timeout: rollback}}
                    commit: true
                  - id: wait
                    needs: [go]
                    gate:
                      until:
                        probe: ssh.reachable
                        on: secondary[0]
                        condition: outputs.reachable
                        every: 30s
                        timeout: 1h
                  - id: skipped
                    needs: [wait]
                    when: mode == 'drill'
                    action: shell
                    with: {run: [echo, skipped]}
                    irreversible: true
                """
        for mode in ["planned", "drill"] {
            let plan = try Self.compile(runbookText: text, mode: mode)
            #expect(plan.nodes.contains { $0.choice != nil } && plan.nodes.contains { $0.gate?.every != nil })
            #expect(plan.nodes.contains { $0.arguments.hasUnknowns } && plan.nodes.contains { !$0.candidates.isEmpty })
            try Self.expectRoundTrip(plan)
        }
    }

    // MARK: - The encoder

    @Test func theStreamingEncoderWritesWhatJSONEncoderWrites() throws {
        let plan = try Self.compile(
            runbook: "Examples/quickstart/failover.yaml", inventory: "Examples/quickstart/inventory.yaml",
            mode: "drill")
        var document = PlanDocument(plan: plan)
        document.facts = ["b": "2", "a": "1"]
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = try foundation.encode(document)
        #expect(Data(document.encoded(redactor: .none, pretty: false)) == expected)

        // Pretty text is the same document, and chunks add up to the whole.
        let pretty = document.encoded(redactor: .none, pretty: true)
        #expect(try PlanDocument.decode(Data(pretty)) == document)
        #expect(String(decoding: pretty, as: UTF8.self).contains("\n  \"mode\" : \"drill\",\n"))
        var chunks: [[UInt8]] = []
        try StreamingJSONEncoder(pretty: true, chunkSize: 7).encode(document) { chunks.append(Array($0)) }
        #expect(chunks.count > 100 && chunks.dropLast().allSatisfy { $0.count >= 7 })
        #expect(chunks.flatMap { $0 } == pretty)
    }

    // MARK: - Secrets

    @Test func secretsAreMaskedInTheDocument() throws {
        let secret = "s3cr/t\"va\\lue\n42"
        let text =
            PlannerTests.header + """
                params:
                  token: {type: string, secret: true, from_env: DR_TOKEN}
                steps:
                  - id: notify
                    action: shell
                    with:
                      run: [curl, -H, "Authorization: Bearer ${{ params.token }}", https://example.invalid]
                      env: {TOKEN: "${{ params.token }}"}
                    undo: {action: shell, with: {run: [echo, "${{ params.token }}"]}}
                """
        let plan = try Self.compile(runbookText: text, environment: ["DR_TOKEN": secret])
        #expect(plan.nodes[0].commands.contains { $0.command.argv.contains("Authorization: Bearer \(secret)") })
        let escaped = String(decoding: try JSONEncoder().encode(secret), as: UTF8.self).dropFirst().dropLast()
        for pretty in [false, true] {
            let json = String(
                decoding: PlanDocument(plan: plan).encoded(redactor: plan.redactor, pretty: pretty), as: UTF8.self)
            for spelling in [secret, String(escaped), "s3cr", "42"] {
                #expect(!json.contains(spelling), "\(spelling) in \(json)")
            }
            let decoded = try PlanDocument.decode(json)
            #expect(decoded.params.map(\.value) == [.string("***")] && decoded.params[0].secret)
            #expect(decoded.steps[0].commands[0].command.argv.contains("Authorization: Bearer ***"))
            #expect(decoded.steps[0].commands[0].command.environment == ["TOKEN": "***"])
            #expect(decoded.steps[0].commands[0].command.shellText.contains("Bearer ***"))
            #expect(decoded.commandLineParams.isEmpty)
        }
        let rendered = PlanJSONRenderer(plan: plan).render()
        #expect(!rendered.contains("s3cr") && rendered.contains("Bearer ***") && rendered.hasSuffix("}\n"))
    }

    @Test func aSecretNumberIsMaskedToo() throws {
        let text =
            PlannerTests.header + """
                params:
                  pin: {type: int, secret: true, from_env: DR_PIN}
                steps:
                  - id: use
                    action: shell
                    with: {run: [echo, ok], env: {PIN: "${{ params.pin }}"}}
                    undo: {action: shell, with: {run: ["true"]}}
                """
        let plan = try Self.compile(runbookText: text, environment: ["DR_PIN": "271828"])
        let bytes = PlanDocument(plan: plan).encoded(redactor: plan.redactor, pretty: true)
        let json = String(decoding: bytes, as: UTF8.self)
        #expect(!json.contains("271828") && json.contains(#""PIN" : "***""#), "\(json)")
    }

    // MARK: - Documents written before

    @Test func theJournalsPlanOfVersionOneIsRead() throws {
        let legacy = #"""
            {"inventory_sha256":"inv","mode":"drill","params":{"workdir":"/tmp/x"},"plan":{"counts":{\#
            "already_done":0,\#
            "skipped":0,"unknown":1,"will_change":0},"inventory":{"file":"i.yaml","name":"lab"},"mode":"drill",\#
            "offline":true,"params":[{"name":"workdir","secret":false,"source":"default","value":"\/tmp\/x"},\#
            {"name":"settle","secret":false,"source":"--param","value":"30s"},\#
            {"name":"token","secret":true,"source":"environment","value":"***"}],"preconditions":[],\#
            "rollback":[{"commit_point":"go"},{"undo":"make"}],"runbook":{"file":"r.yaml","name":"t"},"steps":[{\#
            "arguments":{"run":["touch","\/tmp\/x"]},"changes":true,"commands":[{"argv":["touch","\/tmp\/x"],\#
            "host":"localhost","purpose":"apply","shell":"touch \/tmp\/x"}],"commit":false,\#
            "effect":"unknown_until_run",\#
            "host":"localhost","id":"make","kind":"action","location":"r.yaml:9:5","needs":[],\#
            "reason":"not probed (--offline)","step":"make","target":"localhost","type":"shell",\#
            "undo":{"commands":[{"argv":["rm","\/tmp\/x"],"host":"localhost","purpose":"undo",\#
            "shell":"rm \/tmp\/x"}],\#
            "kind":"declared"}},{"id":"pick","kind":"choose","choose":{"chosen":null,"alternatives":[{"type":"shell",\#
            "when":"otherwise","result":null,"values":[],"commands":[]}]}}],"version":1},"runbook_sha256":"rb",\#
            "secret_params":["token"]}
            """#
        let document = try PlanDocument.decode(legacy)
        #expect(document.version == 1 && document.mode == "drill")
        #expect(document.inputs == PlanDocument.Inputs(runbookSHA256: "rb", inventorySHA256: "inv"))
        #expect(document.commandLineParams == ["workdir": "/tmp/x", "settle": "30s"])
        #expect(document.rollback == [.commitPoint(nodeID: "go"), .undo(nodeID: "make")])
        let make = document.steps[0]
        #expect(make.location == SourceLocation(file: "r.yaml", line: 9, column: 5))
        #expect(make.effect == .unknown("not probed (--offline)") && make.onFailure == .rollback)
        #expect(make.undo == .commands([PlannedCommand(.undo, on: "localhost", CommandSpec(argv: ["rm", "/tmp/x"]))]))
        #expect(document.steps[1].stepID == "pick" && document.steps[1].choice?.alternatives[0].condition == nil)

        // Only `steps` is required: `{}` is not a plan.
        #expect(throws: DecodingError.self) { try PlanDocument.decode("{}") }
        #expect(
            try PlanDocument.decode(#"{"steps":[{"id":"g","kind":"gate","gate":{"prompt":"Go?"}}]}"#)
                .steps[0].gate?.prompt == "Go?")
    }

    @Test func thePartsOfANodeRoundTripOnTheirOwn() throws {
        let plan = try Self.compile(
            runbook: "Examples/quickstart/failover.yaml", inventory: "Examples/quickstart/inventory.yaml",
            mode: "drill")
        func roundTrip<T: Codable & Equatable>(_ value: T) throws -> Bool {
            try JSONDecoder().decode(T.self, from: Data(StreamingJSONEncoder().encode(value))) == value
        }
        for node in plan.nodes {
            #expect(try roundTrip(node) && roundTrip(node.arguments) && roundTrip(node.effect) && roundTrip(node.undo))
            #expect(try node.commands.allSatisfy(roundTrip) && roundTrip(node.location.description))
            if let gate = node.gate { #expect(try roundTrip(gate)) }
            if let choice = node.choice { #expect(try roundTrip(choice)) }
            if let when = node.when { #expect(try roundTrip(when)) }
        }
        #expect(try plan.params.allSatisfy(roundTrip) && plan.rollback.allSatisfy(roundTrip))
        #expect(try roundTrip(UndoPlan.none) && roundTrip(UndoPlan.missing) && roundTrip(PlanEffect.willChange(nil)))
    }

    @Test func aLocationWhoseFileHasColonsIsReadBack() {
        #expect(
            SourceLocation(parsing: "C:/x:y.yaml:12:3") == SourceLocation(file: "C:/x:y.yaml", line: 12, column: 3))
        #expect(SourceLocation(parsing: "nowhere") == nil)
    }
}
