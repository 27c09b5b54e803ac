import RunbookCore

extension ActionRegistry {
    /// Every type this build of `runbook` knows.
    static var standard: ActionRegistry { .builtIn }
}
