// swift-tools-version: 6.1
import PackageDescription

// One library target per stage of the pipeline, so that the compiler holds the architecture
// (docs/architecture.md draws these edges; ArchitectureTests compares the two lists).
// `make build` / `make test` pass --explicit-target-dependency-import-check=error, so a module
// cannot import a stage it does not list here, not even one that is a dependency's dependency.
let yams = Target.Dependency.product(name: "Yams", package: "Yams")
let subprocess = Target.Dependency.product(name: "Subprocess", package: "swift-subprocess")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "rstdoctor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rstdoctor", targets: ["rstdoctor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CReadline", pkgConfig: "readline", providers: [.apt(["libreadline-dev"])]),
        // setns(2), which Swift's Glibc module does not declare.
        .systemLibrary(name: "CNetns"),
        // Facts, values, durations, addresses, check records, validation and escaping. No I/O.
        .target(name: "RSTDCore"),
        // Running commands (argv only, timeouts, process groups, namespaces) and signal cleanup.
        .target(name: "RSTDSystem", dependencies: ["RSTDCore", subprocess]),
        // The checks/ and knowledge/ files: where they come from, the built-in copies, YAML with file:line.
        .target(name: "RSTDData", dependencies: ["RSTDCore", yams]),
        // One parser per output format: text in, typed facts out.
        .target(name: "RSTDParse", dependencies: ["RSTDCore"]),
        // Causes, rules, questions, steps: loading, the expression language, validation.
        .target(name: "RSTDKnowledge", dependencies: ["RSTDData", "RSTDCore"]),
        // Forward chaining, scoring, question choice. No I/O.
        .target(name: "RSTDInfer", dependencies: ["RSTDKnowledge", "RSTDCore"]),
        // libpcap reading and live capture, decoding, flow tracking, RST classification.
        .target(name: "RSTDCapture", dependencies: ["CPcap", "CNetns", "RSTDData", "RSTDSystem", "RSTDCore"]),
        // The kernel's RST tracepoints through a tracefs instance of our own.
        .target(name: "RSTDTrace", dependencies: ["RSTDData", "RSTDSystem", "RSTDCore"]),
        // The recorder's journal (DESIGN §9): SQLite through GRDB; plain value types of its own.
        .target(name: "RSTDJournal", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // Running the checks, bundles, the observe window and its joins; records to facts; the recorder.
        .target(name: "RSTDCollect", dependencies: ["RSTDParse", "RSTDCapture", "RSTDTrace", "RSTDJournal", "RSTDData", "RSTDSystem", "RSTDCore"]),
        // Text, JSON, Markdown, HTML, OpenMetrics, from a Diagnosis.
        .target(name: "RSTDRender", dependencies: ["RSTDInfer", "RSTDCore"]),
        // Orchestration above the stages: collect → facts → infer, and the knowledge lint.
        .target(name: "RSTDPipeline", dependencies: ["RSTDCollect", "RSTDInfer", "RSTDKnowledge", "RSTDParse", "RSTDCapture", "RSTDData", "RSTDCore"]),
        // The guided session, on readline.
        .target(name: "RSTDInteractive", dependencies: [
            "CReadline", "RSTDPipeline", "RSTDRender", "RSTDCollect", "RSTDInfer", "RSTDKnowledge", "RSTDCapture",
            "RSTDTrace", "RSTDSystem", "RSTDData", "RSTDCore",
        ]),
        .executableTarget(name: "rstdoctor", dependencies: [
            "RSTDInteractive", "RSTDPipeline", "RSTDRender", "RSTDCollect", "RSTDInfer", "RSTDKnowledge", "RSTDCapture",
            "RSTDTrace", "RSTDJournal", "RSTDParse", "RSTDSystem", "RSTDData", "RSTDCore", argumentParser,
        ]),
        // Fuzz targets (issue 8): `make fuzz` builds rstdoctor-fuzz with -sanitize=fuzzer,address.
        .target(name: "RSTDoctorFuzz", dependencies: [
            "RSTDPipeline", "RSTDRender", "RSTDCollect", "RSTDInfer", "RSTDKnowledge", "RSTDCapture", "RSTDTrace", "RSTDParse",
            "RSTDData", "RSTDCore",
        ]),
        .executableTarget(name: "rstdoctor-fuzz", dependencies: ["RSTDoctorFuzz"]),
        .testTarget(name: "RSTDoctorKitTests", dependencies: [
            "RSTDInteractive", "RSTDPipeline", "RSTDRender", "RSTDCollect", "RSTDInfer", "RSTDKnowledge", "RSTDCapture",
            "RSTDTrace", "RSTDJournal", "RSTDParse", "RSTDSystem", "RSTDData", "RSTDCore",
        ], exclude: ["Fixtures", "Report/Golden"]),
        .testTarget(name: "KnowledgeTests", dependencies: ["RSTDPipeline", "RSTDInfer", "RSTDKnowledge", "RSTDData", "RSTDCore"]),
        .testTarget(name: "CLITests", dependencies: ["RSTDCore"]),
        .testTarget(name: "ArchitectureTests"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["RSTDoctorFuzz"]),
        .testTarget(name: "JournalTests", dependencies: ["RSTDJournal"]),
        .testTarget(name: "LabTests", dependencies: ["RSTDJournal", "RSTDSystem", "RSTDCore"], exclude: ["agents", "Fixtures", "README.md"]),
    ]
)
