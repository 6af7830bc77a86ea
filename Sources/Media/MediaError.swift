import MediaTypes

/// A media stage that failed for one file, and why. The original is stored regardless.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Stage: String, Sendable, Codable { case metadata, thumbnail, stream }
    public enum Reason: Sendable, Equatable {
        /// The stage has no implementation for this format yet.
        case unsupportedFormat(MediaFormat)
        /// The bytes are damaged or truncated where this stage needed them.
        case corrupt(String)
        /// A codec or library refused the data.
        case decodeFailed(String)
        case encodeFailed(String)
        /// Nothing for this stage to work on (e.g. no video track).
        case nothingToProcess(String)
        /// The stage would need more memory than it may take for one file.
        case tooLarge(String)
        case io(String)
    }

    public var stage: Stage
    public var reason: Reason

    public init(_ stage: Stage, _ reason: Reason) {
        self.stage = stage
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unsupportedFormat(let format): "\(stage): not available for \(format.mimeType) yet"
        case .corrupt(let why): "\(stage): damaged data: \(why)"
        case .decodeFailed(let why): "\(stage): cannot decode: \(why)"
        case .encodeFailed(let why): "\(stage): cannot encode: \(why)"
        case .nothingToProcess(let why): "\(stage): \(why)"
        case .tooLarge(let why): "\(stage): too large: \(why)"
        case .io(let why): "\(stage): \(why)"
        }
    }
}
