import Foundation
import RunbookCore
import Testing

/// Issue 19, defect 14: a failed command's line cuts the command where a quote closes, with
/// `…`, and shows what it printed on stdout too.
@Suite struct CommandFailureTests {
    @Test func aLongCommandIsCutInsideAQuoteThatStaysClosedAndStdoutIsShown() throws {
        let script =
            "rsync -a --delete /srv/primary/with/a/long/path/ /srv/secondary/with/a/long/path/ && echo 'synced it all' && sleep 1"
        let command = CommandSpec(argv: ["sh", "-c", script])
        let result = CommandResult(
            exitCode: 23, stdout: "sent 10 bytes\nsome files vanished\n", stderr: "rsync error\n")
        let summary = CommandFailure.summary("apply", command, result)
        let quoted = try #require(summary.split(separator: "`").dropFirst().first.map(String.init))
        #expect(quoted.count <= 120, "\(quoted)")
        #expect(quoted.hasPrefix("sh -c 'rsync -a --delete /srv/primary/"), "\(quoted)")
        #expect(quoted.hasSuffix("…'"), "\(quoted)")
        #expect(quoted.filter { $0 == "'" }.count % 2 == 0, "a quote left open: \(quoted)")
        #expect(summary.hasSuffix("exited 23: rsync error; stdout: some files vanished"), "\(summary)")

        let short = CommandSpec(argv: ["test", "-e", "/tmp/x y"])
        let whole = CommandFailure.summary("check", short, CommandResult(exitCode: 1))
        #expect(whole == "check `test -e '/tmp/x y'` exited 1")
    }
}
