// swift-tools-version:6.0
//
// SwiftMTA: a mail transfer agent as Swift libraries plus the reference server `swiftmta`.
// Module map and dependency rules: ../shared/DESIGN.md and README.md.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "SwiftMTA",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MailSystem", targets: ["MailSystem"]),
        .library(name: "SMTPProtocol", targets: ["SMTPProtocol"]),
        .library(name: "MailTLS", targets: ["MailTLS"]),
        .library(name: "MailAuth", targets: ["MailAuth"]),
        .library(name: "MailMaps", targets: ["MailMaps"]),
        .library(name: "MailMapsBerkeleyDB", targets: ["MailMapsBerkeleyDB"]),
        .library(name: "MailMapsLDAP", targets: ["MailMapsLDAP"]),
        .library(name: "MailRouting", targets: ["MailRouting"]),
        .library(name: "SMTPClient", targets: ["SMTPClient"]),
        .library(name: "MailServer", targets: ["MailServer"]),
        .executable(name: "swiftmta", targets: ["swiftmta"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        // MailAuth's digests (MD5, SHA-1, SHA-256, HMAC) and PBKDF2 for SCRAM and password hashes.
        .package(url: "https://github.com/apple/swift-crypto.git", .upToNextMajor(from: "3.12.3")),
        // The one Base64 codec (SMTPProtocol's AUTH exchange, MailAuth's SCRAM attributes and verifiers).
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        // MailServer's operations: the Prometheus text endpoint behind swift-metrics, and SIGTERM/SIGHUP
        // through a service group.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // C libraries, each reached only through its shim target and the one Swift module above it.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSASL",
            pkgConfig: "libsasl2",
            providers: [.apt(["libsasl2-dev"])]
        ),
        .systemLibrary(
            name: "CLDAP",
            pkgConfig: "ldap",
            providers: [.apt(["libldap2-dev"])]
        ),
        .systemLibrary(
            name: "CBerkeleyDB",
            providers: [.apt(["libdb-dev"])]
        ),
        // The libc stub resolver (res_n*, ns_parse) for MailMaps' DNS lookups.
        .systemLibrary(name: "CResolver"),

        // The base, below the leaves: the one worker pool for blocking work and the one bounded
        // file reader. No dependency of ours.
        .target(name: "MailSystem", swiftSettings: swiftSettings),

        // Leaves: they never import each other.
        .target(
            name: "SMTPProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailTLS",
            dependencies: ["COpenSSL", "MailSystem", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailAuth",
            dependencies: [
                "CSASL",
                "MailSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailMaps",
            dependencies: ["CResolver", "MailSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailMapsBerkeleyDB",
            dependencies: ["MailMaps", "MailSystem", "CBerkeleyDB"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailMapsLDAP",
            dependencies: ["MailMaps", "MailSystem", "CLDAP"],
            swiftSettings: swiftSettings
        ),

        // Above the leaves.
        .target(
            name: "MailRouting",
            dependencies: ["SMTPProtocol", "MailMaps", "MailSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTPClient",
            dependencies: [
                "SMTPProtocol", "MailTLS", "MailAuth", "MailMaps",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailServer",
            dependencies: [
                "SMTPProtocol", "MailTLS", "MailAuth", "MailMaps", "MailMapsBerkeleyDB",
                "MailMapsLDAP", "MailRouting", "MailSystem", "SMTPClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // swiftmta check session: the server's session over an in-memory channel.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftmta",
            dependencies: [
                "MailServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // Runnable examples (CI builds them with everything else; tests run them).
        .executableTarget(
            name: "SendExample",
            dependencies: ["SMTPClient", "SMTPProtocol"],
            path: "examples/SendExample",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ReceiveMail",
            dependencies: [
                "MailServer", "SMTPProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "examples/ReceiveMail",
            swiftSettings: swiftSettings
        ),

        // libFuzzer targets for the parsers (make fuzz); an ordinary build replays saved inputs.
        // FuzzSupport: the driver every one of them shares (libFuzzer entry, replay, --list).
        .target(
            name: "FuzzSupport",
            path: "Fuzz/FuzzSupport",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SMTPProtocolFuzz",
            dependencies: ["FuzzSupport", "SMTPProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/SMTPProtocolFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailMapsFuzz",
            dependencies: ["FuzzSupport", "MailMaps"],
            path: "Fuzz/MailMapsFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailAuthFuzz",
            dependencies: ["FuzzSupport", "MailAuth"],
            path: "Fuzz/MailAuthFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailRoutingFuzz",
            dependencies: ["FuzzSupport", "MailRouting"],
            path: "Fuzz/MailRoutingFuzz",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "MailServerFuzz",
            dependencies: ["FuzzSupport", "MailServer", "SMTPProtocol"],
            path: "Fuzz/MailServerFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SMTPClientFuzz",
            dependencies: ["FuzzSupport", "SMTPClient", "SMTPProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/SMTPClientFuzz",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "MailRunnerFuzz",
            dependencies: ["FuzzSupport", "MailServer"],
            path: "Fuzz/MailRunnerFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailQueueFuzz",
            dependencies: ["FuzzSupport", "MailServer"],
            path: "Fuzz/MailQueueFuzz",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: executables run by `make bench-…`, each measuring against a peer in the same run.
        .executableTarget(
            name: "MailTLSBenchmark",
            dependencies: [
                "MailTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/MailTLSBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailMapsBenchmark",
            dependencies: ["MailMaps", "MailMapsBerkeleyDB", "MailMapsLDAP", "MailSystem", "TestSupport"],
            path: "Benchmarks/MailMapsBenchmark",
            swiftSettings: swiftSettings
        ),
        // The spool's benchmark (make bench-queue) and the child process of its crash test.
        .executableTarget(
            name: "MailQueueBenchmark",
            dependencies: [
                "MailServer", "SMTPProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/MailQueueBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SMTPClientBenchmark",
            dependencies: ["SMTPClient", "SMTPProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Benchmarks/SMTPClientBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MailAuthBenchmark",
            dependencies: ["MailAuth"],
            path: "Benchmarks/MailAuthBenchmark",
            swiftSettings: swiftSettings
        ),

        // Tests (swift-testing). TestSupport starts the real peers tests talk to.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "TestSupport"],
            exclude: ["Transcripts"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MailTLSTests",
            dependencies: [
                // MailMaps for the DANE tests that look TLSA records up as the SMTP client does.
                "MailTLS", "MailMaps", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MailSystemTests", dependencies: ["MailSystem", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            // MailMapsLDAP for the test that initialises libldap and the Cyrus bridge at once.
            name: "MailAuthTests", dependencies: ["MailAuth", "MailMapsLDAP", "MailSystem", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MailMapsTests",
            dependencies: ["MailMaps", "MailSystem", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailMapsBerkeleyDBTests",
            dependencies: ["MailMapsBerkeleyDB", "MailMaps", "MailSystem", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailMapsLDAPTests",
            dependencies: ["MailMapsLDAP", "MailMaps", "MailMapsBerkeleyDB", "MailSystem", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        // `swiftmta makemap` and `swiftmta map`, run as the built program.
        .testTarget(
            name: "MailMapsCommandLineTests",
            dependencies: ["TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailRoutingTests",
            dependencies: ["MailRouting", "MailMaps", "SMTPProtocol", "TestSupport"],
            exclude: ["Oracle"],
            swiftSettings: swiftSettings
        ),
        // SMTPClient against real servers started on loopback (smtp-sink, aiosmtpd, Sendmail, dnsmasq).
        .testTarget(
            name: "SMTPClientTests",
            dependencies: [
                "SMTPClient", "SMTPProtocol", "MailTLS", "MailAuth", "MailMaps", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Peers", "Transcripts"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailServerTests",
            dependencies: [
                "MailServer", "MailSystem", "SMTPProtocol", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // import-mc's fixtures (ImportMC*Tests); Peers: the test peers' scripts; CheckTranscripts: check session's golden transcripts.
            exclude: ["ImportMCFixtures", "Peers", "CheckTranscripts"],
            swiftSettings: swiftSettings
        ),
    ]
)
