import Foundation
import RunbookCore
import Synchronization
import Testing

@testable import RunbookGluster

/// A fake pool of nodes: answers each command by (host, argv without the program), records what ran where.
final class FakeNodes: Sendable {
    private let answers = Mutex<[String: [CommandResult]]>([:])
    private let log = Mutex<[(host: String, argv: [String])]>([])

    static func key(_ host: String, _ argv: [String]) -> String { host + " " + argv.dropFirst().joined(separator: " ") }

    /// Queues answers for `command` on `host`; the last one repeats.
    func on(_ host: String, _ command: CommandSpec, _ results: CommandResult...) {
        answers.withLock { $0[Self.key(host, command.argv), default: []].append(contentsOf: results) }
    }

    func on(_ host: String, _ command: CommandSpec, fixture name: String) throws {
        on(host, command, try Fixture(name).result)
    }

    var ran: [(host: String, argv: [String])] { log.withLock { $0 } }

    /// What ran, as `HOST WORD WORD` with the program's basename (python programs as `python3 -c <program>`).
    var summary: [String] {
        ran.map { entry in
            let words = entry.argv.enumerated().map { index, word in
                index == 0 ? String(word.split(separator: "/").last ?? "") : word.count > 200 ? "<program>" : word
            }
            return ([entry.host] + words).joined(separator: " ")
        }
    }

    var runner: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult {
        { [self] host, command, _, _ in
            log.withLock { $0.append((host, command.argv)) }
            let key = Self.key(host, command.argv)
            return try answers.withLock { answers in
                guard var queue = answers[key], let first = queue.first else {
                    throw TransportError(
                        kind: .unreachable, host: host, message: "fake: no answer for `\(key.prefix(160))`")
                }
                if queue.count > 1 {
                    queue.removeFirst()
                    answers[key] = queue
                }
                return first
            }
        }
    }
}

/// `glusterfind.session`, `glusterfind.changes`, `glusterfind.post` and their parsers, on the live
/// 10.3 outputs of the notes (see Fixtures/INDEX.md).
@Suite struct GlusterfindTests {
    static let gf = "/opt/gf/glusterfind"
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: lab}
        defaults: {transport: local, gluster: /opt/gluster/sbin/gluster, glusterfind: /opt/gf/glusterfind}
        hosts:
          gfs-b1: {roles: [secondary]}
          gfs-b2: {roles: [secondary]}
        """
    static let dir = "/var/lib/glusterd/glusterfind/drsess/mastervol"

    func node(_ step: String) throws -> PlanNode { try Lab.node(step, on: "gfs-b1", inventory: Self.inventory) }

    func context(_ node: PlanNode, _ fake: FakeNodes, _ phase: PlannedCommand.Purpose = .probe) -> ActionContext {
        ActionContext(
            node: node, host: node.host, settings: Lab.settings(node.host, inventory: Self.inventory), phase: phase,
            timeout: 30, runner: fake.runner)
    }

    func type(_ node: PlanNode) throws -> any ActionType { try #require(ActionRegistry.withGluster[node.typeName]) }

    static let cli = GlusterfindCLI(binary: gf)
    static let status = GlusterfindCLI.readStatus("drsess", "mastervol")
    static let keys = GlusterfindCLI.keysCheck
    static let pyxattr = GlusterfindCLI.pyxattrCheck(python: "/usr/bin/python3")

    /// What `readStatus` prints for these files (synthetic layout, values from the notes).
    static func statusFiles(_ files: [(String, Int)]) -> CommandResult {
        CommandResult(exitCode: 0, stdout: files.map { "\(dir)/\($0.0):\($0.1)\n" }.joined())
    }

    static let noSessionDir = CommandResult(
        exitCode: 1, stderr: "find: '\(dir)': No such file or directory\n")

    // MARK: glusterfind list

    @Test func parsesTheLiveListTableAndNoSessions() throws {
        let rows = try GlusterfindParse.sessions(Fixture("live-10.3-glusterfind-list.txt").output("glusterfind list"))
        #expect(rows == [GlusterfindSession(session: "drsess", volume: "gfv", time: "2026-12-01 07:32:58")])
        let after = try GlusterfindParse.sessions(Fixture("live-10.3-glusterfind-list-session.txt").output())
        #expect(after.first?.time == "2026-12-01 07:33:17")
        #expect(try GlusterfindParse.sessions(Fixture("live-10.3-glusterfind-list-empty.txt").output()) == [])
        #expect(throws: GlusterError.self) {
            try GlusterfindParse.sessions(
                GlusterOutput(command: "glusterfind list", host: "h", exitCode: 0, stdout: "?"))
        }
        #expect {
            try GlusterfindParse.sessions(
                GlusterOutput(
                    command: "glusterfind list", host: "h", exitCode: 1, stdout: "", stderr: "Invalid Session"))
        } throws: { "\($0)".contains("exited 1: Invalid Session") }
    }

    @Test func readsStatusFilesAndQuotesBrickPathsAsGlusterfindDoes() throws {
        let files = Self.statusFiles([
            ("status", 1_796_110_378), ("status.pre", 1_796_110_397), ("%2Flab%2Fbricks%2Fb1.status", 1_796_110_378),
            ("%2Flab%2Fbricks%2Fb1.status.pre", 1_796_110_397),
        ])
        let status = try GlusterfindParse.status(
            GlusterOutput(command: Self.status, host: "h", result: files), directory: Self.dir)
        #expect(status.session == 1_796_110_378 && status.pending == 1_796_110_397)
        #expect(status.brickEnds == ["%2Flab%2Fbricks%2Fb1": 1_796_110_397])
        let none = try GlusterfindParse.status(
            GlusterOutput(command: Self.status, host: "h", result: Self.noSessionDir), directory: Self.dir)
        #expect(none.files.isEmpty)
        #expect(GlusterfindParse.quotePlus("/lab/bricks/b1") == "%2Flab%2Fbricks%2Fb1")
        #expect(GlusterfindParse.quotePlus("/b r:1~_.-") == "%2Fb+r%3A1~_.-")
    }

    // MARK: glusterfind.session

    let sessionStep = "action: glusterfind.session\nwith: {session: drsess, volume: mastervol, nodes: [gfs-b1, gfs-b2]}"

    @Test func sessionPlansListStatusAndPrerequisitesOnEveryNodeThenCreate() throws {
        let node = try node(sessionStep)
        let shown = node.commands.map { "\($0.purpose) \($0.host) \($0.command.argv.joined(separator: " "))" }
        #expect(
            shown == [
                "probe gfs-b1 \(Self.gf) list",
                "probe gfs-b1 \(Self.status.argv.joined(separator: " "))",
                "probe gfs-b1 test -d /var/lib/glusterd/glusterfind/.keys",
                "probe gfs-b1 /usr/bin/python3 -c import xattr; xattr.list; xattr.getxattr",
                "probe gfs-b2 test -d /var/lib/glusterd/glusterfind/.keys",
                "probe gfs-b2 /usr/bin/python3 -c import xattr; xattr.list; xattr.getxattr",
                "apply gfs-b1 \(Self.gf) create drsess mastervol",
                "apply gfs-b1 \(Self.status.argv.joined(separator: " "))",
                "verify gfs-b1 \(Self.gf) list",
                "verify gfs-b1 \(Self.status.argv.joined(separator: " "))",
            ])
        #expect(
            node.undo
                == .derived(
                    "if this step created the session: `glusterfind delete SESSION VOLUME` (the volume options"
                        + " create set stay on)"
                ))
    }

    func prerequisitesOK(_ fake: FakeNodes) {
        for host in ["gfs-b1", "gfs-b2"] {
            fake.on(host, Self.keys, Lab.ok())
            fake.on(host, Self.pyxattr, Lab.ok())
        }
    }

    @Test func sessionCreatesReadsItsTimeAndUndoDeletesIt() async throws {
        let node = try node(sessionStep)
        let fake = FakeNodes()
        try fake.on("gfs-b1", Self.cli.list, fixture: "live-10.3-glusterfind-list-empty.txt")
        fake.on("gfs-b1", Self.status, Self.noSessionDir, Self.statusFiles([("status", 1_796_110_378)]))
        prerequisitesOK(fake)
        try fake.on("gfs-b1", Self.cli.create("drsess", "mastervol"), fixture: "live-10.3-glusterfind-create.txt")
        let action = try type(node)

        let observation = try await action.probe(context(node, fake))
        #expect(!observation.done)
        #expect(observation.summary == "no glusterfind session drsess for mastervol on gfs-b1 (no session)")
        #expect(observation.undoState == "{\"existed\":false}")

        let effect = try await action.apply(context(node, fake, .apply), observation: observation)
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["created"] == .bool(true))
        #expect(effect.outputs["session_time"] == .timestamp(try #require(utc("2026-12-01 07:32:58"))))

        // Undo: the session is listed now (the live table, as for `gfv`, with this volume's name).
        let listed = try Fixture("live-10.3-glusterfind-list.txt").text.replacingOccurrences(
            of: "gfv   ", with: "mastervol")
        let after = FakeNodes()
        after.on("gfs-b1", Self.cli.list, Lab.ok(listed))
        try after.on("gfs-b1", Self.cli.delete("drsess", "mastervol"), fixture: "live-10.3-glusterfind-delete.txt")
        let undone = try await action.undo(context(node, after, .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(after.summary.last == "gfs-b1 glusterfind delete drsess mastervol")

        // A session that existed before the step is left alone.
        let kept = try await action.undo(context(node, after, .undo), undoState: "{\"existed\":true}")
        #expect(kept.succeeded && kept.summary.contains("left alone"))
    }

    /// Two sessions' failovers create their glusterfind sessions at the same time; glusterfind's
    /// own `gluster system:: copy file` then meets the other's transaction and create fails before
    /// it writes the session (the lab's two-session failover, 2026-12-07 15:40). It is run again
    /// after the glusterd-lock waits; a failure for another reason is not.
    @Test func aCreateRefusedByGlusterdsLockIsRunAgain() async throws {
        let node = try node(sessionStep)
        let busy = CommandResult(
            exitCode: 1,
            stderr: "Failed to distribute ssh keys: b'Another transaction is in progress for N/A. Please try again"
                + " after some time.\n'\n")
        let fake = FakeNodes()
        try fake.on("gfs-b1", Self.cli.list, fixture: "live-10.3-glusterfind-list-empty.txt")
        fake.on("gfs-b1", Self.status, Self.noSessionDir, Self.statusFiles([("status", 1_796_110_378)]))
        prerequisitesOK(fake)
        fake.on(
            "gfs-b1", Self.cli.create("drsess", "mastervol"), busy, busy,
            try Fixture("live-10.3-glusterfind-create.txt").result)
        let action = try type(node)
        let observation = try await action.probe(context(node, fake))
        let effect = try await GlusterdLock.$delays.withValue([0.01, 0.01, 0.01]) {
            try await action.apply(context(node, fake, .apply), observation: observation)
        }
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(fake.summary.filter { $0.hasSuffix("create drsess mastervol") }.count == 3)

        let other = FakeNodes()
        other.on(
            "gfs-b1", Self.cli.create("drsess", "mastervol"),
            CommandResult(exitCode: 1, stderr: "Volume mastervol is not online\n"))
        let failed = try await GlusterdLock.$delays.withValue([0.01, 0.01]) {
            try await action.apply(context(node, other, .apply), observation: observation)
        }
        #expect(!failed.succeeded)
        #expect(other.summary.count == 1, "\(other.summary)")
    }

    @Test func sessionThatExistsIsDoneWithItsExactTime() async throws {
        let node = try node(sessionStep)
        let fake = FakeNodes()
        let listed = try Fixture("live-10.3-glusterfind-list.txt").text.replacingOccurrences(
            of: "gfv   ", with: "mastervol")
        fake.on("gfs-b1", Self.cli.list, Lab.ok(listed))
        fake.on("gfs-b1", Self.status, Self.statusFiles([("status", 1_796_110_378)]))
        prerequisitesOK(fake)
        let observation = try await type(node).probe(context(node, fake))
        #expect(observation.done, "\(observation.summary)")
        #expect(observation.outputs["session_time"] == .timestamp(try #require(utc("2026-12-01 07:32:58"))))
        #expect(observation.outputs["listed"] == .string("drsess mastervol 2026-12-01 07:32:58"))
    }

    @Test func sessionSaysWhatIsMissingWhereAndHowToFixIt() async throws {
        let node = try node(sessionStep)
        let fake = FakeNodes()
        try fake.on("gfs-b1", Self.cli.list, fixture: "live-10.3-glusterfind-list-empty.txt")
        fake.on("gfs-b1", Self.status, Self.noSessionDir)
        fake.on("gfs-b1", Self.keys, Lab.ok())
        fake.on("gfs-b2", Self.keys, CommandResult(exitCode: 1))
        // What /usr/bin/python3 prints without python3-pyxattr, and with python3-xattr instead (its API differs).
        fake.on(
            "gfs-b1", Self.pyxattr,
            CommandResult(
                exitCode: 1,
                stderr: "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n"
                    + "ModuleNotFoundError: No module named 'xattr'\n"))
        fake.on(
            "gfs-b2", Self.pyxattr,
            CommandResult(
                exitCode: 1,
                stderr: "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n"
                    + "AttributeError: module 'xattr' has no attribute 'list'\n"))
        await #expect {
            try await type(node).probe(context(node, fake))
        } throws: { error in
            let text = "\(error)"
            return text.contains("on gfs-b1: /usr/bin/python3 cannot import xattr")
                && text.contains("run `apt-get install python3-pyxattr`")
                && text.contains("on gfs-b2: /var/lib/glusterd/glusterfind/.keys does not exist")
                && text.contains("`mkdir -p /var/lib/glusterd/glusterfind/.keys`")
                && text.contains("on gfs-b2: /usr/bin/python3 imports an xattr module without the pyxattr API")
                && !text.contains("on gfs-b1: /var/lib")
        }
        #expect(!fake.summary.contains { $0.contains(" create ") })
    }

    @Test func createWithoutTheKeysDirectorySaysHowToFixIt() async throws {
        let node = try node(sessionStep)
        let fake = FakeNodes()
        try fake.on(
            "gfs-b1", Self.cli.create("drsess", "mastervol"), fixture: "live-10.3-glusterfind-create-no-keys.txt")
        let effect = try await type(node).apply(
            context(node, fake, .apply), observation: Observation(done: false, summary: ""))
        #expect(!effect.succeeded)
        #expect(effect.summary.contains("exited 1: Failed to copy public key to /var/lib/glusterd/glusterfind/.keys"))
        #expect(effect.summary.contains("run `mkdir -p /var/lib/glusterd/glusterfind/.keys` on every node"))
    }

    @Test func sessionNamesAreCheckedAsGlusterfindDoes() throws {
        for (name, message) in [("x", "2-256 letters"), ("a b", "2-256 letters"), ("default", "reserved")] {
            let type = GlusterfindSessionAction()
            let messages = type.check(ResolvedArguments(["session": .string(name), "volume": .string("v")]))
            #expect(messages.first?.contains(message) == true, "\(name): \(messages)")
        }
    }

    // MARK: glusterfind.changes

    let changesStep = """
        action: glusterfind.changes
        with: {session: drsess, volume: mastervol, outfile: /var/tmp/final.txt, nodes: [gfs-b1, gfs-b2]}
        """

    static let rollover = Lab.ok(
        """
        <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volGetopts><count>1</count>
        <Opt><Option>changelog.rollover-time</Option><Value>3</Value></Opt></volGetopts></cliOutput>
        """)
    static let gluster = GlusterCLI(binary: Lab.binary)
    static let count = CommandSpec(argv: ["/usr/bin/python3", "-c", TreePrograms.count, "/var/tmp/final.txt"])

    @Test func changesPlansPreTheGuardReadsOnEveryNodeAndTheCount() throws {
        let node = try node(changesStep)
        #expect(
            node.commands.map { "\($0.purpose) \($0.host) \($0.command.argv.prefix(4).joined(separator: " "))" } == [
                "probe gfs-b1 find \(Self.dir) -maxdepth 1",
                "apply gfs-b1 \(Self.gf) pre --disable-partial --regenerate-outfile",
                "apply gfs-b1 \(Lab.binary) --mode=script --xml volume",
                "apply gfs-b1 \(Lab.binary) --mode=script --xml volume",
                "apply gfs-b1 find \(Self.dir) -maxdepth 1",
                "apply gfs-b2 find \(Self.dir) -maxdepth 1",
                "apply gfs-b1 /usr/bin/python3 -c \(TreePrograms.count) /var/tmp/final.txt",
            ])
        #expect(node.commands[1].command.argv.suffix(3) == ["drsess", "mastervol", "/var/tmp/final.txt"])
        #expect(node.commands[3].command.argv.suffix(2) == ["mastervol", "changelog.rollover-time"])
    }

    /// A 2-brick replica of mastervol: the live volume info with a second brick on another node.
    static func replicaInfo() throws -> CommandResult {
        let text = try Fixture("live-10.3-volume-info-all.xml").text
        let brick =
            "<brick uuid=\"c22e8b4c-8163-4ded-946a-bfd342ba56f5\">vm:/bricks/m1<name>vm:/bricks/m1</name>"
            + "<hostUuid>c22e8b4c-8163-4ded-946a-bfd342ba56f5</hostUuid><isArbiter>0</isArbiter></brick>"
        #expect(text.contains(brick))
        let second = brick.replacingOccurrences(of: "vm:", with: "vm2:")
            .replacingOccurrences(
                of: "c22e8b4c-8163-4ded-946a-bfd342ba56f5", with: "d33f9c5d-9274-4efe-a57b-c0e453cb6706")
        return Lab.ok(text.replacingOccurrences(of: brick, with: brick + second))
    }

    func changesFake(b1: [(String, Int)], b2: [(String, Int)], pre: String = "live-10.3-glusterfind-pre.txt") throws
        -> FakeNodes
    {
        let fake = FakeNodes()
        fake.on("gfs-b1", Self.status, Self.statusFiles(b1))
        try fake.on("gfs-b1", Self.cli.pre("drsess", "mastervol", outfile: "/var/tmp/final.txt"), fixture: pre)
        fake.on("gfs-b1", Self.gluster.volumeInfo("mastervol"), try Self.replicaInfo())
        fake.on("gfs-b1", Self.gluster.volumeGet("mastervol", "changelog.rollover-time"), Self.rollover)
        fake.on("gfs-b2", Self.status, Self.statusFiles(b2))
        // What the count program prints for the live pre1.txt (its counts and its 275 bytes).
        fake.on(
            "gfs-b1", Self.count,
            Lab.ok("{\"lines\": {\"NEW\": 5, \"MODIFY\": 2, \"RENAME\": 3, \"DELETE\": 4}, \"bytes\": 275}\n"))
        return fake
    }

    @Test func changesRunsPreChecksEveryBrickAndCounts() async throws {
        let node = try node(changesStep)
        let fake = try changesFake(
            b1: [
                ("status", 1_796_110_378), ("status.pre", 1_796_110_397), ("%2Fbricks%2Fm1.status.pre", 1_796_110_397),
            ],
            b2: [("%2Fbricks%2Fm1.status.pre", 1_796_110_395)])
        let action = try type(node)
        let observation = try await action.probe(context(node, fake))
        #expect(!observation.done)
        #expect(
            observation.summary.contains("since 2026-12-01T07:32:58Z into /var/tmp/final.txt"), "\(observation.summary)"
        )
        let effect = try await action.apply(context(node, fake, .apply), observation: observation)
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["new"] == .int(5) && effect.outputs["modify"] == .int(2))
        #expect(effect.outputs["rename"] == .int(3) && effect.outputs["delete"] == .int(4))
        #expect(effect.outputs["lines"] == .int(14) && effect.outputs["bytes"] == .int(275))
        #expect(effect.outputs["list"] == .string("/var/tmp/final.txt"))
        #expect(effect.outputs["start"] == .timestamp(try #require(utc("2026-12-01 07:32:58"))))
        #expect(effect.outputs["end"] == .timestamp(try #require(utc("2026-12-01 07:33:17"))))
        #expect(effect.outputs["rollover"] == .int(3) && effect.outputs["bricks"] == .int(2))
        #expect(
            try String(contentsOfFile: bundled("live-10.3-glusterfind-pre1.txt"), encoding: .utf8).utf8.count == 275)
    }

    func bundled(_ name: String) throws -> String {
        try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)).path
    }

    /// The notes' changelog toggle: the brick stopped at 1796110514, the session's end is 1796110526,
    /// and glusterfind exited 0 with a partial list.
    @Test func changesRefusesAPartialListNamingTheNodeAndTheBrick() async throws {
        let node = try node(changesStep)
        let fake = try changesFake(
            b1: [
                ("status", 1_796_110_474), ("status.pre", 1_796_110_526), ("%2Fbricks%2Fm1.status.pre", 1_796_110_526),
            ],
            b2: [("%2Fbricks%2Fm1.status.pre", 1_796_110_514)])
        let effect = try await type(node).apply(
            context(node, fake, .apply), observation: Observation(done: false, summary: ""))
        #expect(!effect.succeeded)
        #expect(effect.summary.contains("the list /var/tmp/final.txt is partial, do not replay it"))
        #expect(effect.summary.contains("on gfs-b2: brick /bricks/m1 reached 1796110514"))
        #expect(effect.summary.contains("12 s before the session's end 1796110526"))
        #expect(!fake.summary.contains { $0.contains("python3 -c") }, "nothing is counted from a partial list")
    }

    @Test func changesRefusesWhenABrickNodeIsNotRead() async throws {
        let node = try node(changesStep)
        let fake = try changesFake(
            b1: [
                ("status", 1_796_110_378), ("status.pre", 1_796_110_397), ("%2Fbricks%2Fm1.status.pre", 1_796_110_397),
            ],
            b2: [])
        let effect = try await type(node).apply(
            context(node, fake, .apply), observation: Observation(done: false, summary: ""))
        #expect(!effect.succeeded)
        #expect(
            effect.summary.contains("no pre status for 1 of the bricks vm:/bricks/m1, vm2:/bricks/m1 on gfs-b1, gfs-b2")
        )
    }

    @Test(arguments: [
        ("live-10.3-glusterfind-pre-no-pyxattr-disable-partial.txt", "the brick nodes vm cannot import xattr"),
        ("live-10.3-glusterfind-pre-no-pyxattr.txt", "apt-get install python3-pyxattr"),
        ("live-10.3-glusterfind-invalid-session.txt", "there is no session drsess on this node"),
        ("live-10.3-glusterfind-pre-not-posted.txt", "exited 1: Post command is not run after last pre"),
        // A brick node down (the lab's gfs-a2): with --disable-partial rc 1, without it rc 0 and a
        // list of the other bricks; both stop here, naming the node and ssh's reason.
        (
            "lab-10.3-glusterfind-pre-node-down-disable-partial.txt",
            "exited 1: pre failed on gfs-a2: ssh: connect to host gfs-a2 port 22: No route to host"
        ),
        (
            "lab-10.3-glusterfind-pre-node-down-partial.txt",
            "exited 0: pre failed on gfs-a2: ssh: connect to host gfs-a2 port 22: No route to host"
        ),
    ])
    func changesSaysWhyAPreCannotBeUsed(fixture: String, message: String) async throws {
        let node = try node(changesStep)
        let fake = try changesFake(b1: [], b2: [], pre: fixture)
        let effect = try await type(node).apply(
            context(node, fake, .apply), observation: Observation(done: false, summary: ""))
        #expect(!effect.succeeded)
        #expect(effect.summary.contains(message), "\(effect.summary)")
        #expect(fake.summary.count == 1, "nothing after the failed pre: \(fake.summary)")
    }

    @Test func aFailedBrickNodeIsNamedWithTheLastLineItPrinted() throws {
        let traceback = try Fixture("live-10.3-glusterfind-pre-no-pyxattr.txt").text
        let failed = GlusterfindChangesAction.nodeFailures(traceback, task: "pre")
        #expect(failed.map(\.node) == ["vm"], "one entry per node: \(failed)")
        #expect(failed.first?.cause == "ModuleNotFoundError: No module named 'xattr'")
        let down = try Fixture("lab-10.3-glusterfind-pre-node-down-partial.txt").text
        #expect(GlusterfindChangesAction.nodeFailures(down, task: "cleanup").first?.node == "gfs-a2")
        #expect(GlusterfindChangesAction.pythonBytes("b'a\\\\b \\x41\\'c\\t'") == "a\\b A'c\t")
        #expect(GlusterfindChangesAction.pythonBytes("stderr:") == nil)
    }

    @Test func changesWithoutASessionFailsInTheDryRun() async throws {
        let node = try node(changesStep)
        let fake = FakeNodes()
        fake.on("gfs-b1", Self.status, Self.noSessionDir)
        await #expect {
            try await type(node).probe(context(node, fake))
        } throws: { "\($0)".contains("no glusterfind session drsess for mastervol on gfs-b1") }
    }

    // MARK: glusterfind.post

    @Test func postOnlyThePreThatWasReplayed() async throws {
        let step = "action: glusterfind.post\nwith: {session: drsess, volume: mastervol, window_end: 1796110397}"
        let node = try node(step)
        #expect(
            node.commands.map { "\($0.purpose) \($0.command.argv.prefix(2).joined(separator: " "))" } == [
                "probe find \(Self.dir)", "apply \(Self.gf) post", "apply find \(Self.dir)", "verify find \(Self.dir)",
            ])
        let fake = FakeNodes()
        fake.on(
            "gfs-b1", Self.status,
            Self.statusFiles([("status", 1_796_110_378), ("status.pre", 1_796_110_397)]),
            Self.statusFiles([("status", 1_796_110_397)]))
        try fake.on("gfs-b1", Self.cli.post("drsess", "mastervol"), fixture: "live-10.3-glusterfind-post.txt")
        let action = try type(node)
        let observation = try await action.probe(context(node, fake))
        #expect(!observation.done, "\(observation.summary)")
        let effect = try await action.apply(context(node, fake, .apply), observation: observation)
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["session_time"] == .timestamp(try #require(utc("2026-12-01 07:33:17"))))
        #expect(try await action.probe(context(node, fake)).done)
        #expect(try await action.verify(context(node, fake, .verify)).succeeded)

        // Another pre ran since the replay: refuse.
        let other = FakeNodes()
        other.on("gfs-b1", Self.status, Self.statusFiles([("status", 1_796_110_378), ("status.pre", 1_796_110_420)]))
        await #expect {
            try await action.probe(context(node, other))
        } throws: { "\($0)".contains("another pre ran since") }

        // post with no pre pending (the live message) fails the step.
        let late = FakeNodes()
        try late.on("gfs-b1", Self.cli.post("drsess", "mastervol"), fixture: "live-10.3-glusterfind-post-no-pre.txt")
        let failed = try await action.apply(context(node, late, .apply), observation: observation)
        #expect(!failed.succeeded && failed.summary.contains("exited 1: Pre script is not run"))
    }

    @Test func theInventoryKeyNamesTheBinaryAndDefaultsToDebiansPath() throws {
        #expect(
            GlusterPack.hostKeys.contains {
                $0.name == "glusterfind" && $0.description.contains("/usr/bin/glusterfind")
            })
        let node = try Lab.node("action: glusterfind.post\nwith: {session: drsess, volume: v}")
        #expect(node.commands[1].command.argv == ["/usr/bin/glusterfind", "post", "drsess", "v"])
    }
}
