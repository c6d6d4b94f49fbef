// swift-tools-version:6.0
import PackageDescription

/// The HTTP thread's and the dispatcher's modules, whose code runs per delivery, are built for
/// release without the runtime's dynamic exclusivity checks (`swift_beginAccess`: a lookup in a
/// thread-local access set on each access to a class's stored property, about 1 % of the worker's
/// CPU per delivery). Debug builds, which every test runs, keep the checks and trap on a
/// violation. Not on WebhookCore or WebhookRedis: they are library products, and unsafe flags
/// would keep other packages from depending on them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "webhook-worker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "webhook-worker", targets: ["webhook-worker"]),
        .library(name: "WebhookCore", targets: ["WebhookCore"]),
        .library(name: "WebhookRedis", targets: ["WebhookRedis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // C libraries, linked from the system (Debian: libhiredis-dev, libcurl4-openssl-dev, libssl-dev).
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // OpenSSL's libcrypto, which libcurl already links: only its SHA-256, through CHMACShim.
        .systemLibrary(name: "CLibcrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Typed wrappers for libcurl's variadic functions, which Swift cannot call.
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        // HMAC-SHA256 whose keyed states are plain C structs, copied per code without allocating
        // (`wh_hmac_sha256_*`; see PrekeyedHMAC for why not swift-crypto's SHA256).
        .target(name: "CHMACShim", dependencies: ["CLibcrypto"]),

        // Pure core: events, signing, retry arithmetic, configuration. No I/O.
        .target(name: "WebhookCore", dependencies: [
            "CHMACShim",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // The neutral driver boundary: the worker-bound `DeliveryQueue` and `EndpointLimits`
        // protocols, their value types, `QueueError` with its stored code, and the memory drivers.
        .target(name: "WebhookQueue", dependencies: [
            "WebhookCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The only module that knows Redis keys, commands and Lua scripts.
        .target(name: "WebhookRedis", dependencies: [
            "CHiredis", "WebhookCore", "WebhookQueue",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The only module that knows libcurl.
        .target(name: "WebhookHTTP", dependencies: [
            "CCurl", "CCurlShim",
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPath),
        // The worker runtime: composes queue and HTTP delivery.
        .target(name: "WebhookWorker", dependencies: [
            "WebhookCore", "WebhookQueue", "WebhookRedis", "WebhookHTTP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: hotPath),
        // HTTP servers: the Marzban bridge (ingest) and /metrics + /healthz.
        .target(name: "WebhookServer", dependencies: [
            "WebhookCore", "WebhookRedis",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The web dashboard (`dashboard`): server-rendered pages over the same Redis reads and
        // admin operations as the CLI.
        .target(name: "WebhookDashboard", dependencies: [
            "WebhookCore", "WebhookRedis", "WebhookServer",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "webhook-worker", dependencies: [
            "WebhookCore", "WebhookRedis", "WebhookWorker", "WebhookServer", "WebhookDashboard",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        .target(name: "TestSupport", dependencies: [
            "WebhookCore", "WebhookRedis", "WebhookServer",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "WebhookCoreTests", dependencies: ["WebhookCore", "TestSupport"]),
        // The Redis driver alone against a real redis-server: the queue's scripts, workers and
        // leases, connections and redirects, the fleet-wide endpoint state, the attempt log's keys.
        .testTarget(name: "WebhookRedisTests", dependencies: [
            "WebhookCore", "WebhookRedis", "TestSupport",
        ]),
        // The libcurl client alone against real loopback receivers (and sockets that misbehave).
        .testTarget(name: "WebhookHTTPTests", dependencies: [
            "WebhookCore", "WebhookHTTP", "TestSupport",
        ]),
        // The bridge (`ingest`) in-process against a real redis-server, and the JSON log handler;
        // no worker process.
        .testTarget(name: "WebhookServerTests", dependencies: [
            "WebhookCore", "WebhookServer", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Whole-process tests: `webhook-worker` processes (worker, bridge, CLI, dashboard) as a
        // user runs them, with Redis topologies, receivers and proxies around them.
        .testTarget(name: "WebhookIntegrationTests", dependencies: [
            "WebhookCore", "WebhookQueue", "WebhookRedis", "WebhookHTTP", "WebhookWorker", "WebhookServer", "WebhookDashboard", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The dashboard's pure parts: escaping, views, charts, sign-in (its browser tests are
        // integration tests, Tests/WebhookIntegrationTests/Dashboard).
        .testTarget(name: "WebhookDashboardTests", dependencies: [
            "WebhookDashboard", "WebhookCore", "WebhookRedis", "TestSupport",
        ]),
        // One contract, both drivers: the same cases against `MemoryDeliveryQueue` /
        // `MemoryEndpointLimits` and against the Redis drivers on a real redis-server.
        .testTarget(name: "WebhookQueueContractTests", dependencies: [
            "WebhookQueue", "WebhookRedis", "WebhookCore", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Unit tests of the worker's internal parts (@testable import); the endpoint guard against a real
        // redis-server.
        .testTarget(name: "WebhookWorkerTests", dependencies: [
            "WebhookWorker", "WebhookCore", "WebhookQueue", "WebhookHTTP", "WebhookRedis", "TestSupport",
        ]),
    ]
)
