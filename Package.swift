// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "rstdoctor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rstdoctor", targets: ["rstdoctor"]),
        .library(name: "RSTDoctorKit", targets: ["RSTDoctorKit"]),
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
        // The recorder's journal (DESIGN §9): SQLite through GRDB; plain value types, no other stage.
        .target(name: "RSTDJournal", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .target(
            name: "RSTDoctorKit",
            dependencies: [
                "CPcap", "CReadline", "RSTDJournal",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        .executableTarget(
            name: "rstdoctor",
            dependencies: [
                "RSTDoctorKit", "RSTDJournal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets (issue 8): `make fuzz` builds rstdoctor-fuzz with -sanitize=fuzzer,address.
        .target(name: "RSTDoctorFuzz", dependencies: ["RSTDoctorKit"]),
        .executableTarget(name: "rstdoctor-fuzz", dependencies: ["RSTDoctorFuzz"]),
        .testTarget(name: "RSTDoctorKitTests", dependencies: ["RSTDoctorKit", "RSTDJournal"], exclude: ["Fixtures", "Report/Golden"]),
        .testTarget(name: "KnowledgeTests", dependencies: ["RSTDoctorKit"]),
        .testTarget(name: "CLITests", dependencies: ["RSTDoctorKit"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["RSTDoctorFuzz"]),
        .testTarget(name: "JournalTests", dependencies: ["RSTDJournal"]),
        .testTarget(name: "LabTests", dependencies: ["RSTDoctorKit", "RSTDJournal"], exclude: ["agents", "Fixtures", "README.md"]),
    ]
)
