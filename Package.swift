// swift-tools-version: 6.1
import PackageDescription
import class Foundation.ProcessInfo

/// A C library from Debian, linked in process through a module map (see `Sources/C*/module.modulemap`).
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt(apt)])
}

let package = Package(
    name: "Keepsake",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keepsake", targets: ["keepsake"]),
        // The media engine `keepsake worker` becomes: the only binary that maps libav, libheif and friends.
        .executable(name: "keepsake-media", targets: ["keepsake-media"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        // C shims: system libraries only, no code of ours beyond small inline helpers.
        systemLibrary("CSodium", pkgConfig: "libsodium", apt: ["libsodium-dev"]),
        systemLibrary("CFFmpeg", pkgConfig: "libavformat",
                      apt: ["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev",
                            "libswresample-dev", "libavfilter-dev"]),
        systemLibrary("CExif", pkgConfig: "libexif", apt: ["libexif-dev"]),
        systemLibrary("CHeif", pkgConfig: "libheif", apt: ["libheif-dev"]),
        systemLibrary("CJPEG", pkgConfig: "libjpeg", apt: ["libjpeg62-turbo-dev"]),
        systemLibrary("CLCMS2", pkgConfig: "lcms2", apt: ["liblcms2-dev"]),
        // The media workers' sandbox: the seccomp filter, and the confined start (inline C: vfork, limits, exec).
        systemLibrary("CSeccomp", pkgConfig: "libseccomp", apt: ["libseccomp-dev"]),

        // Crypto: libsodium primitives; knows nothing of media. (Not named `Crypto`, which is swift-crypto's module.)
        .target(name: "KeepsakeCrypto", dependencies: ["CSodium"]),
        // MediaTypes: what the rest of the program knows of media without decoding any: formats and sniffing, metadata
        // values, Live Photo pairing, stream options, the `MediaWork` interface. Pure Swift, no C library.
        .target(name: "MediaTypes", dependencies: ["FileSystem"]),
        // FileSystem: POSIX file-system helpers: paths as the kernel's bytes, opening paths of any length.
        .target(name: "FileSystem"),
        // Media: metadata, thumbnails, streams with the C libraries; knows nothing of keys. Linked by `keepsake-media` only.
        .target(name: "Media", dependencies: ["MediaTypes", "FileSystem", "CFFmpeg", "CExif", "CHeif", "CJPEG", "CLCMS2"]),
        // MediaWorker: the media work in confined `keepsake-media` child processes: the sandbox, the framed pipe protocol, both ends.
        .target(name: "MediaWorker", dependencies: ["MediaTypes", "FileSystem", "CSeccomp", .product(name: "Logging", package: "swift-log")]),
        // Store: object backends, the library's keys and its index.
        .target(name: "Store", dependencies: [
            "KeepsakeCrypto", "MediaTypes", "FileSystem",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Pipeline: discovery, the worker pool and the per-file job.
        // Archives: media read out of ZIP archives (Google Takeout) member by member, never unpacked into a folder.
        .target(name: "Archives", dependencies: ["FileSystem", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "Pipeline", dependencies: [
            "MediaTypes", "KeepsakeCrypto", "Store", "FileSystem", "Archives",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Export", dependencies: ["Store", "KeepsakeCrypto", "MediaTypes", "FileSystem"]),
        .target(name: "Daemon", dependencies: [
            "Pipeline", "Store", "Export", "MediaTypes", "MediaWorker", "FileSystem",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Sharing: public links (docs/public-links.md): link records, manifests and the pictures sealed for a link, with
        // the WebCrypto-compatible primitives of swift-crypto; the server's side of links needs no key.
        .target(name: "Sharing", dependencies: [
            "Store", "KeepsakeCrypto", "MediaTypes", "FileSystem",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        // Gallery: `keepsake serve`, the library in a browser (Hummingbird); reads through Store, decrypts in memory.
        .target(name: "Gallery", dependencies: [
            "Store", "Sharing", "KeepsakeCrypto", "MediaTypes",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [
            // The public link page (docs/public-links.md), served from the binary.
            .embedInCode("Links/link.html"), .embedInCode("Links/link.js"), .embedInCode("Links/link.css"),
            .embedInCode("Links/link-crypto.js"), .embedInCode("Links/collect.js"),
        ]),
        // The thin command-line front end. It links no media library: its process holds the keys, and the Argon2id
        // unlock's 256 MiB plus libav's ~45 MB of mapped libraries would not fit in 300 MB.
        .executableTarget(name: "keepsake", dependencies: [
            "Pipeline", "Store", "Export", "Daemon", "Gallery", "Sharing", "MediaTypes", "MediaWorker", "KeepsakeCrypto", "FileSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "keepsake-media", dependencies: ["Media", "MediaWorker"]),

        // Shared by the test targets: where the corpus is, temp folders, running oracle tools.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KeepsakeCryptoTests", dependencies: ["KeepsakeCrypto", "TestSupport"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "MediaTypes", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: [
            "Store", "KeepsakeCrypto", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Daemon", "Store", "MediaTypes", "FileSystem"]),
        .testTarget(name: "ExportTests", dependencies: ["Export", "Store", "KeepsakeCrypto", "MediaTypes", "FileSystem", "TestSupport"]),
        .testTarget(name: "MediaWorkerTests", dependencies: ["MediaWorker", "Media", "MediaTypes", "FileSystem", "TestSupport"]),
        .testTarget(name: "GalleryTests", dependencies: [
            "Gallery", "Sharing", "Store", "KeepsakeCrypto", "CSodium", "MediaTypes", "FileSystem", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        // Runs the built `keepsake` binary as a user would.
        .testTarget(name: "EndToEndTests", dependencies: ["Store", "KeepsakeCrypto", "FileSystem", "TestSupport"]),
    ]
)

// The benchmarks (package-benchmark) build only when asked for, so the test build stays light:
// `scripts/bench` sets KEEPSAKE_BENCHMARKS=1.
if ProcessInfo.processInfo.environment["KEEPSAKE_BENCHMARKS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]))
    package.targets.append(.executableTarget(
        name: "KeepsakeBenchmarks",
        dependencies: ["Media", "MediaTypes", "KeepsakeCrypto", "Store", "Pipeline", "FileSystem", "TestSupport",
                       .product(name: "Benchmark", package: "benchmark"),
                       .product(name: "Logging", package: "swift-log")],
        path: "Benchmarks/KeepsakeBenchmarks",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}
