import Foundation

/// A file the pairing looks at: what SPEC 4's rules need to know about it.
public struct PairingCandidate: Sendable, Equatable {
    public var path: String
    public var kind: MediaKind
    /// The Apple content identifier (still: MakerNote ContentIdentifier; video: QuickTime key).
    public var contentIdentifier: String?
    public var captureTime: CaptureTime?
    /// A screenshot or a PNG (iPhone screenshots are PNGs): never paired by name and time alone.
    public var isScreenshot: Bool

    public init(path: String, kind: MediaKind, contentIdentifier: String?, captureTime: CaptureTime?, isScreenshot: Bool) {
        self.path = path
        self.kind = kind
        self.contentIdentifier = contentIdentifier
        self.captureTime = captureTime
        self.isScreenshot = isScreenshot
    }

    /// A candidate from the metadata stage's result; screenshots are PNGs or files named "screenshot…".
    public init(path: String, metadata: MediaMetadata) {
        let name = (path as NSString).lastPathComponent.lowercased()
        self.init(path: path, kind: metadata.format.kind, contentIdentifier: metadata.contentIdentifier,
                  captureTime: metadata.captureTime,
                  isScreenshot: metadata.format == .png || name.contains("screenshot") || name.contains("screen shot"))
    }
}

/// A Live Photo: indices of its still and its video in the candidates given to `LivePhotoPairing.pairs`.
public struct LivePhotoPair: Sendable, Equatable, Hashable {
    public var still: Int
    public var video: Int
    public init(still: Int, video: Int) {
        self.still = still
        self.video = video
    }
}

/// Finds Live Photos among files (SPEC 4). A pure function of the candidates: no file is read.
public enum LivePhotoPairing {
    /// How far apart a still's and a video's capture times may be when they pair by name.
    public static let maximumTimeGap = 3

    /// Pairs by content identifier first; then, for files with no identifier on either side, by folder, stem
    /// (after dropping `_3` / `_HEVC`) and capture time. Each file is in at most one pair.
    public static func pairs(_ candidates: [PairingCandidate]) -> [LivePhotoPair] {
        var result: [LivePhotoPair] = []
        var used = Set<Int>()
        let stills = candidates.indices.filter { candidates[$0].kind == .image }
        let videos = candidates.indices.filter { candidates[$0].kind == .video }

        var stillsByIdentifier: [String: [Int]] = [:]
        for still in stills {
            if let identifier = candidates[still].contentIdentifier { stillsByIdentifier[identifier, default: []].append(still) }
        }
        for video in videos {
            guard let identifier = candidates[video].contentIdentifier,
                  let matches = stillsByIdentifier[identifier]?.filter({ !used.contains($0) }), !matches.isEmpty
            else { continue }
            // Several stills may carry one identifier (copies, edits): prefer the one that looks most like the video's.
            let still = matches.min { closeness(candidates[$0], candidates[video]) < closeness(candidates[$1], candidates[video]) }!
            result.append(LivePhotoPair(still: still, video: video))
            used.formUnion([still, video])
        }

        var stillsByKey: [String: [Int]] = [:]
        for still in stills where candidates[still].contentIdentifier == nil && !candidates[still].isScreenshot {
            stillsByKey[nameKey(candidates[still].path), default: []].append(still)
        }
        for video in videos where !used.contains(video) && candidates[video].contentIdentifier == nil {
            guard let videoTime = candidates[video].captureTime else { continue }
            let matches = (stillsByKey[nameKey(candidates[video].path)] ?? []).filter { still in
                guard !used.contains(still), let stillTime = candidates[still].captureTime,
                      let gap = secondsBetween(stillTime, videoTime) else { return false }
                return gap <= maximumTimeGap
            }
            guard let still = matches.first else { continue }
            result.append(LivePhotoPair(still: still, video: video))
            used.formUnion([still, video])
        }
        return result.sorted { ($0.still, $0.video) < ($1.still, $1.video) }
    }

    /// Folder plus lowercased stem without a trailing `_3` or `_hevc`.
    static func nameKey(_ path: String) -> String {
        // Not NSString.deletingLastPathComponent: Foundation 6.3 traps on a path of one component ("IMG_1.HEIC").
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        var stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension.lowercased()
        for suffix in ["_3", "_hevc"] where stem.hasSuffix(suffix) {
            stem.removeLast(suffix.count)
            break
        }
        return folder + "/" + stem
    }

    /// Seconds between two capture times: as instants when both offsets are known, else as wall-clock times.
    static func secondsBetween(_ a: CaptureTime, _ b: CaptureTime) -> Int? {
        guard let clockA = CaptureTimeParsing.wallClock(a.local), let clockB = CaptureTimeParsing.wallClock(b.local)
        else { return nil }
        var difference = clockA.epochSeconds - clockB.epochSeconds
        if let offsetA = a.offsetSeconds, let offsetB = b.offsetSeconds { difference -= offsetA - offsetB }
        return abs(difference)
    }

    /// Lower is closer: same folder and name key first, then capture-time gap.
    private static func closeness(_ still: PairingCandidate, _ video: PairingCandidate) -> (Int, Int) {
        let sameName = nameKey(still.path) == nameKey(video.path) ? 0 : 1
        let gap = still.captureTime.flatMap { s in video.captureTime.flatMap { secondsBetween(s, $0) } } ?? Int.max
        return (sameName, gap)
    }
}
