// swift-tools-version:6.0
// trainingd: a local supervisor for SageMaker-style training jobs.
// docs/architecture.md draws the modules and what each may import.
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "trainingd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "trainingd", targets: ["trainingd"]),
        .executable(name: "jobctl", targets: ["jobctl"]),
        .executable(name: "trainingd-keeper", targets: ["trainingd-keeper"]),
        .library(name: "TrainingCore", targets: ["TrainingCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Pure core: the definition model, its validation and the job state machine. No I/O.
        .target(name: "TrainingCore", swiftSettings: strictSwift),
        // The daemon's configuration file and the site catalog (images, algorithms, file systems).
        .target(
            name: "TrainingConfig",
            dependencies: ["TrainingCore", "TrainingObjectStore", "TrainingFiles", "TOMLKit"],
            swiftSettings: strictSwift
        ),
        // The SQLite store: the daemon's durable state (system libsqlite3, WAL).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "TrainingStore", dependencies: ["TrainingCore", "CSQLite"], swiftSettings: strictSwift),
        // Linux calls Glibc's Swift module hides (pidfds, spawn extensions).
        .target(name: "CTrainingShim"),
        // The per-job keeper: parent of the algorithm, sets up its namespaces, logs and exit status.
        .executableTarget(
            name: "trainingd-keeper",
            // The keeper is plain C, linked statically: without the Swift runtime (and libstdc++) that the
            // Swift driver links into every executable, and without the dynamic loader, its start costs what a
            // spawn costs (0.4 ms here, 2.4 ms as a dynamic Swift executable; bench/keeper_start.py).
            // -nostartfiles drops swiftrt.o, the one object that would pull the runtime in. Not a static PIE:
            // SwiftPM always adds an rpath, and glibc's static-PIE start asserts there is none.
            linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"])]
        ),
        // The queue of waiting jobs: pure, in memory, what the supervisor asks what starts next.
        .target(name: "TrainingScheduler", dependencies: ["TrainingCore"], swiftSettings: strictSwift),
        // File operations a root process may do next to trees job users can write: by descriptor, no links followed.
        .target(name: "TrainingFiles", dependencies: ["CTrainingShim"], swiftSettings: strictSwift),
        // gzip'd tar archives written natively (system zlib): the artifacts' model.tar.gz, with no tar or gzip processes.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libdeflate: whole-buffer deflate, 2.7x zlib's speed at level 6 (model.tar.gz's gzip members).
        .systemLibrary(name: "CLibdeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .target(name: "TrainingArchive", dependencies: ["CLibdeflate"], swiftSettings: strictSwift),
        // AWS Signature Version 4: the signer the S3 client uses and the verifier of the TCP API's requests.
        .target(name: "TrainingSigV4", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strictSwift),
        // Object storage behind one interface (ObjectStore): local directories with S3's semantics
        // (file:// and local buckets), and where each location is served (ObjectLocations, S3Settings).
        .target(name: "TrainingObjectStore", dependencies: ["TrainingCore", "CTrainingShim", "TrainingSigV4"], swiftSettings: strictSwift),
        // The S3 backend of ObjectStore: the client (HTTP over async-http-client, signed), multipart and
        // ranged transfers. A module of its own so that what only reads the settings (the config, jobctl)
        // does not link the HTTP stack, whose start-up cost every jobctl call would pay.
        .target(
            name: "TrainingS3",
            dependencies: ["TrainingObjectStore", "TrainingSigV4", "CTrainingShim", "CZlib",
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: strictSwift
        ),
        // The process runtime: the executor interface and the local executor over the keeper.
        .target(name: "TrainingRuntime", dependencies: ["CTrainingShim"], swiftSettings: strictSwift),
        // cgroups that hold each job host to its instance type: v2 (a delegated subtree) or v1 controllers.
        .target(name: "TrainingCgroups", dependencies: ["TrainingFiles"], swiftSettings: strictSwift),
        // VolumeSizeInGB: each host's volume a file system of that size (a loop-mounted sparse file).
        .target(name: "TrainingVolumes", dependencies: ["TrainingFiles", "CTrainingShim"], swiftSettings: strictSwift),
        // Container images of the local containers-storage, listed through podman.
        .target(name: "TrainingImages", dependencies: ["TrainingCore", "TrainingFiles", "CTrainingShim"], swiftSettings: strictSwift),
        // The job's /opt/ml volume, data staging and artifact packaging.
        .target(name: "TrainingStaging", dependencies: ["TrainingCore", "TrainingArchive", "TrainingObjectStore", "TrainingS3", "CTrainingShim", "CZlib"], swiftSettings: strictSwift),
        // The control protocol shared by daemon and CLI: API shapes, errors, a small Unix-socket HTTP client.
        .target(name: "TrainingControl", dependencies: ["TrainingCore"], swiftSettings: strictSwift),
        // systemd glue over libsystemd: sd_notify (readiness, status, watchdog) and the journal as a swift-log backend.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "TrainingSystemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        // The supervisor: spool intake, scheduling, job runs; one serial queue owns all job state.
        .target(
            name: "TrainingDaemon",
            dependencies: [
                "TrainingCore", "TrainingConfig", "TrainingStore", "TrainingRuntime", "TrainingStaging", "TrainingObjectStore", "TrainingSigV4", "TrainingControl",
                "TrainingSystemd", "TrainingFiles", "TrainingScheduler", "TrainingImages", "TrainingCgroups", "TrainingVolumes", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // Times the scheduler's decisions with long queues for bench/run.sh (not installed).
        .executableTarget(
            name: "trainingd-bench-scheduler", dependencies: ["TrainingCore", "TrainingScheduler"], path: "bench/SchedulerDecisions",
            swiftSettings: strictSwift
        ),
        // Seeds a database with ended jobs for bench/api_latency.py (not installed).
        .executableTarget(
            name: "trainingd-bench-seed", dependencies: ["TrainingCore", "TrainingStore"], path: "bench/Seed",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "jobctl",
            dependencies: [
                "TrainingCore", "TrainingConfig", "TrainingControl", "TrainingImages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift,
            // A position-dependent executable: a PIE's loader first writes about 85,000 absolute
            // pointers (the Swift metadata of Foundation, the argument parser and ours) into private
            // copies of their pages, about 200 page faults and 2 ms of every jobctl start here
            // (bench/RESULTS.md, "The starts of trainingd's executables"). jobctl runs with its user's
            // rights only, so its fixed image address gives nothing to anyone; trainingd, which runs
            // as root, stays a PIE. Release builds only, which link the Swift runtime in (the
            // Makefile's RELEASE): against the shared runtime of a debug build, the loader warns at
            // every start that a position-dependent jobctl refers to its protected functions.
            // libstdc++ is linked in too where scripts/release-flags.sh found its archive (about 0.9 ms
            // of every start). Not glibc: a static glibc crashes where a user lookup reaches an NSS
            // module (LDAP, sssd, systemd users). Not trainingd: its libxml2 loads the shared
            // libstdc++ anyway (through ICU), and two copies in a root daemon are not worth 0.5 ms a worker.
            linkerSettings: [.unsafeFlags(
                ["-Xclang-linker", "-no-pie", "-L\(Context.packageDirectory)/.build/static-libstdc++"],
                .when(configuration: .release))]
        ),
        .executableTarget(
            name: "trainingd",
            dependencies: [
                "TrainingCore", "TrainingConfig", "TrainingDaemon", "TrainingStaging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingCoreTests",
            dependencies: ["TrainingCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingConfigTests",
            dependencies: ["TrainingConfig"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingStoreTests",
            dependencies: ["TrainingStore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingRuntimeTests",
            dependencies: ["TrainingRuntime", "TrainingFiles"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingSchedulerTests",
            dependencies: ["TrainingScheduler", "TrainingCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingFilesTests",
            dependencies: ["TrainingFiles"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingArchiveTests",
            dependencies: ["TrainingArchive"],
            swiftSettings: strictSwift
        ),
        // moto's S3 server for the tests that need one (scripts/test-tools.sh installs it).
        .target(name: "TrainingTestSupport", dependencies: ["TrainingObjectStore", "TrainingS3", "TrainingSigV4"], path: "Tests/Support", swiftSettings: strictSwift),
        .testTarget(name: "TrainingSigV4Tests", dependencies: ["TrainingSigV4"], swiftSettings: strictSwift),
        .testTarget(name: "TrainingCgroupsTests", dependencies: ["TrainingCgroups", "TrainingFiles"], swiftSettings: strictSwift),
        .testTarget(name: "TrainingVolumesTests", dependencies: ["TrainingVolumes", "TrainingFiles"], swiftSettings: strictSwift),
        .testTarget(
            name: "TrainingObjectStoreTests",
            dependencies: ["TrainingObjectStore", "TrainingS3", "TrainingSigV4", "TrainingTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingStagingTests",
            dependencies: ["TrainingStaging", "TrainingObjectStore", "TrainingS3"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingImagesTests",
            dependencies: ["TrainingImages", "TrainingCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TrainingSystemdTests",
            dependencies: ["TrainingSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["TrainingCore", "TrainingStore", "TrainingControl", "TrainingRuntime", "TrainingObjectStore", "TrainingS3", "TrainingFiles", "TrainingTestSupport", "TrainingSigV4", "TrainingCgroups"],
            exclude: ["Scripts"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["TrainingCore"],
            swiftSettings: strictSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)
