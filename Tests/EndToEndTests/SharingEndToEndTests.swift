import Foundation
import Testing
import TestSupport

/// Sharing an album with another library as its users do it (issue 18, "Done when" 1): two libraries with different
/// passphrases; A shares an album with B as viewer, then collaborator, then removes B.
@Suite(.serialized) struct SharingEndToEndTests {
    struct Entry: Decodable {
        struct Original: Decodable { var name: String }
        var id: String
        var albums: [String]
        var originals: [Original]
        var thumbnail: Bool
        var stream: Bool
    }

    struct Shared: Decodable { var album: String, role: String, items: Int, removed: Bool }

    let owner = "owner's passphrase", member = "member's passphrase"

    func run(_ arguments: [String], _ passphrase: String, expect status: Int32 = 0,
             sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        let result = try Keepsake.run(arguments, passphrase: passphrase)
        #expect(result.status == status, "keepsake \(arguments.joined(separator: " ")): \(result.stdoutText)\(result.stderrText)",
                sourceLocation: sourceLocation)
        return result
    }

    func list(_ library: String, _ passphrase: String, album: String? = nil) throws -> [Entry] {
        let output = try run(["ls", "--json", "--library", library] + (album.map { ["--album", $0] } ?? []), passphrase).stdoutText
        return try output.split(separator: "\n").map { try JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }

    @Test func aMemberListsExportsAndAddsAsAllowedAndLosesWhatIsAddedAfterRemoval() throws {
        let root = try TestEnvironment.makeTempDirectory("sharing-e2e").path
        let a = root + "/a", b = root + "/b", media = TestEnvironment.samples.appendingPathComponent("media").path
        _ = try run(["ingest", media + "/iphone", "--album", "Trip", "--library", a], owner)
        _ = try run(["ingest", media + "/android", "--album", "Mine", "--library", b], member)
        let trip = try list(a, owner, album: "Trip")
        #expect(trip.count >= 3)
        struct Identity: Decodable { var publicKey: String, verificationPhrase: String }
        let bIdentity = try JSONDecoder().decode(Identity.self, from: try run(["identity", "--json", "--library", b], member).stdout)
        let aIdentity = try JSONDecoder().decode(Identity.self, from: try run(["identity", "--json", "--library", a], owner).stdout)

        // Viewer: B adds A's store and sees the album in ls, exports it bit-exact, and cannot add to it.
        let shared = try run(["share", "add", "Trip", "--with", bIdentity.publicKey, "--library", a], owner)
        #expect(shared.stdoutText.contains(bIdentity.verificationPhrase))
        let added = try run(["shared", "add", a, "--owner", aIdentity.publicKey, "--library", b], member)
        #expect(added.stdoutText.contains(aIdentity.verificationPhrase) && added.stdoutText.contains("Trip"))
        let seen = try list(b, member, album: "Trip")
        #expect(Set(seen.map(\.id)) == Set(trip.map(\.id)) && seen.allSatisfy { $0.albums == ["Trip"] && $0.thumbnail })
        #expect(try list(b, member).count == seen.count + (try list(b, member, album: "Mine")).count)
        let out = root + "/export"
        _ = try run(["export", "--to", out, "--library", b], member)
        let sources = try FileManager.default.contentsOfDirectory(atPath: media + "/iphone")
        #expect(!sources.isEmpty)
        for name in sources {
            let exported = try Data(contentsOf: URL(fileURLWithPath: out + "/Trip/" + name))
            #expect(exported == (try Data(contentsOf: URL(fileURLWithPath: media + "/iphone/" + name))), "\(name)")
        }
        let refused = try run(["shared", "contribute", "Trip", "--from-album", "Mine", "--library", b], member, expect: 2)
        #expect(refused.stderrText.contains("viewer"))

        // Collaborator: B adds one of its photos; A sees it in the album after its sync, with its thumbnail.
        _ = try run(["share", "add", "Trip", "--with", bIdentity.publicKey, "--role", "collaborator", "--library", a], owner)
        _ = try run(["sync", "--library", b], member)
        let mine = try #require(try list(b, member, album: "Mine").first { $0.originals.first?.name.hasSuffix(".jpg") == true })
        _ = try run(["shared", "contribute", "Trip", "--item", mine.id, "--library", b], member)
        #expect(try list(a, owner, album: "Trip").count == trip.count, "taken only at A's sync")
        let synced = try run(["sync", "--library", a], owner)
        #expect(synced.stdoutText.contains("took 1 items"))
        let after = try list(a, owner, album: "Trip")
        #expect(after.count == trip.count + 1)
        #expect(after.contains { $0.originals.first?.name == mine.originals.first?.name && $0.thumbnail })
        _ = try run(["sync", "--library", b], member)
        #expect(try list(b, member, album: "Trip").count == trip.count + 1)

        // Removal: what A adds afterwards never reaches B; B keeps what it had.
        _ = try run(["share", "rm", "Trip", "--with", bIdentity.publicKey, "--library", a], owner)
        _ = try run(["ingest", media + "/cameras", "--album", "Trip", "--library", a], owner)
        #expect(try list(a, owner, album: "Trip").count > trip.count + 1)
        _ = try run(["sync", "--library", b], member)
        let kept = try list(b, member, album: "Trip")
        #expect(Set(kept.map(\.id)) == Set(after.map(\.id)))
        let albums = try run(["shared", "ls", "--json", "--library", b], member).stdoutText.split(separator: "\n")
            .map { try JSONDecoder().decode(Shared.self, from: Data($0.utf8)) }
        #expect(albums.count == 1 && albums[0].removed && albums[0].items == trip.count + 1)
        // B's own library: only its own items in its store, and verify is clean.
        let verify = try run(["verify", "--library", b], member)
        #expect(verify.stdoutText.contains("no problems found"))
    }

    /// The owner's store in S3 (moto): the member reads it with its own credentials and writes to its inbox.
    @Test func aStoreInS3IsSharedAsAFolderIs() throws {
        let moto = try MotoServer.shared()
        let store = "s3://keepsake-share-\(UUID().uuidString.lowercased().prefix(8))/owner"
        let root = try TestEnvironment.makeTempDirectory("sharing-s3").path
        let a = root + "/a", b = root + "/b", media = TestEnvironment.samples.appendingPathComponent("media").path
        let s3 = MotoServer.environment
        func runA(_ arguments: [String]) throws -> ProcessResult {
            let result = try Keepsake.run(arguments + ["--library", a, "--store", store, "--s3-endpoint", moto.endpoint],
                                          passphrase: owner, environment: s3)
            #expect(result.status == 0, "\(arguments): \(result.stdoutText)\(result.stderrText)")
            return result
        }
        func runB(_ arguments: [String]) throws -> ProcessResult {
            let result = try Keepsake.run(arguments + ["--library", b], passphrase: member, environment: s3)
            #expect(result.status == 0, "\(arguments): \(result.stdoutText)\(result.stderrText)")
            return result
        }
        _ = try runA(["ingest", media + "/cameras", "--album", "Wedding"])
        _ = try runB(["ingest", media + "/iphone", "--album", "Mine"])
        struct Identity: Decodable { var publicKey: String }
        let key = try JSONDecoder().decode(Identity.self, from: try runB(["identity", "--json"]).stdout).publicKey
        _ = try runA(["share", "add", "Wedding", "--with", key, "--role", "collaborator"])
        let added = try runB(["shared", "add", store, "--shared-s3-endpoint", moto.endpoint])
        #expect(added.stdoutText.contains("Wedding"))
        let wedding = try list(b, member, album: "Wedding")
        let owned = try runA(["ls", "--json", "--album", "Wedding"]).stdoutText.split(separator: "\n")
            .map { try JSONDecoder().decode(Entry.self, from: Data($0.utf8)).id }
        #expect(!owned.isEmpty && Set(wedding.map(\.id)) == Set(owned))
        let out = root + "/export"
        _ = try runB(["export", "--to", out, "--album", "Wedding"])
        #expect(FileManager.default.contents(atPath: out + "/Wedding/osxphotos__wedding.jpg")
                == FileManager.default.contents(atPath: media + "/cameras/osxphotos__wedding.jpg"))
        let mine = try #require(try list(b, member, album: "Mine").first)
        _ = try runB(["shared", "contribute", "Wedding", "--item", mine.id])
        let synced = try runA(["sync"])
        #expect(synced.stdoutText.contains("took 1 items"), "\(synced.stdoutText)")
        _ = try runB(["sync"])
        #expect(try list(b, member, album: "Wedding").count == wedding.count + 1)
    }
}
