import Foundation
import Media
import TestSupport

/// Sniffs a file from its first `Sniffer.headerLength` bytes, as the pipeline does.
func sniffFile(_ path: String) -> SniffResult {
    guard let handle = FileHandle(forReadingAtPath: path) else { return .empty }
    defer { try? handle.close() }
    return Sniffer.sniff((try? handle.read(upToCount: Sniffer.headerLength)) ?? Data())
}

/// The metadata of a corpus file, or nil when the corpus is absent.
func corpusMetadata(_ name: String) throws -> MediaMetadata? {
    guard let corpus = TestEnvironment.corpus else { return nil }
    let path = corpus.appendingPathComponent(name).path
    guard case .media(let format) = sniffFile(path) else { return nil }
    return try MetadataReader.read(fileAt: path, format: format)
}
