import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// `max_concurrency` and `max_failed`: each bad runbook marks where the error must point.
@Suite struct ItemBudgetValidationTests {
    static let header = ForEachValidationTests.header

    static func step(_ extra: String, forEach: Bool = true) -> String {
        """
          - id: writable
        \(forEach ? "    for_each: vars.sessions\n    key: item.primary_volume\n" : "")\(extra)    action: shell
            with: {run: [echo, x]}
            undo: {action: shell, with: {run: [echo, y]}}
        """
    }

    @Test func budgetsOfTheRunAndOfAStepAreAccepted() {
        expect(
            Self.header + "max_concurrency: 1\nmax_failed: 50%\nsteps:\n"
                + Self.step("    max_concurrency: 25%\n    max_failed: 0\n"),
            inventory: ForEachValidationTests.sessions, [])
    }

    @Test func aBudgetThatIsNotANumberOfItemsOrAPercentage() {
        expect(
            Self.header + "max_concurrency: 1️⃣0\nmax_failed: 2️⃣-1\nsteps:\n"
                + Self.step("    max_concurrency: 3️⃣0%\n    max_failed: 4️⃣101%\n")
                + "\n" + Self.step("    max_concurrency: 5️⃣two\n").replacingOccurrences(of: "writable", with: "other"),
            [
                FindingSpec(
                    "1️⃣",
                    "max_concurrency must be a number of items (1 to 10000) or a percentage of them (1% to 100%), got '0'"
                ),
                FindingSpec(
                    "2️⃣",
                    "max_failed must be a number of items (0 to 10000) or a percentage of them (0% to 100%), got '-1'"),
                FindingSpec("3️⃣", "got '0%'"),
                FindingSpec("4️⃣", "got '101%'"),
                FindingSpec("5️⃣", "got 'two'"),
            ])
    }

    @Test func aStepBudgetNeedsAForEach() {
        expect(
            Self.header + "steps:\n" + Self.step("    max_concurrency: 1️⃣2\n", forEach: false),
            [
                FindingSpec(
                    "1️⃣",
                    "step 'writable': max_concurrency counts the items of a for_each, and this step has no for_each")
            ])
    }

    @Test func theRunsBudgetNeedsAForEachStep() {
        expect(
            Self.header + "max_concurrency: 1️⃣2\nsteps:\n" + Self.step("", forEach: false),
            [FindingSpec("1️⃣", "max_concurrency counts the items of for_each steps, and this runbook has none")])
    }

    @Test func maxFailedUnderWholeRunIsRefused() {
        expect(
            Self.header + "on_item_failure: whole_run\nmax_failed: 1️⃣1\nsteps:\n" + Self.step("    max_failed: 2️⃣1\n"),
            inventory: ForEachValidationTests.sessions,
            [
                FindingSpec(
                    "1️⃣",
                    "max_failed counts failed items, but on_item_failure: whole_run stops the run at the first failure"),
                FindingSpec("2️⃣", "step 'writable': max_failed counts failed items, but on_item_failure: whole_run"),
            ])
    }
}
