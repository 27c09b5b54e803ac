import RunbookCore
import RunbookExecution
import Testing

@Suite("Command text and ssh argv")
struct CommandTextTests {
    @Test(
        "POSIX quoting",
        arguments: [
            ("", "''"),
            ("plain-word_1.2/x:y,z@h%+=", "plain-word_1.2/x:y,z@h%+="),
            ("a b", "'a b'"),
            ("it's", "'it'\\''s'"),
            ("$(rm -rf /)", "'$(rm -rf /)'"),
            ("~", "'~'"),
        ])
    func quote(input: String, expected: String) {
        #expect(ShellQuoting.quote(input) == expected)
    }

    @Test("shellText: cd, sorted K=V prefix, quoted argv")
    func shellText() {
        let spec = CommandSpec(
            argv: ["pg_ctl", "start now", "it's"],
            environment: ["B": "2 3", "A": "1"],
            workingDirectory: "/srv/data dir"
        )
        #expect(spec.shellText == "cd '/srv/data dir' && A=1 B='2 3' pg_ctl 'start now' 'it'\\''s'")
        #expect(CommandSpec(argv: ["echo", "hi"]).shellText == "echo hi")
        #expect(CommandSpec(argv: ["X=1", "y"]).shellText == "'X=1' y")
        #expect(CommandSpec(argv: ["if"]).shellText == "'if'")
        #expect(CommandSpec(argv: ["tool"], environment: ["A-B": "1"]).shellText == "env A-B=1 tool")
    }

    @Test("ssh argv has batch mode, multiplexing, port, identity, options, user, --, command")
    func sshArguments() {
        let host = HostConnection(
            name: "db1", address: "10.0.0.5", user: "ops", port: 2222, connectTimeout: 3,
            identityFile: "/k/id", sshOptions: ["StrictHostKeyChecking=accept-new"]
        )
        let t = SSHTransport(host: host, controlDirectory: "/var/lib/runbook/ssh")
        let args = t.sshArguments(for: CommandSpec(argv: ["echo", "a b"]))
        #expect(args.starts(with: ["-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3"]))
        #expect(args.contains("ControlPath=/var/lib/runbook/ssh/%C"))
        #expect(args.contains("ControlMaster=auto"))
        #expect(args.contains("ControlPersist=60"))
        #expect(
            Array(args.suffix(4)) == ["-l", "ops", "10.0.0.5", "--"]
                || Array(args.suffix(5).prefix(4)) == ["-l", "ops", "10.0.0.5", "--"])
        let bare = SSHTransport(host: host, controlDirectory: "/var/lib/runbook/ssh", killRemoteOnDisconnect: false)
        #expect(
            Array(bare.sshArguments(for: CommandSpec(argv: ["echo", "a b"])).suffix(5)) == [
                "-l", "ops", "10.0.0.5", "--", "echo 'a b'",
            ])
        #expect(args.contains("-p") && args.contains("2222"))
        #expect(args.contains("StrictHostKeyChecking=accept-new"))

        let plain = SSHTransport(host: host, controlDirectory: "/var/lib/runbook/ssh", multiplex: false)
        #expect(plain.sshArguments(for: CommandSpec(argv: ["true"])).contains("ControlPath=none"))
        let long = SSHTransport(host: host, controlDirectory: "/" + String(repeating: "d", count: 80))
        #expect(!long.multiplex)
    }

    @Test("sudo wraps the whole text in sudo -n -- sh -c")
    func sudoText() {
        let host = HostConnection(name: "db1", sudo: true)
        let t = SSHTransport(host: host, controlDirectory: "/tmp/c")
        let text = t.commandText(
            for: CommandSpec(argv: ["id", "-u"], environment: ["A": "1"], workingDirectory: "/tmp"))
        #expect(text == "sudo -n -- sh -c 'cd /tmp && A=1 id -u'")
        let bare = SSHTransport(host: host, controlDirectory: "/tmp/c", killRemoteOnDisconnect: false)
        #expect(bare.remoteCommandText(for: CommandSpec(argv: ["id"])) == "sudo -n -- sh -c id")
        #expect(t.remoteCommandText(for: CommandSpec(argv: ["id"])).hasPrefix("sh -c "))
    }

    @Test("unreachable rule: only ssh's own errors count")
    func unreachableRule() {
        #expect(
            SSHTransport.connectionFailureMessage(in: "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n")
                == "ssh: connect to host 127.0.0.1 port 1: Connection refused")
        #expect(SSHTransport.connectionFailureMessage(in: "root@h: Permission denied (publickey).\n") != nil)
        #expect(SSHTransport.connectionFailureMessage(in: "my tool failed\n") == nil)
    }

    @Test("HostConnection decodes with defaults")
    func decoding() throws {
        // JSONDecoder is not used here (RunbookCore has no Foundation); round-trip via the memberwise init instead.
        let h = HostConnection(name: "web1")
        #expect(h.kind == .ssh)
        #expect(h.connectTimeout == 10)
        #expect(h.effectiveAddress == "web1")
        #expect(!h.sudo)
    }
}
