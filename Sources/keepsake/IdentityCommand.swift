import ArgumentParser
import Sharing
import Store

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Print the library's public key and its verification phrase.",
        discussion: """
            Someone who shares an album with this library seals it to the public key. Compare the verification phrase \
            with theirs out of band (in person, on a call): equal phrases mean they have this library's key. Every \
            library folder of the library prints the same. See docs/store-format.md.
            """)

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "One JSON object: publicKey (base64url), verificationPhrase.")
    var json = false

    func run() throws {
        let identity = try libraryOptions.open().identity()
        let publicKey = Base64URL.encode(identity.publicKey)
        if json {
            struct Output: Encodable { var publicKey: String, verificationPhrase: String }
            printJSONLine(Output(publicKey: publicKey, verificationPhrase: identity.verificationPhrase))
        } else {
            print("public key:          \(publicKey)")
            print("verification phrase: \(identity.verificationPhrase)")
        }
    }
}
