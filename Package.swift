// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "runbook",
    platforms: [.macOS(.v15)],  // Synchronization.Mutex (RunLock)
    products: [
        .executable(name: "runbook", targets: ["runbook"]),
        .library(name: "RunbookCore", targets: ["RunbookCore"]),
        .library(name: "RunbookGluster", targets: ["RunbookGluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", exact: "1.0.2"),
    ],
    targets: [
        // Pure: model, loader, diagnostics, expressions, graph, planner, protocols. No I/O.
        .target(
            name: "RunbookCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        // Effects: the SQLite journal, locks, the state directory, transports, the executor.
        .target(
            name: "RunbookExecution",
            dependencies: [
                "RunbookCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict),
        // The GlusterFS pack: `gluster.*` types and the `--xml` parsers, over the core protocols only.
        .target(
            name: "RunbookGluster",
            dependencies: ["RunbookCore"],
            swiftSettings: strict),
        // The run's lifecycle: start, resume, rollback, approve, status over an environment (packs,
        // transports, `any RunJournal`, the run-lock coordination, observers, end-of-run sinks).
        // Prints nothing; the CLI is one front end of it.
        .target(
            name: "RunbookRuntime",
            dependencies: [
                "RunbookCore",
                "RunbookExecution",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        // Reports over `any RunJournal`: the run report (text, JSON, JUnit), the rehearsal report
        // (HTML, JSON, markdown), the Prometheus metrics file, the per-item lines. Reads only; no GRDB.
        .target(
            name: "RunbookReports",
            dependencies: ["RunbookCore", "RunbookExecution"],
            swiftSettings: strict),
        // One file per subcommand: parse, call the run controller, render, exit code.
        .target(
            name: "RunbookCLI",
            dependencies: [
                "RunbookCore",
                "RunbookExecution",
                "RunbookRuntime",
                "RunbookGluster",
                "RunbookReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "runbook", dependencies: ["RunbookCLI"], swiftSettings: strict),
        // Generates large runbooks and measures validate / offline plan.
        .executableTarget(
            name: "RunbookBenchmark", dependencies: ["RunbookCore", "RunbookExecution", "RunbookTestSupport"],
            swiftSettings: strict),
        .target(name: "RunbookTestSupport", dependencies: ["RunbookCore", "RunbookExecution"], swiftSettings: strict),
        .testTarget(
            name: "RunbookCoreTests",
            dependencies: ["RunbookCore", "RunbookTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "RunbookExecutionTests",
            dependencies: [
                "RunbookExecution", "RunbookCore", "RunbookTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict),
        .testTarget(
            name: "RunbookGlusterTests",
            dependencies: ["RunbookGluster", "RunbookCore", "RunbookExecution", "RunbookTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict),
        .testTarget(
            name: "RunbookRuntimeTests",
            dependencies: ["RunbookRuntime", "RunbookCore", "RunbookExecution", "RunbookTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "RunbookReportsTests",
            dependencies: ["RunbookReports", "RunbookCore", "RunbookExecution", "RunbookTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "RunbookCLITests",
            dependencies: [
                "RunbookCLI", "RunbookCore", "RunbookExecution", "RunbookRuntime", "RunbookTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],  // runbooks the lab tests run by path
            swiftSettings: strict),
    ]
)
