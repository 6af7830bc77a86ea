import Crypto
import Foundation

/// The cryptography of a collect link's uploads (docs/public-links.md, "Collect links"): the browser seals each file
/// to the link's X25519 upload public key with WebCrypto (X25519, HKDF-SHA256, AES-256-GCM in chunks); the owner's
/// library opens it with the upload secret key. `Sealer` is the browser's side, for tests and tools.
public enum UploadCipher {
    public static let chunkSize = 4 << 20
    public static let tagByteCount = 16
    /// The largest sealed header a server takes (a name, a size and a type).
    public static let headerByteCap = 4096
    static let salt = Array("keepsake-collect-v1".utf8)

    /// The two keys of one upload.
    public struct Keys {
        let header: SymmetricKey
        let chunks: SymmetricKey
    }

    /// How many chunks a file of `size` bytes is sealed in: the last one, possibly empty, is the final one.
    public static func chunkCount(size: Int64, chunkSize: Int) -> Int {
        max(1, Int((size + Int64(chunkSize) - 1) / Int64(chunkSize)))
    }

    /// The sealed length of chunk `index` of a file of `size` bytes.
    public static func sealedChunkLength(index: Int, size: Int64, chunkSize: Int) -> Int {
        let start = Int64(index) * Int64(chunkSize)
        return Int(min(Int64(chunkSize), max(0, size - start))) + tagByteCount
    }

    /// The owner's side: the keys of the upload `uploadId` of the link `token`, sealed by the ephemeral key
    /// `ephemeralKey` to the public key of `secretKey`.
    public static func keys(secretKey: [UInt8], ephemeralKey: [UInt8], token: String, uploadId: String) throws(UploadCipherError) -> Keys {
        do {
            let secret = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: secretKey)
            let shared = try secret.sharedSecretFromKeyAgreement(with: .init(rawRepresentation: ephemeralKey))
            return try derive(shared: shared.withUnsafeBytes { Array($0) }, ephemeral: ephemeralKey,
                              recipient: Array(secret.publicKey.rawRepresentation), token: token, uploadId: uploadId)
        } catch let error as UploadCipherError {
            throw error
        } catch {
            throw .badKey
        }
    }

    static func derive(shared: [UInt8], ephemeral: [UInt8], recipient: [UInt8], token: String, uploadId: String) throws(UploadCipherError) -> Keys {
        // An all-zero secret means a low-order point: anyone could compute it.
        guard shared.count == 32, shared.contains(where: { $0 != 0 }) else { throw .badKey }
        let ikm = SymmetricKey(data: shared + ephemeral + recipient)
        func key(_ info: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: salt, info: Array("\(info) \(token)\n\(uploadId)".utf8), outputByteCount: 32)
        }
        return Keys(header: key("header"), chunks: key("chunks"))
    }

    public static func headerAssociatedData(token: String, uploadId: String) -> [UInt8] {
        Array("keepsake collect header v1\n\(token)\n\(uploadId)".utf8)
    }

    public static func chunkAssociatedData(token: String, uploadId: String, index: Int, final: Bool) -> [UInt8] {
        Array("keepsake collect chunk v1\n\(token)\n\(uploadId)\n\(index)\n\(final ? "final" : "more")".utf8)
    }

    static func chunkNonce(_ index: Int) -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for shift in 0..<8 { bytes[11 - shift] = UInt8(truncatingIfNeeded: UInt64(index) >> (8 * UInt64(shift))) }
        return try! AES.GCM.Nonce(data: bytes)  // 12 bytes: always a valid nonce
    }

    /// Opens the upload's header; `.doesNotOpen` when it is not this upload's, or altered.
    public static func openHeader(_ sealed: [UInt8], keys: Keys, token: String, uploadId: String) throws(UploadCipherError) -> UploadHeader {
        let plain: [UInt8]
        do { plain = try LinkCipher.open(sealed, key: keys.header, associatedData: headerAssociatedData(token: token, uploadId: uploadId)) }
        catch { throw .doesNotOpen("its header") }
        guard let header = try? JSONDecoder().decode(UploadHeader.self, from: Data(plain)), header.size >= 0 else {
            throw .doesNotOpen("its header (not a header)")
        }
        return header
    }

    /// Opens chunk `index` (`final`: the last one), the tag at its end.
    public static func openChunk(_ sealed: [UInt8], keys: Keys, token: String, uploadId: String, index: Int,
                                 final: Bool) throws(UploadCipherError) -> [UInt8] {
        guard sealed.count >= tagByteCount else { throw .doesNotOpen("chunk \(index)") }
        do {
            let box = try AES.GCM.SealedBox(nonce: chunkNonce(index), ciphertext: sealed[..<(sealed.count - tagByteCount)],
                                            tag: sealed[(sealed.count - tagByteCount)...])
            return Array(try AES.GCM.open(box, using: keys.chunks,
                                          authenticating: chunkAssociatedData(token: token, uploadId: uploadId, index: index, final: final)))
        } catch {
            throw .doesNotOpen("chunk \(index)")
        }
    }

    /// What a browser does: seals a file's header and chunks to a link's upload public key.
    public struct Sealer {
        public let ephemeralKey: [UInt8]
        let keys: Keys
        let token: String, uploadId: String

        public init(publicKey: [UInt8], token: String, uploadId: String) throws {
            let ephemeral = Curve25519.KeyAgreement.PrivateKey()
            let shared = try ephemeral.sharedSecretFromKeyAgreement(with: .init(rawRepresentation: publicKey))
            ephemeralKey = Array(ephemeral.publicKey.rawRepresentation)
            keys = try UploadCipher.derive(shared: shared.withUnsafeBytes { Array($0) }, ephemeral: ephemeralKey, recipient: publicKey,
                                           token: token, uploadId: uploadId)
            (self.token, self.uploadId) = (token, uploadId)
        }

        public func header(_ header: UploadHeader) throws -> [UInt8] {
            try LinkCipher.seal(Array(try JSONEncoder().encode(header)), key: keys.header,
                                associatedData: headerAssociatedData(token: token, uploadId: uploadId))
        }

        public func chunk(_ plaintext: [UInt8], index: Int, final: Bool) throws -> [UInt8] {
            let box = try AES.GCM.seal(plaintext, using: keys.chunks, nonce: chunkNonce(index),
                                       authenticating: chunkAssociatedData(token: token, uploadId: uploadId, index: index, final: final))
            return Array(box.ciphertext) + Array(box.tag)
        }

        /// Every sealed chunk of `file`, in order.
        public func chunks(of file: [UInt8], chunkSize: Int = UploadCipher.chunkSize) throws -> [[UInt8]] {
            let count = chunkCount(size: Int64(file.count), chunkSize: chunkSize)
            return try (0..<count).map { index in
                let start = index * chunkSize
                return try chunk(Array(file[start..<min(file.count, start + chunkSize)]), index: index, final: index == count - 1)
            }
        }
    }
}

/// What the uploader's browser says of the file, sealed to the owner.
public struct UploadHeader: Codable, Sendable, Equatable {
    public var name: String
    public var size: Int64
    public var type: String

    public init(name: String, size: Int64, type: String) { (self.name, self.size, self.type) = (name, size, type) }
}

public enum UploadCipherError: Error, CustomStringConvertible, Equatable {
    /// The upload's ephemeral key is not a usable X25519 public key.
    case badKey
    /// A part of the upload does not authenticate: forged, altered, moved from elsewhere, or cut short.
    case doesNotOpen(String)

    public var description: String {
        switch self {
        case .badKey: "its key is not a usable X25519 public key"
        case .doesNotOpen(let part): "\(part) does not authenticate (altered, forged, or moved from another upload)"
        }
    }
}
