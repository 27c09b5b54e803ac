import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The HTML rehearsal report in a real browser: headless Chromium (Debian's `chromium`, which
/// `.ci/run` installs) lays it out at a desktop and a phone width, and the test reads back what
/// the page shows. Skips, saying so, where Chromium is missing.
@Suite struct RehearsalHTMLBrowserTests {
    let reports = RehearsalReportTests()

    static func chromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    static func chromiumArguments(width: Int, height: Int) -> [String] {
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--window-size=\(width),\(height)",
        ]
    }

    /// What the page shows, read by a script the test appends to its own copy of the report
    /// (the report itself has none): layout facts at the window's width.
    static let probe = """
        <script>
        (function () {
          function shown(el) { return !!el && getComputedStyle(el).display !== 'none' && el.getBoundingClientRect().width > 0; }
          var svgs = Array.prototype.slice.call(document.querySelectorAll('#timeline svg')).filter(shown);
          var trend = Array.prototype.slice.call(document.querySelectorAll('#trend svg')).filter(shown);
          var verdict = document.getElementById('verdict');
          var facts = {
            innerWidth: window.innerWidth,
            scrollWidth: document.documentElement.scrollWidth,
            verdict: verdict.innerText,
            verdictTop: verdict.getBoundingClientRect().top,
            verdictColor: getComputedStyle(verdict).color,
            timelineShown: svgs.map(function (s) { return s.id; }),
            timelineWidth: svgs.length ? svgs[0].getBoundingClientRect().width : 0,
            bars: svgs.length ? svgs[0].querySelectorAll('g.bar').length : 0,
            waitingBars: svgs.length ? svgs[0].querySelectorAll('g.bar[data-kind=waiting]').length : 0,
            smallestTimelineFont: svgs.length ? Math.min.apply(null, Array.prototype.map.call(svgs[0].querySelectorAll('text'),
              function (t) { return t.getBoundingClientRect().height; })) : 0,
            trendShown: trend.map(function (s) { return s.id; }),
            trendPoints: trend.length ? trend[0].querySelectorAll('circle').length : 0,
            objectives: Array.prototype.map.call(document.querySelectorAll('#objectives tbody tr'), function (r) { return r.innerText; }),
            approvals: document.getElementById('approvals').innerText,
            trendRows: document.querySelectorAll('#trend tbody tr').length,
            tableHeaderShown: shown(document.querySelector('#objectives thead')),
            evidence: document.getElementById('evidence').innerText
          };
          var pre = document.createElement('pre');
          pre.id = 'probe-result';
          pre.textContent = 'PROBE' + JSON.stringify(facts) + 'END';
          document.body.appendChild(pre);
        })();
        </script>
        """

    func facts(chromium: String, html: String, width: Int, scratch: Scratch) throws -> [String: Any] {
        let copy = try scratch.write(
            "probe-\(width).html", html.replacingOccurrences(of: "</body>", with: Self.probe + "</body>"))
        let out = try runProgram(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            ["120", chromium] + Self.chromiumArguments(width: width, height: 2000) + ["--dump-dom", "file://" + copy])
        #expect(out.status == 0, "chromium --dump-dom: \(out.stderr)")
        let start = try #require(
            out.stdout.range(of: "id=\"probe-result\">PROBE"), "no probe result in the DOM: \(out.stdout.prefix(2000))")
        let end = try #require(out.stdout.range(of: "END", range: start.upperBound..<out.stdout.endIndex))
        let text = String(out.stdout[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test func theReportReadsWellInChromiumOnADesktopAndAPhone() async throws {
        guard let chromium = Self.chromium() else {
            print("skipped: headless Chromium is missing (apt-get install chromium; .ci/run does)")
            return
        }
        let (d, _, secondID) = try await reports.twoRuns()
        let out = try RunbookTestSupport.runbook(d.scratch, ["report", secondID, "--format", "html"])
        #expect(out.status == 0, "\(out.stderr)")
        let html = out.stdout
        // Self-contained: nothing to fetch, nothing to run.
        for forbidden in ["<script", "<link", "src=", "@import", "https:", "url(http"] {
            #expect(!html.contains(forbidden), "the report must not contain \(forbidden)")
        }
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http:") == false)
        #expect(!html.contains(RehearsalReportTests.secret))
        #expect(html.contains("preparing site-a with token ***"))
        // The objectives (10m, 5m) are far above runs of a few seconds: named under the chart,
        // not drawn, so the runs' points are not flattened onto its axis.
        #expect(
            html.contains("RTO objective 10m00s and RPO objective 5m00s are above the chart"), "\(html.suffix(4000))")
        #expect(!html.contains("stroke-dasharray"), "no objective line drawn")

        let desktop = try facts(chromium: chromium, html: html, width: 1280, scratch: d.scratch)
        let phone = try facts(chromium: chromium, html: html, width: 390, scratch: d.scratch)
        for (name, page) in [("desktop", desktop), ("phone", phone)] {
            let width = try #require(page["innerWidth"] as? Double)
            #expect(
                (page["scrollWidth"] as? Double ?? .infinity) <= width,
                "\(name): nothing wider than the screen: \(page)")
            #expect((page["verdict"] as? String)?.hasPrefix("PASSED") == true, "\(name): \(page)")
            #expect((page["verdictTop"] as? Double ?? 999) < 120, "\(name): the verdict is at the top: \(page)")
            #expect(page["verdictColor"] as? String == "rgb(39, 103, 73)", "\(name): green for a pass")
            #expect((page["bars"] as? Double) == 7, "\(name): every step instance, the gate included: \(page)")
            #expect((page["waitingBars"] as? Double) == 1, "\(name): the approval gate is shown as waiting")
            #expect((page["smallestTimelineFont"] as? Double ?? 0) >= 9, "\(name): timeline text readable: \(page)")
            #expect((page["trendPoints"] as? Double) == 4, "\(name): RTO and RPO of two runs: \(page)")
            #expect((page["trendRows"] as? Double) == 2)
            let objectives = try #require(page["objectives"] as? [String])
            #expect(objectives.count == 2)
            #expect(
                objectives.first?.contains("rto") == true && objectives.first?.contains("met") == true, "\(objectives)")
            #expect((page["approvals"] as? String)?.contains("alice") == true)
            #expect((page["approvals"] as? String)?.contains("CHG-42 drill window") == true)
            #expect((page["evidence"] as? String)?.contains("prepare@site-a") == true)
        }
        #expect(desktop["timelineShown"] as? [String] == ["timeline-svg"], "\(desktop)")
        #expect(phone["timelineShown"] as? [String] == ["timeline-svg-narrow"], "\(phone)")
        #expect(phone["trendShown"] as? [String] == ["trend-svg-narrow"], "\(phone)")
        #expect(desktop["tableHeaderShown"] as? Bool == true)
        #expect(phone["tableHeaderShown"] as? Bool == false, "on a phone, table rows are cards")

        // Screenshots, to look at (RUNBOOK_SCREENSHOTS=DIR keeps them there).
        let file = try d.scratch.write("report.html", html)
        let directory = ProcessInfo.processInfo.environment["RUNBOOK_SCREENSHOTS"] ?? d.scratch.root.path
        for (width, height) in [(1280, 2600), (390, 4200)] {
            let png = "\(directory)/report-\(width).png"
            let shot = try runProgram(
                URL(fileURLWithPath: "/usr/bin/timeout"),
                ["120", chromium] + Self.chromiumArguments(width: width, height: height) + [
                    "--screenshot=\(png)", "file://" + file,
                ])
            #expect(shot.status == 0, "\(shot.stderr)")
            let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
            #expect(size > 20_000, "\(png): \(size) bytes")
        }
    }
}
