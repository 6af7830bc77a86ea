import Foundation
import Media
import MediaWorker

// The media workers' zygote, started confined once a run by ingest and the daemon: it forks one worker per request,
// which does the media work on the file handed over as its fd 3, served on its stdin/stdout (see `MediaWorker`).
guard CommandLine.arguments.dropFirst().first == "zygote" else {
    FileHandle.standardError.write(Data("keepsake-media: started by keepsake as `keepsake-media zygote`, not by hand\n".utf8))
    exit(2)
}
WorkerServer.warmUp(work: InProcessMediaWork())
exit(WorkerServer.runZygote { WorkerServer.serveOne(work: InProcessMediaWork()) })
