import FileSystem
import Foundation
import MediaTypes

#if canImport(Glibc)
import Glibc
#endif

extension WorkerServer {
    /// Answers a request about each of the built-in pictures the zygote is handed (`WarmUpPictures`, open as
    /// `pictures`), the answers sent to `answers` (the zygote's fd 1, /dev/null: `WorkerSandbox`), before it forks its
    /// first worker.
    ///
    /// Each worker is a fork of the zygote, so it starts with what the zygote's memory holds. Without this, every worker
    /// made again what a first request makes: the Swift runtime's type metadata and protocol conformance caches, the
    /// dynamic loader's symbol bindings, the JSON coders' tables. For a small photo that was most of a worker's time.
    /// The pictures are ours, not a user's: no worker inherits anything of a file it was not given. A picture that is
    /// missing or unreadable is skipped: the zygote then works as without it, only slower.
    public static func warmUp(work: some DescriptorMediaWork, pictures: [Int32] = WarmUpPictures.descriptors,
                              answers: Int32 = STDOUT_FILENO) {
        let channel = FrameChannel(input: -1, output: answers)
        for (file, picture) in zip(pictures, WarmUpPictures.all) {
            var status = stat()
            guard fstat(file, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            let request = WorkerRequest(operation: .metadataAndPictures, name: picture.name, format: .jpeg,
                                        surroundings: FileSurroundings(name: picture.name))
            // Through the coders a request takes, so that their tables are made here too.
            guard let header = try? JSONEncoder().encode(request),
                  let decoded = try? Frame(header: header, payload: Data()).decodeHeader(WorkerRequest.self) else { continue }
            lseek(file, 0, SEEK_SET)
            try? answer(decoded, work: work, file: file, channel: channel)
        }
    }
}

/// The pictures the zygote warms up on, handed to it as memory files at `descriptors`: two 16×16 JPEGs
/// made with the ffmpeg CLI, one with EXIF (a capture time, orientation 6, a camera) added by exiftool and one with none
/// (the capture time then comes from its name), so that both ways through the metadata run.
public enum WarmUpPictures {
    public static let descriptors: [Int32] = [4, 5]
    public static let all: [(name: BytePath, bytes: [UInt8])] = [
        (BytePath("warm-up.jpg"), decode("/9j/4AAQSkZJRgABAgAAAQABAAD/4QDuRXhpZgAATU0AKgAAAAgACAEPAAIAAAAJAAAAbgEQAAIAAAAHAAAAeAESAAMAAAABAAYAAAEaAAUAAAABAAAAgAEbAAUAAAABAAAAiAEoAAMAAAABAAEAAAITAAMAAAABAAEAAIdpAAQAAAABAAAAkAAAAABLZWVwc2FrZQAAV2FybVVwAAAAAAABAAAAAQAAAAEAAAABAAWQAAAHAAAABDAyMzKQAwACAAAAFAAAANKRAQAHAAAABAECAwCgAAAHAAAABDAxMDCgAQADAAAAAf//AAAAAAAAMjAyMDowMTowMiAwMzowNDowNQD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiIdHR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xABzAAEBAAAAAAAAAAAAAAAAAAAFBgEBAAMBAAAAAAAAAAAAAAAABgIDAQQQAAICAQMEAwEBAAAAAAAAAAIBAxESAAQFMSIhE1IyYUEUEQACAQIGAQMFAQAAAAAAAAACAQMRBDEAEyEFEkFhFCKBJJJCUrH/wAARCAAQABADARIAAhIAAxIA/9oADAMBAAIRAxEAPwCZ9MnHcbCQGQSSAMjKMiTo8SFJrFqhPu/W/LWqGYYN5x+3X+iIMI44m7EqwEBt9yq8OmlPG2FrOfeWIJW67SCjH8SqP6relfXJzjuXmjuNEbKSRrymWG+9FE9lVZ2KZ3A3gmh+yGEYGluOubKQq/0VENfAqixdee7A+M924xK6G70miBNIVA6Nprv2VSSeFG0sq77eDw25CSIAGJEPsAAFWDxRYpY91ETHyll10Jy8U/IzSRDBKNVTQEd/X+UvjoZxt5czqks0stcdQ2b27eSba+mUllxVvBDqx30U7FbiCHatcaSl/njN8EITnfnJ2J2nt/brufWLWTUnUEXT5+dvXM+JljmK8CaQLY7rR+EhJEGkq4ExZVW+Cpn/2Q==")),
        (BytePath("IMG_20200102_030405.jpg"), decode("/9j/4AAQSkZJRgABAgAAAQABAAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiIdHR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xABzAAEBAAAAAAAAAAAAAAAAAAAFBgEBAAMBAAAAAAAAAAAAAAAABgIDAQQQAAICAQMEAwEBAAAAAAAAAAIBAxESAAQFMSIhE1IyYUEUEQACAQIGAQMFAQAAAAAAAAACAQMRBDEAEyEFEkFhFCKBJJJCUrH/wAARCAAQABADARIAAhIAAxIA/9oADAMBAAIRAxEAPwCZ9MnHcbCQGQSSAMjKMiTo8SFJrFqhPu/W/LWqGYYN5x+3X+iIMI44m7EqwEBt9yq8OmlPG2FrOfeWIJW67SCjH8SqP6relfXJzjuXmjuNEbKSRrymWG+9FE9lVZ2KZ3A3gmh+yGEYGluOubKQq/0VENfAqixdee7A+M924xK6G70miBNIVA6Nprv2VSSeFG0sq77eDw25CSIAGJEPsAAFWDxRYpY91ETHyll10Jy8U/IzSRDBKNVTQEd/X+UvjoZxt5czqks0stcdQ2b27eSba+mUllxVvBDqx30U7FbiCHatcaSl/njN8EITnfnJ2J2nt/brufWLWTUnUEXT5+dvXM+JljmK8CaQLY7rR+EhJEGkq4ExZVW+Cpn/2Q==")),
    ]

    private static func decode(_ base64: String) -> [UInt8] { Data(base64Encoded: base64).map(Array.init) ?? [] }
}
