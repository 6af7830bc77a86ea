import Dispatch
import Foundation
import KeepsakeCrypto
@testable import Store
import Synchronization
import Testing
import TestSupport

/// The library's identity (issue 18, item 1): one key pair per library, the same in every folder on its store.
@Suite struct IdentityTests {
    /// Two library folders on one store: the folder store (the second folder's `store` a link to the first's) or the
    /// in-memory one.
    enum SharedStore: String, CaseIterable, Sendable {
        case localFolder, memory

        func folders(_ count: Int) throws -> (folders: [String], location: StoreLocation) {
            let root = try TestEnvironment.makeTempDirectory().path
            let folders = (0..<count).map { root + "/machine\($0)" }
            switch self {
            case .memory:
                return (folders, StoreLocation.memory(MemoryStore()))
            case .localFolder:
                let shared = root + "/shared-store"
                try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
                for folder in folders {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
                    try FileManager.default.createSymbolicLink(atPath: Library.storePath(library: folder), withDestinationPath: shared)
                }
                return (folders, .libraryFolder)
            }
        }
    }

    func open(_ folder: String, _ location: StoreLocation, create: Bool = false, notice: (String) -> Void = { _ in }) throws -> Library {
        try Library.open(at: folder, store: location, passphrase: "pw", create: create, notice: notice)
    }

    func storedBytes(_ library: Library) throws -> [UInt8] { try library.store.get(IdentityFile.objectName) }

    func storedPublicKey(_ library: Library) throws -> [UInt8] {
        try JSONDecoder().decode(IdentityFile.self, from: Data(try storedBytes(library))).publicKey
    }

    /// Takes away the identity, as a store and folders made before identities existed have none.
    func forgetIdentity(_ library: Library, folders: [String]) throws {
        try library.store.delete(IdentityFile.objectName)
        for folder in folders { try? FileManager.default.removeItem(atPath: folder + "/identity") }
    }

    @Test func aNewLibraryHasAnIdentityInTheStore() throws {
        let (folders, location) = try SharedStore.memory.folders(1)
        let library = try open(folders[0], location, create: true)
        let file = try JSONDecoder().decode(IdentityFile.self, from: Data(try storedBytes(library)))
        #expect(file.version == 1 && file.publicKey.count == 32 && file.secretKey.count == SealedBox.overhead + 32)
        let identity = try library.identity()
        #expect(identity.publicKey == file.publicKey)
        #expect(identity.verificationPhrase.wholeMatch(of: /[0-9]{5}( [0-9]{5}){4}/) != nil)
        // Opening again, and asking again, changes nothing in the store.
        let reopened = try open(folders[0], location)
        #expect(try reopened.identity().publicKey == file.publicKey)
        #expect(try storedBytes(reopened) == storedBytes(library))
    }

    @Test(arguments: SharedStore.allCases) func twoFoldersOnOneStoreHaveOneIdentity(_ shared: SharedStore) throws {
        let (folders, location) = try shared.folders(2)
        let first = try open(folders[0], location, create: true)
        let second = try open(folders[1], location)
        #expect(try second.identity().publicKey == first.identity().publicKey)
        #expect(try second.identity().verificationPhrase == first.identity().verificationPhrase)
        #expect(try storedPublicKey(second) == first.identity().publicKey)
    }

    /// A library made before identities (no `keys/identity`) gets one at its first open, which every folder adopts.
    @Test(arguments: SharedStore.allCases) func aLibraryWithoutAnIdentityGetsOneOnOpen(_ shared: SharedStore) throws {
        let (folders, location) = try shared.folders(2)
        let old = try open(folders[0], location, create: true)
        let before = try old.identity().publicKey
        try forgetIdentity(old, folders: folders)
        #expect(try old.store.size(of: IdentityFile.objectName) == nil)

        let upgraded = try open(folders[0], location)
        let made = try storedPublicKey(upgraded)
        #expect(made != before, "a new pair")
        #expect(try upgraded.identity().publicKey == made)
        #expect(try open(folders[1], location).identity().publicKey == made)
    }

    /// Several folders opening a library without an identity at once all adopt the one stored first.
    @Test(arguments: SharedStore.allCases) func concurrentOpenersAdoptOneIdentity(_ shared: SharedStore) throws {
        let (folders, location) = try shared.folders(5)
        let old = try open(folders[0], location, create: true)
        for round in 0..<3 {
            try forgetIdentity(old, folders: folders)
            let keys = Mutex<[Int: [UInt8]]>([:])
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: folders.count - 1) { i in
                do {
                    let key = try open(folders[i + 1], location).identity().publicKey
                    keys.withLock { $0[i] = key }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
            let stored = try storedPublicKey(old)
            #expect(keys.withLock { $0.count } == folders.count - 1)
            #expect(keys.withLock { $0.values.allSatisfy { $0 == stored } }, "round \(round)")
        }
    }

    /// The race itself: a folder that found no identity and made one while another folder stored its own keeps
    /// the stored one.
    @Test func aFolderThatLosesTheRaceAdoptsTheStoredIdentity() throws {
        let (folders, location) = try SharedStore.memory.folders(2)
        let first = try open(folders[0], location, create: true)
        let second = try open(folders[1], location)
        let stored = try storedBytes(first)
        let candidate = IdentityKeyPair()
        #expect(try second.storeIdentity(candidate).publicKey == first.identity().publicKey)
        #expect(try storedBytes(first) == stored)
    }

    /// A store that lost `keys/identity` gets back the one the folders know (people share with it), not a new one.
    @Test func aFolderPutsBackTheIdentityTheStoreLost() throws {
        let (folders, location) = try SharedStore.memory.folders(2)
        let first = try open(folders[0], location, create: true)
        let known = try first.identity().publicKey
        try first.store.delete(IdentityFile.objectName)
        #expect(try open(folders[0], location).identity().publicKey == known)
        #expect(try storedPublicKey(first) == known)
        #expect(try open(folders[1], location).identity().publicKey == known)
    }

    /// A store that takes no writes (full) does not stop a library without an identity from opening; the identity is
    /// made at an open once it does.
    @Test func aStoreThatTakesNoWritesDoesNotStopTheOpen() throws {
        let store = MemoryStore()
        let root = try TestEnvironment.makeTempDirectory().path
        let old = try open(root + "/a", StoreLocation.memory(store), create: true)
        try forgetIdentity(old, folders: [root + "/a"])
        store.capacity = 0
        var notices: [String] = []
        let opened = try open(root + "/b", StoreLocation.memory(store)) { notices.append($0) }
        #expect(try opened.index.counts().items == 0)
        #expect(try store.size(of: IdentityFile.objectName) == nil)
        #expect(notices.contains { $0.contains("cannot store the library's identity yet") }, "\(notices)")
        store.capacity = nil
        let later = try open(root + "/b", StoreLocation.memory(store))
        #expect(try later.identity().publicKey == storedPublicKey(later))
    }

    enum Tampering: String, CaseIterable, Sendable {
        /// One byte of the sealed secret key flipped.
        case flippedSecretByte
        /// The public key of another pair beside this secret key.
        case otherPublicKey
        /// Another library's identity object (its own pair, sealed under its own key).
        case otherLibrarysIdentity
        /// Not an identity file at all.
        case junk
    }

    /// A hostile store's identity is refused with a clear error, and never replaced; the library still opens.
    @Test(arguments: Tampering.allCases) func aTamperedIdentityIsRefusedAndNotReplaced(_ tampering: Tampering) throws {
        let (folders, location) = try SharedStore.memory.folders(2)
        let first = try open(folders[0], location, create: true)
        var file = try JSONDecoder().decode(IdentityFile.self, from: Data(try storedBytes(first)))
        switch tampering {
        case .flippedSecretByte: file.secretKey[40] ^= 0x01
        case .otherPublicKey: file.publicKey = IdentityKeyPair().publicKey
        case .otherLibrarysIdentity:
            let other = try open(try TestEnvironment.makeTempDirectory().path + "/other", StoreLocation.memory(MemoryStore()), create: true)
            file = try JSONDecoder().decode(IdentityFile.self, from: Data(try storedBytes(other)))
        case .junk: break
        }
        let tampered = tampering == .junk ? Array("{\"version\":1}".utf8) : try file.encoded()
        try first.store.delete(IdentityFile.objectName)
        try first.store.put(IdentityFile.objectName, bytes: tampered)

        var notices: [String] = []
        let second = try open(folders[1], location) { notices.append($0) }
        #expect(notices.contains { $0.contains("the library's identity (keys/identity in the store) is refused") }, "\(notices)")
        do {
            _ = try second.identity()
            Issue.record("a tampered identity was accepted")
        } catch let error as LibraryError {
            guard case .identityRefused(let why) = error else { Issue.record("\(error)"); return }
            let expected = switch tampering {
            case .junk: "it does not parse"
            default: "its secret key does not open with this library's key"
            }
            #expect(why.contains(expected), "\(why)")
            #expect(error.description.contains("It is not replaced"))
        }
        #expect(try storedBytes(first) == tampered, "never replaced")
        #expect(!FileManager.default.fileExists(atPath: folders[1] + "/identity"), "nothing adopted")
    }
}
