import Foundation

/// A stored playlist carries its segment key inline, as a `data:` URI on every `#EXT-X-KEY` line; players that will
/// not open `data:` URIs (ffmpeg's HLS reader and so ffplay and mpv, by default) need it elsewhere.
public enum HLSPlaylistKey {
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case noKey
        case unreadableKey(String)
        case severalKeys

        public var description: String {
            switch self {
            case .noKey: "the playlist names no AES-128 key"
            case .unreadableKey(let uri): "the playlist's key URI is not a base64 data: URI of 16 bytes: \(uri.prefix(80))"
            case .severalKeys: "the playlist names more than one key"
            }
        }
    }

    /// The playlist with every key URI replaced by `uri`, and the 16-byte key they carried (one key a stream).
    public static func separate(_ playlist: String, keyURI uri: String) throws(Failure) -> (playlist: String, key: [UInt8]) {
        var key: [UInt8]?
        var lines: [Substring] = []
        for line in playlist.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("#EXT-X-KEY:"), let start = line.range(of: "URI=\""),
                  let end = line[start.upperBound...].firstIndex(of: "\"") else {
                lines.append(line)
                continue
            }
            let found = String(line[start.upperBound..<end])
            let prefix = "data:text/plain;base64,"
            guard found.hasPrefix(prefix), let bytes = Data(base64Encoded: String(found.dropFirst(prefix.count))), bytes.count == 16 else {
                throw .unreadableKey(found)
            }
            if let key, key != Array(bytes) { throw .severalKeys }
            key = Array(bytes)
            lines.append(line[..<start.upperBound] + uri + line[end...])
        }
        guard let key else { throw .noKey }
        return (lines.joined(separator: "\n"), key)
    }
}
