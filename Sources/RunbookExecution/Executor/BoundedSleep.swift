import RunbookCore

/// Sleeps `seconds`, held to 0...`Value.maxDuration`.
///
/// The durations slept on come from runbooks (`retry_delay`, `every`) and the command line
/// (`--grace`): the loader bounds them, and this keeps a value that got past it from trapping in
/// `Duration.seconds(_:)`, which cannot hold every `Double`.
func sleep(seconds: Double) async throws {
    let bounded = seconds.isNaN ? 0 : min(max(0, seconds), Value.maxDuration)
    try await Task.sleep(for: .seconds(bounded))
}
