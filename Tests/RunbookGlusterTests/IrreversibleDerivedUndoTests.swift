import RunbookCore
import RunbookGluster
import RunbookTestSupport
import Testing

/// `irreversible: true` on a typed step whose type derives its undo, before any commit point:
/// the step is undoable, so the mark is not needed (issue 18).
@Suite struct IrreversibleDerivedUndoTests {
    @Test func theMessageSaysTheStepIsUndoableAtTheMark() throws {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            roles: {secondary: {}}
            steps:
              - id: writable
                on: secondary[0]
                action: gluster.volume.set
                with: {volume: gv0, option: features.read-only, value: "off"}
                irreversible: 1️⃣true
            """)
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(text: marked.text, file: "runbook.yaml", diagnostics: &diagnostics))
        diagnostics.append(contentsOf: RunbookChecker(registry: .withGluster, inventory: nil).check(runbook))
        let problems = mismatches(
            diagnostics, marked,
            [
                FindingSpec(
                    "1️⃣",
                    "step 'writable' is undoable: 'gluster.volume.set' derives its undo, so `irreversible: true` is not needed"
                )
            ])
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// With undoable steps before it and a step after it, the mark is still only "not needed":
    /// no warning besides asking for `commit: true` on a step whose fix is to drop the mark.
    @Test func anUndoableMarkedStepGetsNoCommitPointWarningToo() throws {
        let marked = MarkedText(
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            roles: {secondary: {}}
            steps:
              - id: indexing
                on: secondary[0]
                action: gluster.volume.set
                with: {volume: gv0, option: geo-replication.indexing, value: "on"}
              - id: writable
                needs: [indexing]
                on: secondary[0]
                action: gluster.volume.set
                with: {volume: gv0, option: features.read-only, value: "off"}
                irreversible: 1️⃣true
              - id: changelog
                needs: [writable]
                on: secondary[0]
                action: gluster.volume.set
                with: {volume: gv0, option: changelog.changelog, value: "on"}
            """)
        var diagnostics = Diagnostics()
        let runbook = try #require(
            RunbookLoader.load(text: marked.text, file: "runbook.yaml", diagnostics: &diagnostics))
        diagnostics.append(contentsOf: RunbookChecker(registry: .withGluster, inventory: nil).check(runbook))
        let problems = mismatches(
            diagnostics, marked,
            [
                FindingSpec(
                    "1️⃣",
                    "step 'writable' is undoable: 'gluster.volume.set' derives its undo, so `irreversible: true` is not needed"
                )
            ])
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
