import RunbookCore
import RunbookTestSupport
import Testing

/// Validates the marked runbook (against `inventory` when given) and expects exactly the
/// findings `specs` mark, each at its marker: the validation suites' one expectation.
func expect(
    _ text: String, inventory: String? = nil, _ specs: [FindingSpec],
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    let marked = MarkedText(text)
    let problems = mismatches(validate(runbook: marked, inventory: inventory), marked, specs)
    #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
}
