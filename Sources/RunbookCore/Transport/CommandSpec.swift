import Foundation

/// One command to run on a host: argv is never re-split by a shell.
public struct CommandSpec: Sendable, Hashable, Codable {
    public var argv: [String]
    public var environment: [String: String]
    public var workingDirectory: String?
    public var stdin: String?

    public init(argv: [String], environment: [String: String] = [:], workingDirectory: String? = nil, stdin: String? = nil) {
        self.argv = argv
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
    }

    /// The command as a POSIX shell needs it: elements quoted where needed, env and cwd prefixed.
    public var shellText: String {
        var parts: [String] = []
        if let workingDirectory { parts.append("cd \(ShellQuoting.quote(workingDirectory)) &&") }
        for key in environment.keys.sorted() { parts.append("\(key)=\(ShellQuoting.quote(environment[key]!))") }
        parts.append(contentsOf: argv.map(ShellQuoting.quote))
        return parts.joined(separator: " ")
    }
}

/// POSIX shell quoting.
public enum ShellQuoting {
    /// `s` as one shell word: unchanged when it has only safe characters, else single-quoted.
    public static func quote(_ s: String) -> String {
        if s.isEmpty { return "''" }
        let safe = s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_@%+=:,./-".unicodeScalars.contains($0)
        }
        if safe { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
