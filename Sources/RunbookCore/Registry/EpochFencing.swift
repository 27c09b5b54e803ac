/// The authority epoch a resource carries (issue 23, item 4): a number that only grows, and the
/// site (an inventory role) that holds the authority at that number. Epoch 0 with no authority is
/// a resource nothing has marked yet.
public struct EpochMark: Sendable, Equatable, Codable, CustomStringConvertible {
    public var epoch: Int
    public var authority: String?
    /// The run that wrote it (two controllers that read the same epoch at once write the same
    /// number: the run tells them apart).
    public var run: String?

    public init(epoch: Int, authority: String?, run: String? = nil) {
        self.epoch = epoch
        self.authority = authority
        self.run = run
    }

    /// Nothing marked it yet.
    public static let unmarked = EpochMark(epoch: 0, authority: nil)

    public var description: String {
        epoch == 0 && authority == nil
            ? "no epoch yet"
            : "epoch \(epoch) (authority \(authority ?? "not named")\(run.map { ", run \($0)" } ?? ""))"
    }
}

/// An action that marks a resource (a volume) with the run's epoch and the authority the run
/// moves it to. The run controller reads every such step's resource before a run, a resume or a
/// rollback changes anything, and refuses when the storage has moved on without this run (the
/// epoch fence: it needs no quorum, the volumes carry it). A type that adopts this is written
/// like any other action; its `apply` writes ``ActionContext/runEpoch``.
public protocol EpochFencing: ActionType {
    /// What the step's resource carries now, read without changing anything.
    func readMark(_ context: ActionContext) async throws -> EpochMark
    /// The resource, for people: "volume gvsecondary".
    func resource(_ arguments: ResolvedArguments) -> String
    /// The authority the step moves the resource to.
    func authority(_ arguments: ResolvedArguments) -> String?
    /// The authority the run expects to find holding the newest epoch (nil: any).
    func expectedAuthority(_ arguments: ResolvedArguments) -> String?
}
