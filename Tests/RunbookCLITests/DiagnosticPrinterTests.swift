import RunbookCore
import Testing

@testable import RunbookCLI

@Suite struct DiagnosticPrinterTests {
    @Test func snippetWithCaretUnderTheColumn() {
        var printer = DiagnosticPrinter(showSnippets: true, color: false)
        printer.sources["r.yaml"] = "steps:\n  - id: a\n    retries: many\n"
        let text = printer.format(
            Diagnostic(
                .error, "retries must be a whole number", at: SourceLocation(file: "r.yaml", line: 3, column: 14)))
        #expect(
            text == """
                r.yaml:3:14: error: retries must be a whole number
                      retries: many
                               ^

                """)
    }

    @Test func plainWithoutATerminal() {
        let printer = DiagnosticPrinter(showSnippets: false, color: false)
        let text = printer.format(Diagnostic(.warning, "w", at: SourceLocation(file: "r.yaml", line: 1, column: 2)))
        #expect(text == "r.yaml:1:2: warning: w\n")
        #expect(printer.format(Diagnostic(.error, "no place", at: nil)) == "runbook: error: no place\n")
    }
}
