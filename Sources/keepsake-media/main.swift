import Foundation
import Media
import MediaWorker

// The media worker that ingest and the daemon start confined, one per request: the media work on the file handed
// over as fd 3, served on stdin/stdout (see `MediaWorker`).
do {
    try WorkerServer.run(work: InProcessMediaWork())
} catch {
    FileHandle.standardError.write(Data("keepsake-media: \(error)\n".utf8))
    exit(1)
}
