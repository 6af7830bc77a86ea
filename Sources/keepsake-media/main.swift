import Foundation
import Media
import MediaWorker

// `keepsake worker` replaces itself with this binary: the media work, served on stdin/stdout (see `MediaWorker`).
do {
    try WorkerServer.run(work: InProcessMediaWork())
} catch {
    FileHandle.standardError.write(Data("keepsake-media: \(error)\n".utf8))
    exit(1)
}
