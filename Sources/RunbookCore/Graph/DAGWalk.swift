/// The bookkeeping of a walk over a DAG, free of effects: which vertices are ready (everything
/// they need has passed), one outcome per vertex, and the vertices that will not run, each with
/// the root cause that stopped it.
///
/// It knows nothing of steps, hosts or journals: the executor starts what `next()` hands out,
/// runs it, and reports the outcome with `passed`, `failed` or a skip. What a failure means for
/// the rest (its dependents skipped, an item stopped, the whole run stopping) is the caller's
/// policy; the walk only keeps the books, so the policy and the walk are tested apart.
///
/// Vertices are `0..<count`, in the plan's order; ready vertices start lowest index first, so a
/// walk is deterministic for a given order of outcomes.
public struct DAGWalk: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Something it needs has not passed yet.
        case waiting
        /// Everything it needs passed; `next()` hands it out.
        case ready
        case started
        /// Succeeded, or skipped in a way its dependents may go on from (a `when` that is false).
        case passed
        case failed
        /// Will not run, with the root cause (a failure upstream, its item stopped, a resume's record).
        case skipped(String)
    }

    /// For each vertex, the vertices that need it.
    public let dependents: [[Int]]
    public private(set) var states: [State]
    /// For each vertex, how many of its needs have not passed yet.
    private var remaining: [Int]
    /// Ready vertices, kept sorted (lowest index first).
    private var ready: [Int] = []

    /// `needs[i]`: the vertices vertex `i` needs (indices into the same array; repeats count once).
    public init(needs: [[Int]]) {
        var dependents = [[Int]](repeating: [], count: needs.count)
        var remaining = [Int](repeating: 0, count: needs.count)
        for (i, list) in needs.enumerated() {
            for j in Set(list) where needs.indices.contains(j) {
                dependents[j].append(i)
                remaining[i] += 1
            }
        }
        self.dependents = dependents.map { $0.sorted() }
        self.remaining = remaining
        self.states = remaining.map { $0 == 0 ? .ready : .waiting }
        self.ready = remaining.indices.filter { remaining[$0] == 0 }
    }

    /// Vertices named by id, with `needs(i)` the ids vertex `i` needs; an unknown id is ignored
    /// (a need outside the walk, such as a precondition, is not waited for).
    public init<ID: Hashable>(ids: [ID], needs: (Int) -> [ID]) {
        var index: [ID: Int] = [:]
        for (i, id) in ids.enumerated() where index[id] == nil { index[id] = i }
        self.init(needs: ids.indices.map { i in needs(i).compactMap { index[$0] } })
    }

    public var count: Int { states.count }

    /// Whether a vertex is ready to start.
    public var hasReady: Bool { !ready.isEmpty }

    /// The lowest ready vertex, now started; nil when none is ready.
    public mutating func next() -> Int? { next(where: { _ in true }) }

    /// The lowest ready vertex that `admissible` lets start, now started; nil when none is. The
    /// others stay ready (a budget holds them back for now, not for good).
    public mutating func next(where admissible: (Int) -> Bool) -> Int? {
        guard let position = ready.firstIndex(where: admissible) else { return nil }
        let i = ready.remove(at: position)
        states[i] = .started
        return i
    }

    /// The vertices ready to start, lowest first.
    public var readyVertices: [Int] { ready }

    /// `i` passed: the vertices that need it and now have every need passed become ready.
    /// Returns those vertices.
    @discardableResult
    public mutating func passed(_ i: Int) -> [Int] {
        precondition(states[i] == .started, "vertex \(i) has one outcome, and it must have started")
        states[i] = .passed
        var released: [Int] = []
        for j in dependents[i] {
            remaining[j] -= 1
            if remaining[j] == 0, states[j] == .waiting {
                states[j] = .ready
                insertReady(j)
                released.append(j)
            }
        }
        return released
    }

    /// `i` failed. Its dependents keep waiting until the caller skips them (or stops the walk).
    public mutating func failed(_ i: Int) {
        precondition(states[i] == .started, "vertex \(i) has one outcome, and it must have started")
        states[i] = .failed
    }

    /// A started vertex that gives no outcome (cancelled, or parked at a gate): it stays started.
    public func isStarted(_ i: Int) -> Bool { states[i] == .started }

    /// Every vertex that needs `i`, directly or not, and has not started or been skipped, is
    /// skipped with `reason` (the root cause, the same for all of them). Returns them in the order
    /// they were reached.
    @discardableResult
    public mutating func skipDependents(of i: Int, because reason: String) -> [Int] {
        var queue = dependents[i]
        var seen = Set<Int>()
        var skipped: [Int] = []
        while let j = queue.popLast() {
            guard seen.insert(j).inserted, skip(j, because: reason) else { continue }
            skipped.append(j)
            queue.append(contentsOf: dependents[j])
        }
        return skipped
    }

    /// Skips `i` with `reason` unless it has started or already has an outcome. Returns whether it did.
    @discardableResult
    public mutating func skip(_ i: Int, because reason: String) -> Bool {
        switch states[i] {
        case .waiting: break
        case .ready: ready.removeAll { $0 == i }
        case .started, .passed, .failed, .skipped: return false
        }
        states[i] = .skipped(reason)
        return true
    }

    /// Why `i` will not run, when it was skipped.
    public func skipReason(_ i: Int) -> String? {
        if case .skipped(let reason) = states[i] { return reason }
        return nil
    }

    public func isSkipped(_ i: Int) -> Bool { skipReason(i) != nil }

    private mutating func insertReady(_ j: Int) {
        var low = 0
        var high = ready.count
        while low < high {
            let mid = (low + high) / 2
            if ready[mid] < j { low = mid + 1 } else { high = mid }
        }
        ready.insert(j, at: low)
    }
}
