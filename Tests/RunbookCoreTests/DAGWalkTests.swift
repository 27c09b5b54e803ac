import Testing

@testable import RunbookCore

/// The executor's walk, without the executor: what is ready, one outcome per vertex, and the
/// vertices that will not run with their root cause.
@Suite struct DAGWalkTests {
    /// a; b and c need a; d needs b and c; e needs d.
    static func diamond() -> DAGWalk {
        DAGWalk(ids: ["a", "b", "c", "d", "e"]) { i in [[], ["a"], ["a"], ["b", "c"], ["d"]][i] }
    }

    /// The vertices `next()` hands out now, in order.
    static func drain(_ walk: inout DAGWalk) -> [Int] {
        var started: [Int] = []
        while let i = walk.next() { started.append(i) }
        return started
    }

    @Test func readyVerticesStartLowestFirstAndOnlyOnceEveryNeedPassed() {
        var walk = Self.diamond()
        var started = Self.drain(&walk)
        #expect(started == [0])  // b and c wait for a
        var released = walk.passed(0)
        #expect(released == [1, 2])
        started = Self.drain(&walk)
        #expect(started == [1, 2])
        released = walk.passed(1)
        #expect(released.isEmpty)  // d still needs c
        #expect(walk.states[3] == .waiting)
        released = walk.passed(2)
        #expect(released == [3])
        started = Self.drain(&walk)
        #expect(started == [3])
        released = walk.passed(3)
        #expect(released == [4])
        started = Self.drain(&walk)
        #expect(started == [4])
        #expect(!walk.hasReady)
    }

    @Test func aFailureHoldsItsDependentsUntilTheyAreSkippedWithTheRootCause() {
        var walk = Self.diamond()
        _ = Self.drain(&walk)
        walk.passed(0)
        let started = Self.drain(&walk)
        #expect(started == [1, 2])
        walk.failed(1)
        #expect(walk.states[3] == .waiting)  // what a failure means is the caller's policy
        let skipped = walk.skipDependents(of: 1, because: "needs b, which failed")
        #expect(Set(skipped) == [3, 4])
        #expect(walk.skipReason(4) == "needs b, which failed")  // the root cause, not "needs d"
        walk.passed(2)  // c passing does not make the skipped d ready again
        #expect(walk.isSkipped(3))
        #expect(!walk.hasReady)
        let none = Self.drain(&walk)
        #expect(none.isEmpty)
    }

    @Test func startedAndFinishedVerticesAreNeverSkipped() {
        var walk = Self.diamond()
        _ = Self.drain(&walk)
        var skipped = walk.skip(0, because: "late")
        #expect(!skipped)
        #expect(walk.isStarted(0))
        walk.passed(0)
        skipped = walk.skip(0, because: "late")
        #expect(!skipped)
        #expect(walk.states[0] == .passed)
        // A ready vertex skipped is no longer handed out.
        skipped = walk.skip(1, because: "its item stopped")
        #expect(skipped)
        let started = Self.drain(&walk)
        #expect(started == [2])
        // Skipping twice keeps the first reason.
        skipped = walk.skip(1, because: "another")
        #expect(!skipped)
        #expect(walk.skipReason(1) == "its item stopped")
    }

    @Test func needsOutsideTheWalkAndRepeatedNeedsAreIgnored() {
        var walk = DAGWalk(ids: ["x", "y"]) { i in [["a-precondition"], ["x", "x"]][i] }
        var started = Self.drain(&walk)
        #expect(started == [0])
        let released = walk.passed(0)
        #expect(released == [1])
        started = Self.drain(&walk)
        #expect(started == [1])
    }

    @Test func aVertexReleasedLaterStillStartsInPlanOrder() {
        // 0 and 2 are roots; 1 needs 0. Once 0 passes, 1 is handed out before 2.
        var walk = DAGWalk(needs: [[], [0], []])
        let first = walk.next()
        #expect(first == 0)
        walk.passed(0)
        let started = Self.drain(&walk)
        #expect(started == [1, 2])
    }
}
