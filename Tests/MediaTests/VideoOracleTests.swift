import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// Video values expected.json lacks, checked against ffprobe run on the same files.
@Suite struct VideoOracleTests {
    @Test(.needsCorpus, .needs("ffprobe")) func frameRateAndHDRTransferAgreeWithFFprobe() throws {
        var compared = 0
        for url in try TestEnvironment.corpusFiles() {
            guard case .media(let format) = sniffFile(url.path), format.kind == .video,
                  let metadata = try? MetadataReader.read(fileAt: url.path, format: format) else { continue }
            let probe = try runProcess("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                   "stream=color_transfer,avg_frame_rate", "-of", "csv=p=0", url.path])
            let fields = probe.stdoutText.split(separator: "\n").first?.split(separator: ",").map(String.init) ?? []
            guard fields.count >= 2 else { continue }
            let transfer = fields[0], rate = fields[1].split(separator: "/").compactMap { Double($0) }
            let expectedTransfer: String? = switch transfer {
            case "smpte2084": "pq"
            case "arib-std-b67": "hlg"
            default: nil
            }
            #expect(metadata.hdrTransfer == expectedTransfer, "\(url.lastPathComponent)")
            if rate.count == 2, rate[1] > 0, rate[0] > 0 {
                #expect(abs((metadata.frameRate ?? 0) - rate[0] / rate[1]) < 0.01, "\(url.lastPathComponent)")
            }
            compared += 1
        }
        #expect(compared >= 15)
    }
}
