import Foundation

/// Names that every common filesystem accepts (ext4, APFS, NTFS, exFAT, FAT32 with long names), compared the way
/// the case-insensitive ones compare them.
enum PortableName {
    /// Leaves room within NAME_MAX (255 bytes) for the `(n)` of a clash, `.json` and the temporary `.….keepsake-partial`.
    static let maxBytes = 200
    /// What each album folder holds besides the originals.
    static let metadataFolder = "metadata"
    static let trashFolder = "Trash"

    private static let forbidden = Set("/\\:*?\"<>|".unicodeScalars)
    private static let windowsDevices: Set<String> = Set(["CON", "PRN", "AUX", "NUL"]
        + (1...9).flatMap { ["COM\($0)", "LPT\($0)"] })

    /// `name` made acceptable everywhere: forbidden and control characters become `_`, trailing dots and spaces
    /// and leading spaces go, a leading dot becomes `_` (no hidden files), Windows device names get a `_` in front,
    /// and an overlong name is shortened keeping its extension. Empty results become `fallback`.
    static func sanitise(_ name: String, fallback: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            scalars.append(isControl || forbidden.contains(scalar) ? "_" : scalar)
        }
        var result = String(scalars)
        while let last = result.last, last == "." || last == " " { result.removeLast() }
        while result.first == " " { result.removeFirst() }
        if result.first == "." { result = "_" + result.dropFirst() }
        if result.isEmpty { return fallback }
        let stem = result.split(separator: ".", maxSplits: 1).first.map { String($0).uppercased() } ?? ""
        if windowsDevices.contains(stem.trimmingCharacters(in: .whitespaces)) { result = "_" + result }
        return shortened(result)
    }

    /// The form under which two names clash on a case-insensitive, Unicode-normalising filesystem.
    static func clashKey(_ name: String) -> String {
        name.precomposedStringWithCanonicalMapping.lowercased()
    }

    /// `name` itself for attempt 0, else `stem(n).ext` for a file or `name(n)` for a folder.
    static func variant(of name: String, attempt: Int, isFolder: Bool) -> String {
        guard attempt > 0 else { return name }
        let (stem, ext) = isFolder ? (name, "") : split(name)
        return stem + "(\(attempt))" + ext
    }

    /// The first variant of `name` for which `isTaken` is false; `metadata` and `Trash` are always taken.
    static func firstFree<E: Error>(_ name: String, isFolder: Bool, isTaken: (String) throws(E) -> Bool) throws(E) -> String {
        var attempt = 0
        while true {
            let candidate = variant(of: name, attempt: attempt, isFolder: isFolder)
            let key = clashKey(candidate)
            if key != clashKey(metadataFolder), key != clashKey(trashFolder), try !isTaken(candidate) { return candidate }
            attempt += 1
        }
    }

    /// Splits `IMG_1.JPG` into `IMG_1` and `.JPG`; a name without a dot (after its first character) has no extension.
    private static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    private static func shortened(_ name: String) -> String {
        guard name.utf8.count > maxBytes else { return name }
        var (stem, ext) = split(name)
        if ext.utf8.count > 16 { (stem, ext) = (name, "") }
        while stem.utf8.count + ext.utf8.count > maxBytes { stem.removeLast() }
        while let last = stem.last, last == "." || last == " " { stem.removeLast() }
        return stem + ext
    }
}
