import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing
import TestSupport
@testable import Gallery

/// `keepsake serve` of a library that an album is shared with (issue 18): the shared album is listed, its page and
/// its items' thumbnails, originals and streams are served, decrypted from the owner's store.
@Suite(.serialized) struct SharedAlbumGalleryTests {
    @Test func aMembersGalleryShowsTheSharedAlbumFromTheOwnersStore() async throws {
        let fixture = try GalleryFixture.shared.get()
        let root = try TestEnvironment.makeTempDirectory("shared-gallery").path
        let member = try Library.open(at: root + "/member", passphrase: "member", create: true)
        try fixture.library.share(album: "Trip", with: member.identity().publicKey, role: .viewer)
        _ = try member.addSharedStore(SharedStoreAddress(fixture.library.path))
        let gallery = Gallery(library: member)
        let app = Application(router: gallery.makeRouter())
        let token = try #require(gallery.loginToken)
        let photo = fixture.photo
        let original = try #require(fixture.originals[photo])
        try await app.test(.router) { client in
            let session = try #require(sessionCookie(try await client.get("/login?token=\(token)")))
            let albums = try await client.get("/albums", session: session)
            #expect(albums.status == .ok && String(buffer: albums.body).contains("Trip"))
            let album = try await client.get("/album?name=Trip", session: session)
            #expect(album.status == .ok && String(buffer: album.body).contains(photo))
            let item = try await client.get("/items/\(photo)", session: session)
            #expect(item.status == .ok)
            let thumbnail = try await client.get("/media/\(photo)/thumbnail", session: session)
            #expect(thumbnail.status == .ok && String(buffer: thumbnail.body) == "thumbnail \(original.count)")
            let download = try await client.get("/media/\(photo)/original/main?download=1", session: session)
            #expect(download.status == .ok && Array(buffer: download.body) == original)
            // Items of the owner's albums that are not shared are not served.
            let unshared = try await client.get("/media/\(fixture.exactChunks)/thumbnail", session: session)
            #expect(unshared.status == .notFound)
        }
    }
}
