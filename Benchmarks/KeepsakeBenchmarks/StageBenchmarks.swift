import Benchmark
import Foundation
import KeepsakeCrypto
import Media
import MediaTypes
import Store

/// 64 MiB of random bytes, hashed or sealed in the pipeline's 1 MiB read pieces.
private let payload = randomBytes(64 << 20)
private let pieceSize = 1 << 20

func cryptoBenchmarks() {
    Benchmark("hash BLAKE2b-512 (64 MiB)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            let hasher = Blake2b()
            payload.withUnsafeBytes { bytes in
                for offset in stride(from: 0, to: bytes.count, by: pieceSize) {
                    hasher.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + pieceSize, bytes.count)]))
                }
            }
            blackHole(hasher.finalize())
        }
    }

    Benchmark("encrypt secretstream (64 MiB)", configuration: .init(scalingFactor: .one)) { benchmark in
        let key = SecretKey()
        for _ in benchmark.scaledIterations {
            var sealedBytes = 0
            let sealer = try SealingStream(key: key) { sealedBytes += $0.count }
            try payload.withUnsafeBytes { bytes in
                for offset in stride(from: 0, to: bytes.count, by: pieceSize) {
                    try sealer.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + pieceSize, bytes.count)]))
                }
            }
            try sealer.finish()
            blackHole(sealedBytes)
        }
    }
}

private func header(_ path: String) -> [UInt8] {
    let handle = FileHandle(forReadingAtPath: path)!
    defer { try? handle.close() }
    return Array(handle.readData(ofLength: Sniffer.headerLength))
}

/// The pipeline's first step, as each measured stage starts with it.
private func sniffFile(_ path: String) -> MediaFormat? {
    if case .media(let format) = Sniffer.sniff(header(path)) { format } else { nil }
}

func mediaBenchmarks() {
    let images = BenchmarkData.corpusFiles(["jpg", "jpeg", "heic", "heif", "avif", "png", "webp", "gif"])
    let videos = BenchmarkData.corpusFiles(["mov", "mp4", "avi", "mts"])
    let headers = (images + videos).map(header)

    Benchmark("sniff (\(headers.count) corpus headers)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            for header in headers { blackHole(Sniffer.sniff(header)) }
        }
    }

    for (label, files) in [("images", images), ("videos", videos)] {
        Benchmark("sniff + metadata (\(files.count) corpus \(label))", configuration: .init(scalingFactor: .one)) { benchmark in
            for _ in benchmark.scaledIterations {
                for path in files {
                    if let format = sniffFile(path) { blackHole(try? MetadataReader.read(fileAt: path, format: format)) }
                }
            }
        }
    }

    let formats: [(String, [String])] = [("JPEG", ["jpg", "jpeg"]), ("HEIC", ["heic", "heif"]), ("PNG", ["png"]), ("WebP", ["webp"])]
    for (label, extensions) in formats {
        let files = BenchmarkData.corpusFiles(extensions)
        Benchmark("thumbnail \(label) (\(files.count) corpus files)", configuration: .init(scalingFactor: .one)) { benchmark in
            for _ in benchmark.scaledIterations {
                for path in files {
                    if let format = sniffFile(path) { blackHole(try? Thumbnailer.thumbnail(fileAt: path, format: format, orientation: nil)) }
                }
            }
        }
    }

    // Issue 16: a HEIC photo's thumbnail and 2048 px rendition from one decode, against the thumbnail alone above.
    let heic = BenchmarkData.corpusFiles(["heic", "heif"])
    Benchmark("thumbnail + rendition HEIC (\(heic.count) corpus files)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            for path in heic {
                if let format = sniffFile(path) { blackHole(try? Thumbnailer.pictures(fileAt: path, format: format, orientation: nil)) }
            }
        }
    }

    let streamSources = [("1080p", "osxphotos__fullsizeoutput_7.mov"), ("4K", "androidx-media__portrait_4k60.mp4")]
    for (label, name) in streamSources {
        let path = BenchmarkData.corpus.appendingPathComponent(name).path
        Benchmark("stream encode \(label) (\(name))", configuration: .init(scalingFactor: .one, maxIterations: 3)) { benchmark in
            for _ in benchmark.scaledIterations {
                var bytes = 0
                let format: MediaFormat = name.hasSuffix(".mov") ? .mov : .mp4
                blackHole(try? VideoTranscoder.transcode(fileAt: path, format: format, options: StreamOptions(),
                                                         segmentKey: randomBytes(16), iv: randomBytes(16)) { bytes += $0.count })
                blackHole(bytes)
            }
        }
    }
}

/// Issue 20: the floor under each stream of the benchmark set: its video decoded alone (every frame, and skipping
/// what the frame-rate step drops, as a transcode does), and libx264 alone encoding as many stream frames as the
/// video has, going round its first 2 s of frames already filtered (held in memory, made before the measurement).
func streamFloorBenchmarks() {
    for path in BenchmarkData.benchVideos() {
        let name = URL(fileURLWithPath: path).lastPathComponent
        for skipping in [false, true] {
            Benchmark("floor decode\(skipping ? " skipping dropped frames" : " every frame") (\(name))",
                      configuration: .init(scalingFactor: .one, maxIterations: 3)) { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(try StreamFloor.decode(fileAt: path, skippingDroppedFrames: skipping))
                }
            }
        }
        Benchmark("floor x264 alone (\(name))", configuration: .init(scalingFactor: .one, maxIterations: 3)) { benchmark in
            let frames = try StreamFloor.frames(ofFileAt: path, limit: 60)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try StreamFloor.encode(frames, count: frames.streamFrameCount))
            }
        }
    }
}

func storeBenchmarks() {
    let object = randomBytes(16 << 20)
    Benchmark("store put, local folder (16 MiB, fsync)", configuration: .init(scalingFactor: .one)) { benchmark in
        let store = try LocalFolderStore(root: BenchmarkData.temporaryDirectory("store"))
        for _ in benchmark.scaledIterations {
            let name = ObjectName.randomData()
            try store.put(name, bytes: object)
            try store.delete(name)
        }
    }
}
