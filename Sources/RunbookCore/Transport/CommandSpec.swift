/// One command to run on a host: argv is never re-split by a shell.
public struct CommandSpec: Sendable, Hashable, Codable {
    /// The program and its arguments; `argv[0]` without a `/` is looked up in `PATH`.
    public var argv: [String]
    /// Variables added to (or overriding) the inherited environment.
    public var environment: [String: String]
    /// Directory to run in; `nil` keeps the transport's default (local: current directory, ssh: login directory).
    public var workingDirectory: String?
    /// Text fed to the command's standard input; `nil` connects stdin to `/dev/null`.
    public var stdin: String?

    /// Creates a command specification.
    public init(
        argv: [String],
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        stdin: String? = nil
    ) {
        self.argv = argv
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
    }

    /// The command as a POSIX shell would need it: each element single-quoted only when needed; env as K=V prefix; cwd as `cd DIR &&`.
    ///
    /// Example: `cd /srv && MODE=fast pg_ctl 'start now'`. Environment entries
    /// are sorted by name so the text is deterministic. A name that is not a
    /// valid shell variable name cannot be a `K=V` prefix; then the whole set is
    /// passed through `env` instead (`env 'A-B=1' cmd`). The program name is
    /// additionally quoted when a shell would not read it as a plain program
    /// (it contains `=` or is a reserved word). Stdin is not part of the text.
    public var shellText: String { (setupWords + commandWords.map(\.quoted)).joined(separator: " ") }

    /// `shellText` cut to about `limit` characters: whole words while they fit, then the
    /// word that does not, cut inside and quoted again with `…` at the cut (a quote is never
    /// left open: `sh -c 'sleep 300; rsync -a /srv/…'`), or `…` alone when too little room
    /// is left for it. The text is whole when it fits.
    public func shortShellText(limit: Int = 120) -> String {
        let whole = shellText
        guard whole.count > limit else { return whole }
        let words =
            setupWords.map { (quoted: $0, raw: String?.none) }
            + commandWords.map { (quoted: $0.quoted, raw: Optional($0.raw)) }
        var out = ""
        for (quoted, raw) in words {
            let separator = out.isEmpty ? "" : " "
            if out.count + separator.count + quoted.count + 2 <= limit {
                out += separator + quoted
                continue
            }
            // The longest beginning of the word that fits once quoted again (quoting may add).
            var room = limit - out.count - separator.count - 3
            while let raw, room >= 10 {
                let cut = ShellQuoting.quote(String(raw.prefix(room)) + "…")
                if out.count + separator.count + cut.count <= limit { return out + separator + cut }
                room -= max(1, out.count + separator.count + cut.count - limit)
            }
            return out + separator + "…"
        }
        return out
    }

    /// The `cd DIR &&` and environment words of `shellText`.
    var setupWords: [String] {
        var parts: [String] = []
        if let dir = workingDirectory {
            parts.append("cd")
            parts.append(ShellQuoting.quote(dir))
            parts.append("&&")
        }
        let env = environment.sorted { $0.key < $1.key }
        if !env.isEmpty {
            if env.allSatisfy({ ShellQuoting.isValidVariableName($0.key) }) {
                for (key, value) in env {
                    parts.append(key + "=" + ShellQuoting.quote(value))
                }
            } else {
                parts.append("env")
                for (key, value) in env {
                    parts.append(ShellQuoting.quote(key + "=" + value))
                }
            }
        }
        return parts
    }

    /// The argv words, each as typed and as quoted for a shell.
    var commandWords: [(quoted: String, raw: String)] {
        argv.enumerated().map { index, word in
            (index == 0 ? ShellQuoting.quoteCommandWord(word) : ShellQuoting.quote(word), word)
        }
    }
}
