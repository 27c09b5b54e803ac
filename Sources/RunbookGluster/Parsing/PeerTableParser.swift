import Foundation

/// The tables the GlusterFS peer tools print (`gluster-mountbroker`, `gluster-georep-sshkey`:
/// PrettyTable, one row per peer, `NODE | NODE STATUS | … STATUS`).
public enum PeerTable {
    /// The rows (cells trimmed; the header row, whose first cell is `NODE`, and borders skipped).
    public static func rows(_ text: String) -> [[String]] {
        text.split(separator: "\n").compactMap { line -> [String]? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("|") else { return nil }
            let cells = trimmed.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            return cells.first == "NODE" ? nil : Array(cells)
        }
    }

    /// For a `NODE | NODE STATUS | X STATUS` table (setup, add, remove, generate): each node that
    /// is DOWN or whose last cell is not `OK`, as `NODE: why`.
    public static func failures(_ text: String) -> [String] {
        rows(text).compactMap { row in
            guard row.count >= 3 else { return nil }
            if row[1] != "UP" { return "\(row[0]): node \(row[1])" }
            return row[row.count - 1] == "OK" ? nil : "\(row[0]): \(row[row.count - 1])"
        }
    }
}
