/// Graph algorithms over string-keyed nodes: stable topological order and cycle reporting.
public enum StepGraph {
    /// Every dependency cycle among `nodes`, each rotated to start at its smallest id and
    /// closed (`["a", "b", "c", "a"]`), sorted by that first id.
    ///
    /// - Parameter edges: for each node, the nodes it needs (edges point at dependencies).
    public static func cycles(nodes: [String], edges: [String: [String]]) -> [[String]] {
        // Tarjan's strongly connected components, iterative to survive 50,000-step runbooks.
        var index = 0
        var indices: [String: Int] = [:]
        var lowlink: [String: Int] = [:]
        var onStack = Set<String>()
        var stack: [String] = []
        var components: [[String]] = []

        for root in nodes where indices[root] == nil {
            var work: [(node: String, next: Int)] = [(root, 0)]
            indices[root] = index
            lowlink[root] = index
            index += 1
            stack.append(root)
            onStack.insert(root)
            while !work.isEmpty {
                let (node, next) = work[work.count - 1]
                let successors = edges[node] ?? []
                if next < successors.count {
                    work[work.count - 1].next += 1
                    let successor = successors[next]
                    if indices[successor] == nil {
                        indices[successor] = index
                        lowlink[successor] = index
                        index += 1
                        stack.append(successor)
                        onStack.insert(successor)
                        work.append((successor, 0))
                    } else if onStack.contains(successor) {
                        lowlink[node] = min(lowlink[node]!, indices[successor]!)
                    }
                } else {
                    work.removeLast()
                    if let parent = work.last {
                        lowlink[parent.node] = min(lowlink[parent.node]!, lowlink[node]!)
                    }
                    if lowlink[node] == indices[node] {
                        var component: [String] = []
                        while let top = stack.popLast() {
                            onStack.remove(top)
                            component.append(top)
                            if top == node { break }
                        }
                        let selfLoop = component.count == 1 && (edges[node] ?? []).contains(node)
                        if component.count > 1 || selfLoop { components.append(component) }
                    }
                }
            }
        }

        var result: [[String]] = []
        for component in components {
            let members = Set(component)
            let start = component.min()!
            // Shortest loop from the smallest id back to itself, inside the component, by BFS
            // visiting successors in sorted order so the message is the same every time.
            var previous: [String: String] = [:]
            var queue = [start]
            var head = 0
            var closing: String?
            search: while head < queue.count {
                let node = queue[head]
                head += 1
                for successor in (edges[node] ?? []).filter(members.contains).sorted() {
                    if successor == start {
                        closing = node
                        break search
                    }
                    if previous[successor] == nil {
                        previous[successor] = node
                        queue.append(successor)
                    }
                }
            }
            guard var node = closing else { continue }
            var path = [start]
            var reversed: [String] = []
            while node != start {
                reversed.append(node)
                node = previous[node]!
            }
            path.append(contentsOf: reversed.reversed())
            path.append(start)
            result.append(path)
        }
        return result.sorted { $0[0] < $1[0] }
    }

    /// Kahn's algorithm; among ready nodes the one with the smallest rank goes first.
    ///
    /// - Parameters:
    ///   - count: nodes are 0..<count, their rank is their number (document order).
    ///   - dependencies: for each node, the nodes it needs.
    /// - Returns: the order, or nil when there is a cycle.
    public static func topologicalOrder(count: Int, dependencies: [[Int]]) -> [Int]? {
        var remaining = dependencies.map(\.count)
        var dependents = [[Int]](repeating: [], count: count)
        for (node, needs) in dependencies.enumerated() {
            for need in needs { dependents[need].append(node) }
        }
        var heap = MinHeap()
        for node in 0..<count where remaining[node] == 0 { heap.push(node) }
        var order: [Int] = []
        order.reserveCapacity(count)
        while let node = heap.pop() {
            order.append(node)
            for dependent in dependents[node] {
                remaining[dependent] -= 1
                if remaining[dependent] == 0 { heap.push(dependent) }
            }
        }
        return order.count == count ? order : nil
    }
}

/// A binary min-heap of Ints.
struct MinHeap {
    private var items: [Int] = []

    mutating func push(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
