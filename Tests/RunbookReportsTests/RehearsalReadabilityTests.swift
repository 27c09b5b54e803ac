import RunbookCore
import Testing

@testable import RunbookReports

/// How the rehearsal report writes what it observed, so it reads well (found by looking at a lab
/// drill's report in Chromium: a status probe's `workers` was one JSON blob, fractions had 14
/// digits, and the wall time said 52s next to an RTO of 53s).
@Suite struct RehearsalReadabilityTests {
    @Test func aListOfRecordsIsOneLinePerElementWithoutItsNullFields() {
        let workers = Value.list([
            .map([
                "node": .string("gfs-a1"), "status": .string("Active"), "last_synced": .string("2026-12-01T15:18:55Z"),
            ]),
            .map(["node": .string("gfs-a2"), "status": .string("Passive"), "last_synced": .null]),
        ])
        #expect(
            Rehearsal.observedLines("workers", workers) == [
                "workers[0]: last_synced=2026-12-01T15:18:55Z, node=gfs-a1, status=Active",
                "workers[1]: node=gfs-a2, status=Passive",
            ])
        // Anything else stays `key = value`.
        #expect(Rehearsal.observedLines("lines", .list([])) == ["lines = []"])
        #expect(Rehearsal.observedLines("paths", .list([.string("a")])) == ["paths = [\"a\"]"])
        #expect(Rehearsal.observedLines("active", .int(1)) == ["active = 1"])
    }

    @Test func fractionsAreShownToTheMillisecond() {
        #expect(
            Rehearsal.observedLines("last_synced_age_seconds", .double(49.65758669376373)) == [
                "last_synced_age_seconds = 49.658"
            ])
        #expect(Rehearsal.observedLines("lag", .double(0.5)) == ["lag = 0.5"])
        #expect(Rehearsal.observedLines("lag", .double(48)) == ["lag = \(Value.double(48).renderedForText)"])
    }

    @Test func durationsFromTenSecondsAreRoundedToTheNearestSecondAsObjectivesAre() {
        #expect(ReportText.duration(52.6) == "53s")
        #expect(ReportText.duration(52.4) == "52s")
        #expect(ReportText.duration(125.5) == "2m06s")
        #expect(ReportText.duration(9.96) == "9.9s")
        #expect(ReportText.duration(52.6) == ObjectiveMeasurement.durationText(52.6))
    }

    @Test func aPreconditionFailureInTheVerdictStopsBeforeItsObservations() {
        let short = "snapshot-possible on gfs-b1: snapshot: true needs thin LVs; run the drill without it"
        #expect(Rehearsal.brief(short) == short)
        let failed =
            short + " (expect: outputs.ready; observed: " + String(repeating: "bricks = [...], ", count: 30) + ")"
        #expect(Rehearsal.brief(failed) == short + " (the expectation and what was observed: under Probes)")
        let withSummary = failed + "; gluster.snapshot.status on gfs-b1: lvs not found (install lvm2)"
        #expect(
            Rehearsal.brief(withSummary)
                == short
                + "; gluster.snapshot.status on gfs-b1: lvs not found (install lvm2) (the expectation and what was observed: under Probes)"
        )
        let long = String(repeating: "ssh: connect to host gfs-b1 port 22: timed out; ", count: 20)
        let cut = Rehearsal.brief(long)
        #expect(cut.hasSuffix("… (whole under Probes)") && cut.count == 400 + "… (whole under Probes)".count, "\(cut)")
    }

    @Test func theTrendGridHasThreeRoundSteps() {
        #expect(RehearsalHTML.gridStep(57.2) == 20)
        #expect(RehearsalHTML.gridStep(3) == 1)
        #expect(RehearsalHTML.gridStep(330) == 120)
        #expect(RehearsalHTML.gridStep(2 * 86400) == 86400)
    }
}
