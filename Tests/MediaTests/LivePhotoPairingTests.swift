import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

@Suite struct LivePhotoPairingTests {
    static func candidate(_ path: String, _ kind: MediaKind, id: String? = nil, time: String? = nil,
                          offset: Int? = nil, screenshot: Bool = false) -> PairingCandidate {
        PairingCandidate(path: path, kind: kind, contentIdentifier: id,
                         captureTime: time.map { CaptureTime(local: $0, offsetSeconds: offset, source: .exif) },
                         isScreenshot: screenshot)
    }

    /// The corpus's four Live Photos pair, IMG_2908.PNG/.MOV do not, and stills with an identifier but no video stay single.
    @Test(.needsCorpus) func corpusPairs() throws {
        let corpus = try #require(TestEnvironment.corpus)
        var candidates: [PairingCandidate] = []
        for url in try TestEnvironment.corpusFiles() {
            guard case .media(let format) = sniffFile(url.path),
                  let metadata = try? MetadataReader.read(fileAt: url.path, format: format) else { continue }
            candidates.append(PairingCandidate(path: url.path, metadata: metadata))
        }
        let names = LivePhotoPairing.pairs(candidates).map {
            [candidates[$0.still].path, candidates[$0.video].path].map { ($0 as NSString).lastPathComponent }
        }.sorted { $0[0] < $1[0] }
        print("Live Photo pairs in \(corpus.lastPathComponent): \(names)")
        #expect(names == [
            ["osxphotos__51F2BEF7-431A-4D31-8AC1-3284A57826AE.jpeg", "osxphotos__51F2BEF7-431A-4D31-8AC1-3284A57826AE_3.mov"],
            ["osxphotos__IMG_3582.HEIC", "osxphotos__IMG_3582.mov"],
            ["osxphotos__IMG_3582_edited.heic", "osxphotos__IMG_3582_edited.mov"],
            ["osxphotos__IMG_4394.HEIC", "osxphotos__IMG_4394.mov"],
        ])
    }

    @Test func identifierWinsOverNames() {
        let candidates = [
            Self.candidate("/a/IMG_1.HEIC", .image, id: "X", time: "2020-01-01T10:00:00"),
            Self.candidate("/a/IMG_1.MOV", .video, id: "Y", time: "2020-01-01T10:00:00"),
            Self.candidate("/b/0001.mov", .video, id: "X", time: "2020-01-01T10:00:01"),
        ]
        #expect(LivePhotoPairing.pairs(candidates) == [LivePhotoPair(still: 0, video: 2)])
    }

    @Test func withoutIdentifiersByFolderStemAndTime() {
        let candidates = [
            Self.candidate("/a/IMG_0001.JPG", .image, time: "2016-05-01T10:00:00"),
            Self.candidate("/a/IMG_0001_HEVC.MOV", .video, time: "2016-05-01T09:59:58"),
            Self.candidate("/a/IMG_0002.JPG", .image, time: "2016-05-01T11:00:00"),
            Self.candidate("/b/IMG_0002.MOV", .video, time: "2016-05-01T11:00:00"),  // other folder
            Self.candidate("/a/IMG_0003.JPG", .image, time: "2016-05-01T12:00:00"),
            Self.candidate("/a/IMG_0003.MOV", .video, time: "2016-05-01T12:05:00"),  // minutes apart
            Self.candidate("/a/IMG_0004.jpg", .image, time: "2016-05-01T13:00:00", offset: 3600),
            Self.candidate("/a/img_0004_3.mov", .video, time: "2016-05-01T12:00:01", offset: 0),  // same instant
        ]
        #expect(LivePhotoPairing.pairs(candidates) == [LivePhotoPair(still: 0, video: 1), LivePhotoPair(still: 6, video: 7)])
    }

    @Test func screenshotAndVideoSharingAStemDoNotPair() {
        let candidates = [
            Self.candidate("/a/IMG_2908.PNG", .image, time: "2017-02-01T11:15:00", screenshot: true),
            Self.candidate("/a/IMG_2908.MOV", .video, time: "2017-02-01T11:15:00"),
        ]
        #expect(LivePhotoPairing.pairs(candidates).isEmpty)
    }

    @Test func identifierOnOneSideOnlyDoesNotPairByName() {
        let candidates = [
            Self.candidate("/a/IMG_1853.HEIC", .image, id: "DC121C25", time: "2023-03-23T10:19:38"),
            Self.candidate("/a/IMG_1853.MOV", .video, time: "2023-03-23T10:19:38"),
        ]
        #expect(LivePhotoPairing.pairs(candidates).isEmpty)
    }

    @Test func candidateFromMetadataMarksPNGsAsScreenshots() {
        var metadata = MediaMetadata(format: .png)
        #expect(PairingCandidate(path: "/a/IMG_1.PNG", metadata: metadata).isScreenshot)
        metadata.format = .jpeg
        #expect(PairingCandidate(path: "/a/Screenshot_20200101-101010.jpg", metadata: metadata).isScreenshot)
        #expect(!PairingCandidate(path: "/a/IMG_1.jpg", metadata: metadata).isScreenshot)
    }
}
