import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// `create push-pem` sets features.read-only on on the secondary volume; with `read_only_on` the
/// create's derived undo puts it back (issue 12: a rolled-back failback left the primary read-only).
@Suite struct PushPemUndoTests {
    let session = "volume geo-replication mastervol vm::slavevol"

    static func readOnly(_ value: String) -> CommandResult {
        Lab.ok(
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volGetopts><count>1</count>
            <Opt><Option>features.read-only</Option><Value>\(value)</Value></Opt></volGetopts></cliOutput>
            """)
    }

    @Test func theUndoOfCreateWithPushPemPutsTheSecondaryWritableAgain() async throws {
        let node = try Lab.node(
            "action: gluster.georep.create\nwith: {primary: mastervol, secondary: vm::slavevol, force: true,"
                + " read_only_on: gfs-b1}")
        let read = [Lab.binary, "--mode=script", "--xml", "volume", "get", "slavevol", "features.read-only"]
        #expect(node.commands.contains { $0.host == "gfs-b1" && $0.purpose == .probe && $0.command.argv == read })
        if case .derived(let text) = node.undo {
            #expect(text.contains("features.read-only"))
        } else {
            Issue.record("\(node.undo)")
        }

        let host = FakeHost()
        try host.onNoSession("\(session) status detail")
        // Before the step: off; after push-pem: on.
        host.on("--mode=script --xml volume get slavevol features.read-only", Self.readOnly("off"), Self.readOnly("on"))
        let action = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await action.probe(Lab.context(node, host))
        #expect(!observation.done)
        #expect(observation.undoState?.contains("\"readOnly\":\"off\"") == true, "\(observation.undoState ?? "")")

        let created = FakeHost()
        try created.on("--mode=script --xml \(session) status detail", fixture: "live-10.3-georep-status.xml")
        created.on("--mode=script --xml volume get slavevol features.read-only", Self.readOnly("on"))
        created.on("--mode=script --xml \(session) stop force", Lab.okXML)
        created.on("--mode=script --xml \(session) delete", Lab.okXML)
        created.on("--mode=script --xml volume set slavevol features.read-only off", Lab.okXML)
        let undone = try await action.undo(Lab.context(node, created, phase: .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(
            created.changes == [
                "--mode=script --xml \(session) stop force", "--mode=script --xml \(session) delete",
                "--mode=script --xml volume set slavevol features.read-only off",
            ])
        #expect(zip(created.ran, created.hosts).contains { $0.0.contains("set") && $0.1 == "gfs-b1" })
        #expect(undone.summary.contains("features.read-only of slavevol set back to off on gfs-b1"))
    }
}
