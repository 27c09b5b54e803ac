import Foundation
import RunbookTestSupport
import Testing

/// The format's contract ships with the project (issue 18): the README points at docs/FORMAT.md,
/// not at a file outside the repository, and every file FORMAT.md tells a new author to read exists.
@Suite struct AuthorDocsTests {
    func read(_ path: String) throws -> String {
        try String(contentsOf: PackagePaths.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func theReadmeLinksTheFormatThatShipsWithTheProject() throws {
        let readme = try read("README.md")
        #expect(readme.contains("[docs/FORMAT.md](docs/FORMAT.md)"))
        #expect(!readme.contains("../shared/SPEC.md"))
    }

    @Test func everyFileTheFormatTellsAnAuthorToReadExists() throws {
        let format = try read("docs/FORMAT.md")
        var paths = Set<String>()
        for prefix in ["Examples/", "Runbooks/"] {
            var rest = Substring(format)
            while let start = rest.range(of: "`" + prefix) {
                let tail = rest[start.upperBound...]
                guard let end = tail.firstIndex(of: "`") else { break }
                let path = prefix + tail[..<end]
                paths.insert(String(path.split(separator: " ").first ?? ""))
                rest = tail[end...]
            }
        }
        #expect(paths.contains("Examples/quickstart/checked-copy.yaml"), "\(paths)")
        for path in paths where !path.contains("*") {
            #expect(
                FileManager.default.fileExists(atPath: PackagePaths.root.appendingPathComponent(path).path),
                "docs/FORMAT.md names \(path)")
        }
    }
}
