/// Reads `notify:`, the same list in an inventory and in a runbook.
enum NotifyLoader {
    static let sinkKeys = ["name", "command", "webhook", "events", "timeout", "attempts"]
    static let webhookKeys = ["url", "secret_env", "secret_file"]
    static let form =
        "`notify: [{name: ops-chat, webhook: {url: https://chat.example.org/hooks/ID}, events: [gate.waiting, run.failed]}]`"

    static func load(_ node: YAMLNode, reader: inout NodeReader) -> [NotifySink] {
        guard let items = node.items else {
            if !node.isNull {
                reader.diagnostics.error(
                    "notify must be a list of sinks, got \(node.kindDescription): write \(form)", at: node.location)
            }
            return []
        }
        var sinks: [NotifySink] = []
        var seen: [String: SourceLocation] = [:]
        for item in items {
            guard let sink = loadSink(item, reader: &reader) else { continue }
            if let first = seen[sink.name] {
                reader.diagnostics.error(
                    "notify sink '\(sink.name)' is declared twice (first at line \(first.line)); give each sink its own name",
                    at: sink.location)
                continue
            }
            seen[sink.name] = sink.location
            sinks.append(sink)
        }
        return sinks
    }

    static func loadSink(_ node: YAMLNode, reader: inout NodeReader) -> NotifySink? {
        guard let fields = reader.mapping(node, allowed: sinkKeys, what: "notify sink") else { return nil }
        var valid = true
        var name: Located<String>?
        if let pair = fields["name"], let text = reader.string(pair.value, what: "a notify sink's name") {
            if RunbookLoader.isValidName(text) {
                name = Located(text, at: pair.value.location)
            } else {
                reader.diagnostics.error(
                    "notify sink name '\(text)' must be letters, digits, '.', '_' or '-'", at: pair.value.location)
                valid = false
            }
        } else if fields["name"] == nil {
            reader.diagnostics.error(
                "a notify sink needs a `name` (shown in the journal and `show`)", at: node.location)
            valid = false
        }
        var kind: NotifySink.Kind?
        switch (fields["command"], fields["webhook"]) {
        case (let command?, nil):
            kind = loadCommand(command.value, reader: &reader)
        case (nil, let webhook?):
            kind = loadWebhook(webhook.value, reader: &reader)
        case (_?, let webhook?):
            reader.diagnostics.error(
                "a notify sink is either a `command` or a `webhook`, not both: split it into two sinks",
                at: webhook.keyLocation)
        case (nil, nil):
            reader.diagnostics.error(
                "notify sink \(name.map { "'\($0.value)' " } ?? "")needs a `command: [PROGRAM, ARG...]` or a `webhook: {url: ...}`",
                at: node.location)
        }
        var events: [NotifyEvent] = []
        if let pair = fields["events"] {
            events = loadEvents(pair.value, reader: &reader)
        } else {
            reader.diagnostics.error(
                "notify sink \(name.map { "'\($0.value)' " } ?? "")needs `events:`, a list of \(eventNames)",
                at: node.location)
            valid = false
        }
        var timeout = NotifySink.defaultTimeout
        if let pair = fields["timeout"] {
            if let value = reader.duration(pair.value, what: "a notify sink's timeout", minimum: 1) {
                if value > 300 {
                    reader.diagnostics.error(
                        "a notify sink's timeout must be at most 5m (a run's end waits for it), got \(pair.value.scalar ?? "")",
                        at: pair.value.location)
                } else {
                    timeout = value
                }
            }
        }
        var attempts = NotifySink.defaultAttempts
        if let pair = fields["attempts"],
            let value = reader.int(pair.value, what: "a notify sink's attempts", range: 1...10)
        {
            attempts = value
        }
        guard valid, let name, let kind else { return nil }
        return NotifySink(
            name: name.value, kind: kind, events: events, timeout: timeout, attempts: attempts, location: node.location)
    }

    static var eventNames: String { NotifyEvent.allCases.map(\.rawValue).joined(separator: ", ") }

    static func loadEvents(_ node: YAMLNode, reader: inout NodeReader) -> [NotifyEvent] {
        guard let list = reader.stringList(node, what: "events") else { return [] }
        var events: [NotifyEvent] = []
        let names = NotifyEvent.allCases.map(\.rawValue)
        for entry in list {
            guard let event = NotifyEvent(rawValue: entry.value) else {
                reader.diagnostics.error(
                    "unknown notify event '\(entry.value)'\(Suggestions.hint(for: entry.value, in: names)); events are \(eventNames)",
                    at: entry.location)
                continue
            }
            if !events.contains(event) { events.append(event) }
        }
        if list.isEmpty {
            reader.diagnostics.error(
                "events must name at least one of \(eventNames) (to silence an inherited sink, leave it out of the inventory)",
                at: node.location)
        }
        return events
    }

    static func loadCommand(_ node: YAMLNode, reader: inout NodeReader) -> NotifySink.Kind? {
        guard let argv = reader.stringList(node, what: "command") else { return nil }
        guard let program = argv.first, !program.value.isEmpty else {
            reader.diagnostics.error(
                "command must be a program and its arguments, e.g. [/usr/local/bin/page-oncall, --team, storage]",
                at: node.location)
            return nil
        }
        if !program.value.hasPrefix("/") && !program.value.hasPrefix("./") && program.value.contains("/") {
            reader.diagnostics.error(
                "command's program '\(program.value)' must be an absolute path, a ./path or a name looked up in PATH",
                at: program.location)
            return nil
        }
        return .command(argv: argv.map(\.value))
    }

    static func loadWebhook(_ node: YAMLNode, reader: inout NodeReader) -> NotifySink.Kind? {
        guard let fields = reader.mapping(node, allowed: webhookKeys, what: "webhook") else { return nil }
        guard let pair = fields["url"] else {
            reader.diagnostics.error("a webhook needs a `url` (http:// or https://)", at: node.location)
            return nil
        }
        guard let url = reader.string(pair.value, what: "a webhook's url") else { return nil }
        let lower = url.lowercased()
        let rest =
            lower.hasPrefix("https://") ? lower.dropFirst(8) : lower.hasPrefix("http://") ? lower.dropFirst(7) : nil
        guard let rest, let host = rest.split(separator: "/", maxSplits: 1).first, !host.isEmpty,
            !url.contains(" ")
        else {
            reader.diagnostics.error(
                "a webhook's url must be http://HOST/PATH or https://HOST/PATH, got '\(url)'", at: pair.value.location)
            return nil
        }
        var webhook = NotifySink.Webhook(url: url)
        if let pair = fields["secret_env"], let name = reader.string(pair.value, what: "secret_env") {
            if name.isEmpty || !name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) {
                reader.diagnostics.error(
                    "secret_env must name an environment variable (letters, digits, '_'), got '\(name)'",
                    at: pair.value.location)
            } else {
                webhook.secretEnv = name
            }
        }
        if let pair = fields["secret_file"], let path = reader.string(pair.value, what: "secret_file") {
            if webhook.secretEnv != nil {
                reader.diagnostics.error(
                    "a webhook's key comes from secret_env or secret_file, not both", at: pair.keyLocation)
            } else {
                webhook.secretFile = path
            }
        }
        return .webhook(webhook)
    }
}
