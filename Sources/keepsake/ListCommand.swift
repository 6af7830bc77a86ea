import ArgumentParser
import Foundation
import MediaTypes
import Store

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List what the library holds.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Option(help: "Only the items of this album (Uncategorized: those in no album).")
    var album: String?

    @Flag(help: "One JSON object a line per item.")
    var json = false

    func run() throws {
        let library = try libraryOptions.open()
        for item in try library.index.items(inAlbum: album) {
            let entry = try ListEntry(item: item, index: library.index)
            if json {
                printJSONLine(entry)
            } else {
                let names = entry.originals.map(\.name).joined(separator: " + ")
                let albums = entry.albums.isEmpty ? "" : "  [\(entry.albums.joined(separator: ", "))]"
                print("\(entry.id)  \(entry.type.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) "
                      + "\((entry.captureTime ?? "-").padding(toLength: 23, withPad: " ", startingAt: 0)) \(names)\(albums)")
            }
        }
    }
}

/// One line of `ls --json` (SPEC 1); every field is present, null where unknown.
struct ListEntry: Encodable {
    struct Original: Encodable { var name: String, path: String, size: Int64, blake2b: String, mimeType: String }
    var id: String
    var type: ItemType
    var albums: [String]
    var originals: [Original]
    var captureTime: String?
    var offset: String?
    var timeSource: String?
    var latitude: Double?
    var longitude: Double?
    var altitude: Double?
    var make: String?
    var model: String?
    var width: Int?
    var height: Int?
    var durationS: Double?
    var thumbnail: Bool
    var stream: Bool
    var notProduced: [StageProblem]

    init(item: ItemRecord, index: LibraryIndex) throws {
        id = item.id
        type = item.type
        let albums = try index.albumNames(of: item.id)
        self.albums = albums.isEmpty ? [AlbumRecord.uncategorizedName] : albums
        originals = try index.originals(of: item.id).map {
            Original(name: $0.name.description, path: $0.sourcePath.description, size: $0.size, blake2b: $0.blake2b, mimeType: $0.mimeType)
        }
        let metadata = item.metadata
        captureTime = metadata?.captureTime?.local
        offset = metadata?.captureTime?.offsetSeconds.map(Self.formatOffset)
        timeSource = metadata?.captureTime?.source.rawValue
        latitude = metadata?.location?.latitude
        longitude = metadata?.location?.longitude
        altitude = metadata?.location?.altitude
        make = metadata?.make
        model = metadata?.model
        width = metadata?.width
        height = metadata?.height
        durationS = metadata?.durationSeconds
        thumbnail = item.thumbnailObject != nil
        stream = item.streamObject != nil
        notProduced = item.problems
    }

    static func formatOffset(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return String(format: "%@%02d:%02d", sign, minutes / 60, minutes % 60)
    }

    func encode(to encoder: any Encoder) throws {
        // Explicit so that unknown values are written as null rather than left out.
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(albums, forKey: .albums)
        try c.encode(originals, forKey: .originals)
        try c.encode(captureTime, forKey: .captureTime)
        try c.encode(offset, forKey: .offset)
        try c.encode(timeSource, forKey: .timeSource)
        try c.encode(latitude, forKey: .latitude)
        try c.encode(longitude, forKey: .longitude)
        try c.encode(altitude, forKey: .altitude)
        try c.encode(make, forKey: .make)
        try c.encode(model, forKey: .model)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(durationS, forKey: .durationS)
        try c.encode(thumbnail, forKey: .thumbnail)
        try c.encode(stream, forKey: .stream)
        try c.encode(notProduced, forKey: .notProduced)
    }

    enum CodingKeys: String, CodingKey {
        case id, type, albums, originals, captureTime, offset, timeSource, latitude, longitude, altitude, make, model
        case width, height, durationS, thumbnail, stream, notProduced
    }
}
